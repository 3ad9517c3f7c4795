"""Background (technical) monitoring of live rooms (RULES.md §3; LCM Arts. 11, 13, 20): a rule
engine that reads transcript lines, chat messages and listings and drafts alerts for patrol.

Pure Python, no Django: ``liverooms.services`` loads the published ``MonitoringRule`` rows,
builds a ``CompiledRuleSet`` once per rule-set change, evaluates signals and writes the
``AlertDraft``s as ``Alert`` rows.

    ruleset = CompiledRuleSet(Rule.from_mapping(row) for row in published_rows)
    drafts = ruleset.evaluate([Signal(kind="transcript", at=when, text=line), ...])
"""

from liverooms.monitoring.engine import (
    RULE_KINDS,
    SEVERITIES,
    SIGNAL_KINDS,
    AlertDraft,
    CompiledRuleSet,
    Rule,
    RuleError,
    RuleSetStats,
    Signal,
)
from liverooms.monitoring.normalize import Normalized, PinyinView, normalize, pinyin_view
from liverooms.monitoring.rulepack import (
    RULEPACK,
    RULEPACK_VERSION,
    rules,
)

__all__ = [
    "RULEPACK",
    "RULEPACK_VERSION",
    "RULE_KINDS",
    "SEVERITIES",
    "SIGNAL_KINDS",
    "AlertDraft",
    "CompiledRuleSet",
    "Normalized",
    "PinyinView",
    "Rule",
    "RuleError",
    "RuleSetStats",
    "Signal",
    "normalize",
    "pinyin_view",
    "rules",
]

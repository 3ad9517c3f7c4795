"""The published monitoring rules, compiled once per process and recompiled when they change.

Compiling 2,000 rules into the engine's automata takes a noticeable moment; a batch of signals
must not pay it. Each call asks the database one cheap question -- how many rules are
published and when was the last published -- and rebuilds only when the answer changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils.translation import gettext

from liverooms.models import MonitoringRule, RuleStatus
from liverooms.monitoring.engine import CompiledRuleSet, Rule, RuleError


@dataclass(frozen=True)
class Published:
    stamp: tuple
    compiled: CompiledRuleSet
    # (code, version) -> the rule row, to link each alert to the rule version that raised it.
    rows: dict[tuple[str, int], MonitoringRule]


_lock = threading.Lock()
_current: Published | None = None


def to_engine_rule(row: MonitoringRule) -> Rule:
    """The engine's rule for a row. A ``RuleError`` comes in the active language: the engine
    imports no Django and speaks English, and its refusals are shown in the admin."""
    try:
        return Rule.from_mapping(row.__dict__)
    except RuleError as exc:
        raise exc.translated(gettext) from None


def published() -> Published:
    global _current
    stamp = tuple(
        MonitoringRule.objects.filter(status=RuleStatus.PUBLISHED)
        .aggregate(n=Count("pk"), last=Max("published_at"), top=Max("pk"))
        .values()
    )
    current = _current
    if current is not None and current.stamp == stamp:
        return current
    with _lock:
        if _current is not None and _current.stamp == stamp:
            return _current
        rows = list(MonitoringRule.objects.filter(status=RuleStatus.PUBLISHED))
        _current = Published(
            stamp=stamp,
            compiled=CompiledRuleSet(to_engine_rule(row) for row in rows),
            rows={(row.code, row.version): row for row in rows},
        )
        return _current

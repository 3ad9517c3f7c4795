"""The rule engine: rules as data, compiled once into one Aho-Corasick automaton per view, and
evaluated against stream signals (transcript lines, chat messages, listings) into alert drafts.

Why this shape
--------------
A platform runs thousands of rules against every line of every live room, so the cost of a
segment must not grow with the number of rules. Every keyword and alias of every rule goes into
ONE automaton over the normalised text, and every pinyin spelling of the keywords of rules that
ask for homophone matching goes into ONE automaton over the pinyin view: a segment is one pass
per view whatever the rule count. The pinyin spellings of the other rules' keywords go into a
third automaton over the same view, which only segments that mix Latin letters with other
script pay for (see "written partly in pinyin" below). Only regular expressions cost per rule,
so they are kept for what literals cannot say (phone numbers, account handles, a payment code
named in a dozen word orders).

Matching semantics (what the admin's rule form must explain)
-------------------------------------------------------------
* ``keywords`` -- what the rule is about, in plain Chinese. Matched literally on the normalised
  view (see ``normalize``) and, with ``match_pinyin``, by sound: a keyword of at least two Han
  characters also matches any text with the same toneless pinyin (``加微信`` matches ``加薇信``,
  ``加威信``, ``加 wei xin``). One Han character is too short to match by sound.
* Written partly in pinyin -- every keyword of at least two Han characters, in every rule, also
  matches where some of its syllables are spelled in Latin letters and some are not (``zui佳``,
  ``guo家级``, ``电子yan``; tone marks are ignored, see ``normalize``). A mix of scripts inside
  one word is an evasion, not a way of writing Chinese. A keyword spelled ENTIRELY in Latin
  letters is another matter: ``xiaoyan`` is a common given name as well as 消炎, so it only
  matches by sound (``match_pinyin``) or as an alias the rule lists (``dianziyan``).
* ``aliases`` -- literal spellings that pinyin cannot derive: abbreviations (``vx``, ``wx``,
  ``v信``) and lookalike characters (``徽信``). Never expanded to pinyin: ``徽信`` read as
  ``huixin`` would match the ordinary ``回信``.
* A term that begins or ends with an ASCII letter (or digit) does not match inside a longer run
  of letters (or digits) unless noise separated them in the original: ``vx`` matches ``加vx``
  and ``d vx``, not ``dvx200``; ``加v`` matches ``加v信`` but not ``加vip``.
* A clause mark (``，。！？；、…``, not a space or a dot) where Latin letters and Han
  characters meet inside a hit, with the hit glued on both sides to the words around it, ends
  one clause and starts the next: ``我叫小A，货都发了`` does not match the keyword ``a货``.
  Marks between every character (``加，V，信``), any mark between two Han characters
  (``加，微信``) and marks inside a word matched by its pinyin (``加，wei xin``) are noise like
  the rest; a term that is often the tail of an ordinary word is told apart by the rule's
  exclusions (``参加微信``).
* ``pattern`` -- a regular expression over the NORMALISED text (lower case, simplified, no
  spaces or punctuation): the whole of a ``pattern`` rule, and an extra cue beside the keywords
  of the others (``扫我二维码付款`` / ``扫这个码付款``: the same lure in many word orders).
  Exclusions apply to its hits as to the keywords'.
* ``exclude`` -- context that makes a hit ordinary speech. Checked on the normalised text in a
  window around each hit, so noise cannot defeat it either:

  - ``"国家级非物质文化遗产"`` (no ``*``): suppresses a hit that this phrase *contains*: an
    ordinary longer phrase around the term (``第一次`` around ``第一``).
  - ``"不要*"`` / ``"*的办法"`` / ``"不要*吗"``: ``*`` stands for the hit; the text must be
    immediately before and/or after it. This is how a warning against a violation (``不要私下转
    账``) or a consumer tip (``最佳食用时间``) is told apart from the violation, for every
    keyword of the rule at once.
* ``signal_kinds`` -- which signals a rule reads: ``transcript`` (speech-to-text of the
  stream), ``chat`` (comments and the room's pinned text) and ``listing`` (product titles).
* ``price`` rules read listings only: a discount claim (a keyword or pattern cue in the title,
  or ``Signal.claims_discount`` set by the platform's promotion data) needs a reference price
  (LCM Art. 32), and a reference price must be above the selling price.
* ``session`` rules (the unlabelled AI presenter, LCM Art. 37) are about what the session
  declares, not only what is said: their keywords and pattern match like a keyword rule's, but
  in a session labelled AI-generated (``evaluate(..., ai_labelled=True)``) they raise nothing.
  ``我是AI数字人主播`` is a violation only where the stream does not carry the label. A session
  rule without terms raises nothing from text. (A presenter registered as AI never goes on air
  unlabelled: the go-live gate refuses it.)

De-duplication: hits of one rule in one segment whose spans overlap become one alert spanning
their union (``加微信号`` is one alert, not three). Separate spans stay separate alerts; folding
repeats across segments of a session is the caller's choice (``services.signals_ingest`` keeps
one open alert per session rule and session).

Nothing here imports Django: the engine is tested and benchmarked standalone, and a rule maps
field for field onto ``liverooms.models.MonitoringRule`` (``Rule.from_mapping`` /
``Rule.to_dict``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import ahocorasick

from liverooms.monitoring.normalize import (
    Normalized,
    PinyinView,
    han_count,
    normalize,
    normalize_term,
    pinyin_keys,
    pinyin_view,
)

__all__ = [
    "RULE_KINDS",
    "SEVERITIES",
    "SIGNAL_KINDS",
    "AlertDraft",
    "CompiledRuleSet",
    "Rule",
    "RuleError",
    "RuleSetStats",
    "Signal",
]

SEVERITIES = ("low", "medium", "high", "critical")
RULE_KINDS = ("keyword", "pattern", "price", "session")
SIGNAL_KINDS = ("transcript", "chat", "listing")

# Characters of the original text shown on each side of a hit in the alert's excerpt: enough
# for a reviewer to judge the sentence without opening the transcript.
EXCERPT_CONTEXT = 15

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _(message: str) -> str:
    """Marks a message for the translation catalogue and returns it unchanged: the engine
    imports no Django, so a ``RuleError`` is translated where it is shown (``liverooms.rules``)."""
    return message


class RuleError(ValueError):
    """A rule that cannot be compiled; the message says which field and why.

    ``message`` is English with ``%(name)s`` placeholders that ``params`` fill; ``field`` names
    the rule field at fault, empty when no one field is, so that the admin's form can show the
    error beside it."""

    def __init__(self, message: str, /, *, field: str = "", **params: Any) -> None:
        super().__init__(message % params)
        self.message, self.field, self.params = message, field, params

    def translated(self, gettext: Callable[[str], str]) -> RuleError:
        """The same error with its message in the language ``gettext`` speaks."""
        return RuleError(gettext(self.message), field=self.field, **self.params)


# What a list field holds, as the error shows it: rules are JSON typed by hand in the admin.
_LIST_MESSAGES = {
    "keywords": _(
        '%(code)s: keywords must be a list of words in quotes, like ["加微信", "最便宜"]'
    ),
    "aliases": _('%(code)s: aliases must be a list of spellings in quotes, like ["vx", "v信"]'),
    "exclude": _(
        '%(code)s: exclusion phrases must be a list of phrases in quotes, like ["不要*", "第一次"]'
    ),
    "signal_kinds": _(
        '%(code)s: the signals a rule applies to must be a list, like ["transcript", "chat"]'
    ),
}
_TEXT_FIELDS = ("category", "severity", "kind", "pattern", "legal_basis", "description")


# --- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One versioned monitoring rule. Field for field the same as ``MonitoringRule``."""

    code: str
    version: int = 1
    category: str
    severity: str
    kind: str
    keywords: Sequence[str] = ()
    aliases: Sequence[str] = ()
    match_pinyin: bool = False
    pattern: str = ""
    exclude: Sequence[str] = ()
    signal_kinds: Sequence[str] = SIGNAL_KINDS
    legal_basis: str
    description: str = ""

    def __post_init__(self) -> None:
        self._check_types()
        # Stored as tuples so a compiled set cannot be changed behind its back.
        for name in _LIST_MESSAGES:
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    def _check_types(self) -> None:
        """Refuse a value of the wrong type rather than reinterpret it: ``tuple("国家级")`` made
        the keywords 国, 家 and 级, and a number among the keywords crashed the checks below.
        Rules come as JSON typed in the admin, and as data in the rule pack's migrations."""
        if not isinstance(self.code, str):
            raise RuleError(_("the code must be text"), field="code")
        code = self.code
        if not isinstance(self.version, int) or isinstance(self.version, bool):
            raise RuleError(
                _("%(code)s: version must be a whole number"), field="version", code=code
            )
        if not isinstance(self.match_pinyin, bool):
            raise RuleError(
                _("%(code)s: matching homophones must be true or false"),
                field="match_pinyin",
                code=code,
            )
        for name in _TEXT_FIELDS:
            if not isinstance(getattr(self, name), str):
                raise RuleError(
                    _("%(code)s: %(name)s must be text"), field=name, code=code, name=name
                )
        for name, message in _LIST_MESSAGES.items():
            value = getattr(self, name)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise RuleError(message, field=name, code=code)

    def validate(self) -> None:
        """Raise ``RuleError`` for a rule the engine could not evaluate as its author meant."""
        code = self.code
        if not _CODE.match(code):
            raise RuleError(
                _("code %(code)r: lower-case letters, digits, _ and -, max 64"),
                field="code",
                code=code,
            )
        if self.version < 1:
            raise RuleError(_("%(code)s: version must be 1 or more"), field="version", code=code)
        if self.severity not in SEVERITIES:
            raise RuleError(
                _("%(code)s: severity must be one of %(choices)s"),
                field="severity",
                code=code,
                choices=", ".join(SEVERITIES),
            )
        if self.kind not in RULE_KINDS:
            raise RuleError(
                _("%(code)s: kind must be one of %(choices)s"),
                field="kind",
                code=code,
                choices=", ".join(RULE_KINDS),
            )
        unknown = set(self.signal_kinds) - set(SIGNAL_KINDS)
        if unknown:
            raise RuleError(
                _("%(code)s: unknown signal kinds %(kinds)s"),
                field="signal_kinds",
                code=code,
                kinds=", ".join(sorted(unknown)),
            )
        if self.kind != "session" and not self.signal_kinds:
            raise RuleError(
                _("%(code)s: a %(kind)s rule needs at least one signal kind"),
                field="signal_kinds",
                code=code,
                kind=self.kind,
            )
        if self.kind == "keyword" and not (self.keywords or self.aliases):
            raise RuleError(
                _("%(code)s: a keyword rule needs keywords or aliases"), field="keywords", code=code
            )
        if self.kind == "pattern" and not self.pattern:
            raise RuleError(
                _("%(code)s: a pattern rule needs a pattern"), field="pattern", code=code
            )
        if self.kind == "pattern" and (self.keywords or self.aliases):
            raise RuleError(
                _("%(code)s: a pattern rule matches its pattern only"), field="keywords", code=code
            )
        if self.kind == "price" and self.signal_kinds != ("listing",):
            raise RuleError(
                _("%(code)s: a price rule reads listings only"), field="signal_kinds", code=code
            )
        for name in ("keywords", "aliases"):
            for term in getattr(self, name):
                if not normalize_term(term):
                    raise RuleError(
                        _("%(code)s: %(term)r has no letters or digits to match"),
                        field=name,
                        code=code,
                        term=term,
                    )
        for phrase in self.exclude:
            _Exclusion.parse(phrase, code=code)
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise RuleError(
                    _("%(code)s: pattern does not compile: %(error)s"),
                    field="pattern",
                    code=code,
                    error=error,
                ) from error

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from a dict or a model's ``__dict__``; keys that are not rule fields (id,
        status, published_at, ...) are ignored, so a ``MonitoringRule`` row maps directly."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data, with lists where the model has JSON lists."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data


# --- signals and alerts ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Signal:
    """One piece of a live session to check: a transcript line, a chat message, or a listing.

    For a listing, ``text`` is the product title as shown in the room, and the prices are in
    fen (integer, never float); ``claims_discount`` is the platform's own promotion flag (a
    strike-through price, a "sale" badge) when it has one.
    """

    kind: str
    at: datetime | None
    text: str
    price_fen: int | None = None
    reference_price_fen: int | None = None
    claims_discount: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SIGNAL_KINDS:
            raise ValueError(f"signal kind must be one of {', '.join(SIGNAL_KINDS)}")

    @classmethod
    def listing(
        cls,
        *,
        at: datetime | None,
        title: str,
        price_fen: int | None,
        reference_price_fen: int | None = None,
        claims_discount: bool = False,
    ) -> Signal:
        return cls(
            kind="listing",
            at=at,
            text=title,
            price_fen=price_fen,
            reference_price_fen=reference_price_fen,
            claims_discount=claims_discount,
        )

    @property
    def title(self) -> str:
        return self.text


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertDraft:
    """What the service turns into an ``Alert`` row: everything a reviewer needs, with the
    offsets and excerpt taken from the ORIGINAL text so the evidence is what was said."""

    rule_code: str
    rule_version: int
    severity: str
    category: str
    legal_basis: str
    signal_kind: str  # transcript | chat | listing | session
    signal_index: int  # position of the signal in the list given to ``evaluate``
    at: datetime | None
    start: int  # original[start:end] is the hit, including noise inserted inside it
    end: int
    excerpt: str  # the hit with up to EXCERPT_CONTEXT characters of context on each side
    matched: str  # original[start:end]
    term: str  # the rule term (normalised), the pattern, or the price finding's figures
    finding: str  # term | homophone | pinyin (spelled partly in Latin letters) | pattern |
    #               discount_without_reference | reference_not_above_price | ai_unlabelled


# --- exclusions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Exclusion:
    """One exclusion phrase, normalised. ``phrase`` set: containment; else before/after."""

    phrase: str = ""
    before: str = ""
    after: str = ""

    @classmethod
    def parse(cls, raw: str, *, code: str) -> _Exclusion:
        if raw.count("*") > 1:
            raise RuleError(
                _("%(code)s: exclusion %(phrase)r may hold one * (the hit), not more"),
                field="exclude",
                code=code,
                phrase=raw,
            )
        if "*" in raw:
            before, after = (normalize_term(part) for part in raw.split("*"))
            if not (before or after):
                raise RuleError(
                    _("%(code)s: exclusion %(phrase)r needs text around the *"),
                    field="exclude",
                    code=code,
                    phrase=raw,
                )
            return cls(before=before, after=after)
        phrase = normalize_term(raw)
        if not phrase:
            raise RuleError(
                _("%(code)s: exclusion %(phrase)r has no letters or digits"),
                field="exclude",
                code=code,
                phrase=raw,
            )
        return cls(phrase=phrase)

    def suppresses(self, text: str, start: int, end: int) -> bool:
        if self.phrase:
            size = len(self.phrase)
            if size < end - start:
                return False
            # Any occurrence inside this window that is as long as the phrase covers the hit.
            return self.phrase in text[max(0, end - size) : start + size]
        if self.before and not (
            start >= len(self.before) and text[start - len(self.before) : start] == self.before
        ):
            return False
        return not self.after or text[end : end + len(self.after)] == self.after


# --- the compiled set --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSetStats:
    rules: int
    text_terms: int  # distinct normalised keywords and aliases in the text automaton
    pinyin_terms: int  # distinct pinyin spellings in the pinyin automaton
    automata: dict[str, int] = field(default_factory=dict)  # view -> automata built (0 or 1)
    spelled_terms: int = 0  # distinct pinyin spellings in the mixed-script automaton
    pattern_rules: int = 0
    price_rules: int = 0


# A raw hit: (rule index, normalised start, normalised end, term, finding).
_Hit = tuple[int, int, int, str, str]
# Rules whose keywords are matched as words (the text view, pinyin, exclusions).
_TERM_KINDS = ("keyword", "price", "session")
_LATIN = re.compile("[a-z]")
# An owner of a pinyin key: (rule index, the keyword, inner syllable boundaries of the key).
_PinyinOwner = tuple[int, str, tuple[int, ...]]


class CompiledRuleSet:
    """A set of published rules compiled for evaluation. Build once per rule-set change (2,000
    rules take 0.3-0.5 s the first time in a process, about 0.1 s after: the pinyin of the
    keywords is cached) and share it: evaluating does not change it, so one instance serves
    every segment of a worker."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        counts = Counter(rule.code for rule in self.rules)
        duplicates = sorted(code for code, count in counts.items() if count > 1)
        if duplicates:
            raise RuleError(
                _("one version per rule in a set; repeated: %(codes)s"), codes=", ".join(duplicates)
            )
        # Which rules read a signal kind, in an unlabelled session and in a session labelled
        # AI-generated, where the session rules have nothing to say.
        self._applies = {
            (kind, labelled): [
                kind in rule.signal_kinds and not (labelled and rule.kind == "session")
                for rule in self.rules
            ]
            for kind in SIGNAL_KINDS
            for labelled in (False, True)
        }
        self._exclusions = [
            tuple(_Exclusion.parse(raw, code=rule.code) for raw in rule.exclude)
            for rule in self.rules
        ]
        self._patterns = [
            (index, re.compile(rule.pattern))
            for index, rule in enumerate(self.rules)
            if rule.pattern
        ]
        self._price_rules = [i for i, rule in enumerate(self.rules) if rule.kind == "price"]
        self._price_set = frozenset(self._price_rules)
        text_terms, pinyin_terms, spelled_terms = self._collect_terms()
        self._text_automaton = _build_automaton(
            {term: (len(term), tuple(owners), term) for term, owners in text_terms.items()}
        )
        self._pinyin_automaton = _build_automaton(
            {key: (len(key), tuple(owners)) for key, owners in pinyin_terms.items()}
        )
        self._spelled_automaton = _build_automaton(
            {key: (len(key), tuple(owners)) for key, owners in spelled_terms.items()}
        )
        self._stats = RuleSetStats(
            rules=len(self.rules),
            text_terms=len(text_terms),
            pinyin_terms=len(pinyin_terms),
            spelled_terms=len(spelled_terms),
            automata={
                "text": int(self._text_automaton is not None),
                "pinyin": int(self._pinyin_automaton is not None),
                "spelled": int(self._spelled_automaton is not None),
            },
            pattern_rules=len(self._patterns),
            price_rules=len(self._price_rules),
        )

    def _collect_terms(
        self,
    ) -> tuple[dict[str, list[int]], dict[str, list[_PinyinOwner]], dict[str, list[_PinyinOwner]]]:
        """Every term of every rule, keyed by its matched form, with the rules that own it: the
        text view's terms, the pinyin keys of homophone rules, and those of the other rules
        (matched only where a hit mixes Latin letters with other script)."""
        text_terms: dict[str, list[int]] = {}
        pinyin_terms: dict[str, list[_PinyinOwner]] = {}
        spelled_terms: dict[str, list[_PinyinOwner]] = {}
        for index, rule in enumerate(self.rules):
            if rule.kind not in _TERM_KINDS:
                continue
            for raw in (*rule.keywords, *rule.aliases):
                owners = text_terms.setdefault(normalize_term(raw), [])
                if index not in owners:
                    owners.append(index)
            keys = pinyin_terms if rule.match_pinyin else spelled_terms
            for raw in rule.keywords:
                term = normalize_term(raw)
                if han_count(term) < 2:
                    continue
                for key, bounds in pinyin_keys(term):
                    owners_p = keys.setdefault(key, [])
                    if all(owner[0] != index for owner in owners_p):
                        owners_p.append((index, term, bounds))
        return text_terms, pinyin_terms, spelled_terms

    def stats(self) -> RuleSetStats:
        return self._stats

    # --- evaluation ----------------------------------------------------------------------------

    def evaluate(self, signals: Iterable[Signal], *, ai_labelled: bool = False) -> list[AlertDraft]:
        """Alert drafts for a batch of signals, in signal order, then by position.
        ``ai_labelled``: the session carries the AI-generated label (LCM Art. 37), so its
        session rules raise nothing."""
        drafts: list[AlertDraft] = []
        for index, signal in enumerate(signals):
            drafts.extend(self.evaluate_signal(signal, index=index, ai_labelled=ai_labelled))
        return drafts

    def evaluate_signal(
        self, signal: Signal, *, index: int = 0, ai_labelled: bool = False
    ) -> list[AlertDraft]:
        """Alert drafts for one signal, by position; ``index`` is recorded on each draft."""
        norm = normalize(signal.text)
        applies = self._applies[signal.kind, ai_labelled]
        hits: list[_Hit] = []
        if norm.text:
            self._scan_text(norm, applies, hits)
            self._scan_pinyin(norm, applies, hits)
            self._scan_patterns(norm, applies, hits)
        hits = [hit for hit in hits if not self._excluded(hit, norm.text)]
        drafts = self._price_drafts(signal, index, norm, hits, applies)
        keyword_hits = [hit for hit in hits if hit[0] not in self._price_set]
        for rule_index, start, end, term, finding in _merge_overlaps(keyword_hits):
            drafts.append(
                self._draft(rule_index, signal, index, *norm.span(start, end), term, finding)
            )
        drafts.sort(key=lambda draft: (draft.start, draft.rule_code))
        return drafts

    def _scan_text(self, norm: Normalized, applies: list[bool], hits: list[_Hit]) -> None:
        if self._text_automaton is None:
            return
        text = norm.text
        for last, (size, owners, term) in self._text_automaton.iter(text):
            start, end = last - size + 1, last + 1
            if not _edges_ok(norm, start, end) or _joins_two_clauses(norm, start, end):
                continue
            for rule_index in owners:
                if applies[rule_index]:
                    hits.append((rule_index, start, end, term, "term"))

    def _scan_pinyin(self, norm: Normalized, applies: list[bool], hits: list[_Hit]) -> None:
        # Only a segment that mixes Latin letters with other script can hold a keyword spelled
        # partly in pinyin: most segments are all Han and skip that automaton with one search.
        text = norm.text
        spelled = (
            self._spelled_automaton is not None
            and not text.isascii()
            and _LATIN.search(text) is not None
        )
        if self._pinyin_automaton is None and not spelled:
            return
        view = pinyin_view(norm)
        if self._pinyin_automaton is not None:
            self._scan_view(norm, view, self._pinyin_automaton, applies, hits, "homophone")
        if spelled:
            self._scan_view(norm, view, self._spelled_automaton, applies, hits, "pinyin")

    @staticmethod
    def _scan_view(
        norm: Normalized,
        view: PinyinView,
        automaton: Any,
        applies: list[bool],
        hits: list[_Hit],
        finding: str,
    ) -> None:
        mixed_only = finding == "pinyin"
        for last, (size, owners) in automaton.iter(view.text):
            # Whole syllables only: "xian" must not match inside "xi an". The boundaries are
            # computed on the first match, so segments without one never pay for them.
            start_at = view.start_at
            first = last - size + 1
            start, end = start_at[first], view.end_at[last + 1]
            if start < 0 or end < 0 or not _edges_ok(norm, start, end):
                continue
            if mixed_only and not _mixes_scripts(norm.text[start:end]):
                # 电子眼 reads like 电子烟 and 醉驾 like 最佳; only a keyword of a rule that asks
                # for homophones may match Han text by its sound.
                continue
            for rule_index, term, bounds in owners:
                # The text must be cut wherever the term is: 西安 xi|an is not 先 xian.
                if applies[rule_index] and all(start_at[first + b] >= 0 for b in bounds):
                    hits.append((rule_index, start, end, term, finding))

    def _scan_patterns(self, norm: Normalized, applies: list[bool], hits: list[_Hit]) -> None:
        for rule_index, regex in self._patterns:
            if not applies[rule_index]:
                continue
            finding = "term" if self.rules[rule_index].kind == "price" else "pattern"
            for match in regex.finditer(norm.text):
                if match.end() > match.start():
                    hits.append((rule_index, match.start(), match.end(), match.group(), finding))

    def _excluded(self, hit: _Hit, text: str) -> bool:
        rule_index, start, end = hit[0], hit[1], hit[2]
        return any(ex.suppresses(text, start, end) for ex in self._exclusions[rule_index])

    def _price_drafts(
        self,
        signal: Signal,
        index: int,
        norm: Normalized,
        hits: list[_Hit],
        applies: list[bool],
    ) -> list[AlertDraft]:
        """LCM Art. 32: a discount claim shows a reference price, and that price is above the
        price charged. The cue hits locate the claim in the title for the excerpt."""
        drafts = []
        for rule_index in self._price_rules:
            if not applies[rule_index]:
                continue
            cues = sorted((hit for hit in hits if hit[0] == rule_index), key=lambda h: h[1])
            finding = _price_finding(signal, claimed=bool(cues) or signal.claims_discount)
            if finding is None:
                continue
            name, figures = finding
            if cues:
                start, end = norm.span(cues[0][1], cues[0][2])
            else:
                start, end = 0, len(signal.text)
            drafts.append(self._draft(rule_index, signal, index, start, end, figures, name))
        return drafts

    def _draft(
        self,
        rule_index: int,
        signal: Signal,
        index: int,
        start: int,
        end: int,
        term: str,
        finding: str,
    ) -> AlertDraft:
        rule = self.rules[rule_index]
        return AlertDraft(
            rule_code=rule.code,
            rule_version=rule.version,
            severity=rule.severity,
            category=rule.category,
            legal_basis=rule.legal_basis,
            signal_kind=signal.kind,
            signal_index=index,
            at=signal.at,
            start=start,
            end=end,
            excerpt=excerpt(signal.text, start, end),
            matched=signal.text[start:end],
            term=term,
            finding=finding,
        )


# --- helpers -----------------------------------------------------------------------------------


def _build_automaton(entries: Mapping[str, tuple[Any, ...]]) -> Any:
    """One Aho-Corasick automaton over all terms, or None when there are none. Each value
    starts with the term's length, since the automaton reports only where a match ends."""
    if not entries:
        return None
    automaton = ahocorasick.Automaton()
    for key, value in entries.items():
        automaton.add_word(key, value)
    automaton.make_automaton()
    return automaton


def _same_class(a: str, b: str) -> bool:
    """Both ASCII letters, or both ASCII digits: characters that form one word together."""
    if not (a.isascii() and b.isascii()):
        return False
    return (a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())


def _edges_ok(norm: Normalized, start: int, end: int) -> bool:
    """False when the hit starts or ends inside a run of ASCII letters (or digits) that was one
    word in the original: ``vx`` inside ``dvx200``, ``加v`` inside ``加vip``."""
    text = norm.text
    if start > 0 and _same_class(text[start - 1], text[start]) and norm.contiguous(start):
        return False
    return not (end < len(text) and _same_class(text[end - 1], text[end]) and norm.contiguous(end))


# Marks that end a clause or a sentence, as typed or as speech-to-text writes them. Not the dot,
# the colon, the hyphen or a space: "加.微.信", "no.1", "vx：abc" and "A 货" use them inside
# what they write.
_CLAUSE_MARKS = frozenset("，,。！!？?；;、…\n\r")


def _joins_two_clauses(norm: Normalized, start: int, end: int) -> bool:
    """True when the hit is the tail of one clause and the head of the next, read together once
    the punctuation between them was dropped: ``我叫小A，货都发了`` is not ``A货``, nor
    ``我是小V，信我没错`` ``v信``. That is a clause mark where Latin letters and other script
    meet inside the hit, with the hit glued on both sides to the words around it (小A, 货都).

    Only where the script changes: a letter in Chinese text is a word of its own (a name, an
    option, a size), so the mark after it ends it. Between two Han characters nothing tells
    ``参加，微信`` (two words) from ``宝宝们加，微信`` (a lure with a comma in it) without a
    dictionary, so those stay matches and the rule's exclusions (``参加微信``) say which are
    ordinary. Separators between every character (``加，V，信``) leave the hit unglued: an
    evasion, still a match. Literal terms only: in the pinyin views Latin letters spell
    syllables (``加，wei xin``), not words of their own."""
    text = norm.text
    if start == 0 or end == len(text):
        return False
    hit = text[start:end]
    if hit.isascii() or _LATIN.search(hit) is None:
        return False
    if not (norm.contiguous(start) and norm.contiguous(end)):
        return False
    for index in range(start + 1, end):
        before, after = text[index - 1], text[index]
        latin_before = before.isascii() and before.isalpha()
        latin_after = after.isascii() and after.isalpha()
        if latin_before == latin_after or (before.isascii() and after.isascii()):
            continue
        if not _CLAUSE_MARKS.isdisjoint(norm.gap(index)):
            return True
    return False


def _mixes_scripts(hit: str) -> bool:
    """A normalised hit with Latin letters and other script in it: ``zui佳``, not ``zuijia``
    (all Latin: a name as often as a word) nor ``醉驾`` (all Han: a homophone). Latin letters
    that spell an English word Chinese speech uses every day are that word, not pinyin:
    ``防AI诈骗`` is about AI, not 防癌; ``MI`` and ``QI`` (a phone brand, a charging standard)
    are not 迷 or 气."""
    if hit.isascii():
        return False
    latin = "".join(_LATIN.findall(hit))
    return bool(latin) and latin not in _ENGLISH_WORDS


# Latin words that are also whole pinyin syllables, common in ordinary Chinese shopping speech.
_ENGLISH_WORDS = frozenset({"ai", "mi", "qi"})


def _merge_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """One hit per rule per run of overlapping spans, spanning their union. The first hit's
    term and finding are kept: the literal term when the text view found it too."""
    merged: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h[0], h[1], -h[2], h[4] != "term")):
        if merged and merged[-1][0] == hit[0] and hit[1] < merged[-1][2]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], max(last[2], hit[2]), last[3], last[4])
        else:
            merged.append(hit)
    return merged


def _price_finding(signal: Signal, *, claimed: bool) -> tuple[str, str] | None:
    reference, price = signal.reference_price_fen, signal.price_fen
    if claimed and reference is None:
        return "discount_without_reference", f"price_fen={price} reference_price_fen=None"
    if reference is not None and price is not None and reference <= price:
        return "reference_not_above_price", f"price_fen={price} reference_price_fen={reference}"
    return None


def excerpt(text: str, start: int, end: int, context: int = EXCERPT_CONTEXT) -> str:
    """The original text around [start, end), with ``…`` where it was cut."""
    left, right = max(0, start - context), min(len(text), end + context)
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")

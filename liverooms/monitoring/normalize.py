"""Text normalisation for the monitoring engine: one canonical view of a segment, and a pinyin
view for homophone evasions, both mapped back to offsets in the ORIGINAL text.

Why two views
-------------
Anchors and chat users who know a filter is listening write around it. The evasions seen in
live-commerce fall into a few families, and each is undone by one step here:

* **Width and compatibility forms** -- ``ＶＸ``, ``①``, ``ⓥ``, ``𝐯𝐱``: Unicode NFKC.
* **Case** -- ``VX`` / ``Vx``: case folding.
* **Pinyin tone marks** -- ``wēi xìn``, ``wéixìn``: a Latin letter carrying a tone mark (macron,
  acute, caron, grave) is read without it, so pinyin typed with tones reads as pinyin typed
  without. Precomposed letters are folded here; a combining mark typed after the letter is
  dropped as noise (below). Only tone marks go: ``ü`` and ``ï`` keep their diaeresis.
* **Traditional characters** -- ``國家級``, ``電子煙``: OpenCC ``t2s`` on the joined string, so
  phrase-level conversions (``乾燥`` -> ``干燥`` but ``乾隆`` stays) come out as OpenCC intends.
* **Noise between characters** -- ``加 微 信``, ``加✨微✨信``, ``加\u200d微\u200d信``,
  ``加.微.信``: every character that is not a letter or a digit of any script (Unicode categories
  L* and N*) is dropped: whitespace (Z*), punctuation (P*), symbols and emoji (S*), marks (M*,
  incl. variation selectors and combining "zalgo" marks) and format/control characters (C*,
  incl. zero-width spaces and joiners). Rule terms are normalised the same way, so a keyword
  such as ``100%有效`` becomes ``100有效`` on both sides.
* **Lookalike letters** -- Cyrillic ``ѵх``, emoji letters ``🅥🅧`` / ``🇻🇽``: a deliberately small
  table (below), because every entry folds legitimate text too.
* **Symbols for words** -- chat writes ``+V`` / ``➕vx`` where speech says 加V, and ``电子🚬``
  for 电子烟; dropped as symbols, they would take the word the rules key on with them.
* **Homophones** -- ``薇信``, ``威信``, ``wei xin``: these survive every step above, so they get a
  second view: the toneless pinyin of each normalised character (Latin letters and digits stand
  for themselves, ``ü`` for ``v`` as pypinyin spells it), concatenated. ``加薇信`` and
  ``加 wei xin`` both read ``jiaweixin``; ``zui佳`` reads ``zuijia`` like ``最佳``.

What is NOT folded here, on purpose: visual lookalike Han characters (``徽信`` for 微信) and
abbreviations (``vx``, ``wx``, ``v信``). No general table exists that would not also rewrite
ordinary words (``安徽`` is not 安微), so those are listed per rule as literal *aliases*.

Offsets
-------
Every normalised character remembers the offset of the original character it came from
(``Normalized.offsets``). A match over ``normalised[s:e]`` is reported as
``original[offsets[s] : offsets[e - 1] + 1]``, which includes any noise that was inserted
between the matched characters -- the excerpt a reviewer needs to see. One original character
that NFKC expands (``℡`` -> ``tel``) maps all its outputs to the same offset. Offsets count code
points (Python ``str`` indices), as the ``Alert.start``/``end`` fields do.

The pinyin view keeps, for every position in the pinyin string, the normalised character whose
syllable starts (``start_at``) or ends (``end_at``) there; a pinyin match that does not begin and
end on syllable boundaries is not a match (so ``xian`` does not match inside ``xi an``). Each
character of a segment is read in its default (most common) reading, since an evader picks a
homophone by its common reading; a *rule term* is spelled both in context (银行卡 ``yinhangka``)
and character by character (``yinxingka``), see ``pinyin_keys``.

Performance: both views are one ``str.translate`` each, over tables filled on first sight of a
character, plus one OpenCC call (~2 µs); the offsets and the syllable boundaries are computed
only for segments where something matched.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

__all__ = [
    "Normalized",
    "PinyinKey",
    "PinyinView",
    "han_count",
    "normalize",
    "normalize_term",
    "pinyin_keys",
    "pinyin_view",
]

# Letters drawn like Latin ones, seen in "ѵх"-style evasions of vx/wx/qq. Kept small: each entry
# also rewrites genuine Cyrillic or Greek text, which no rule matches anyway.
# fmt: off
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѵ": "v", "і": "i",
    "ј": "j", "ԛ": "q", "ԝ": "w",
    # Greek
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "χ": "x",
    "ω": "w",
}
# fmt: on

# Symbols that carry a word rather than noise (see module docstring).
_SYMBOL_WORDS = {"+": "加", "➕": "加", "🚬": "烟"}

# The four pinyin tone marks, as NFD separates them from a precomposed letter (ē -> e + U+0304).
_TONE_MARKS = frozenset("\u0304\u0301\u030c\u0300")

# Emoji letters that NFKC leaves alone: squared, negative circled, negative squared, and
# regional indicators. Each block runs A..Z.
_EMOJI_LETTER_BLOCKS = (0x1F130, 0x1F150, 0x1F170, 0x1F1E6)

_T2S = opencc.OpenCC("t2s")


class Normalized:
    """A segment's canonical text and, per character of it, the offset in the original.

    The offsets are computed on first use: most segments match nothing, and the text alone is
    one ``str.translate`` plus one OpenCC call.
    """

    __slots__ = ("_offsets", "original", "text")

    def __init__(self, original: str, text: str) -> None:
        self.original = original
        self.text = text
        self._offsets: list[int] | None = None

    def __repr__(self) -> str:
        return f"Normalized({self.original!r} -> {self.text!r})"

    @property
    def offsets(self) -> list[int]:
        if self._offsets is None:
            self._offsets = _offsets_of(self.original)
        return self._offsets

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) that normalised [start, end) came from (end > start)."""
        offsets = self.offsets
        return offsets[start], offsets[end - 1] + 1

    def contiguous(self, index: int) -> bool:
        """Whether normalised characters index-1 and index were adjacent in the original, i.e.
        no noise was removed between them. Used to tell ``dvx`` (one word) from ``d vx``."""
        offsets = self.offsets
        return offsets[index] - offsets[index - 1] <= 1

    def gap(self, index: int) -> str:
        """The original characters dropped as noise between normalised characters index-1 and
        index (empty when they were adjacent): the engine tells a clause mark (``，``) from a
        space or a dot by it."""
        offsets = self.offsets
        return self.original[offsets[index - 1] + 1 : offsets[index]]


class PinyinView:
    """Toneless pinyin of a normalised text, with the syllable boundaries mapped back.

    ``start_at[p]`` is the normalised index whose syllable starts at pinyin position p, or -1;
    ``end_at[p]`` is one past the normalised index whose syllable ends at p, or -1. Both are
    computed on first use, i.e. only for segments the pinyin automaton found something in.
    """

    __slots__ = ("_bounds", "source", "text")

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = source.translate(_SYLLABLES)
        self._bounds: tuple[list[int], list[int]] | None = None

    @property
    def start_at(self) -> list[int]:
        return self._boundaries()[0]

    @property
    def end_at(self) -> list[int]:
        return self._boundaries()[1]

    def _boundaries(self) -> tuple[list[int], list[int]]:
        if self._bounds is None:
            start_at = [-1] * (len(self.text) + 1)
            end_at = [-1] * (len(self.text) + 1)
            position = 0
            for index, char in enumerate(self.source):
                start_at[position] = index
                position += len(_SYLLABLES[ord(char)])
                end_at[position] = index + 1
            self._bounds = (start_at, end_at)
        return self._bounds


def _untoned(char: str) -> str:
    """A Latin letter without its pinyin tone mark (``ǜ`` -> ``ü``, ``É`` -> ``E``); any other
    character as it is. One character in, one out, so the offsets stay per character."""
    if char.isascii():
        return char
    parts = unicodedata.normalize("NFD", char)
    if not parts[0].isascii() or not _TONE_MARKS.intersection(parts):
        return char
    return unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))


def _fold_char(char: str) -> str:
    """NFKC, tone marks, case folding, lookalikes and noise removal for one original
    character."""
    out = []
    for c in unicodedata.normalize("NFKC", char):
        c = _untoned(c)
        code = ord(c)
        for block in _EMOJI_LETTER_BLOCKS:
            if block <= code < block + 26:
                c = chr(ord("a") + code - block)
                break
        if c in _SYMBOL_WORDS:
            out.append(_SYMBOL_WORDS[c])
            continue
        for folded in c.casefold():
            folded = _LOOKALIKES.get(folded, folded)
            if unicodedata.category(folded)[0] in "LN":
                out.append(folded)
    return "".join(out)


class _FoldTable(dict[int, str]):
    """The ``str.translate`` table of the stateless steps (NFKC, case folding, lookalikes, noise
    removal), filled on first sight of each character: a few thousand entries in practice."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def normalize(text: str) -> Normalized:
    """The canonical view of ``text`` used for matching, with offsets into ``text``."""
    return Normalized(text, _to_simplified(text.translate(_FOLD)))


def _offsets_of(original: str) -> list[int]:
    # Almost every character folds to one or none; an NFKC expansion (℡ -> tel) maps all its
    # outputs to the one original offset. t2s preserves length (see _to_simplified).
    offsets: list[int] = []
    for index, char in enumerate(original):
        size = len(_FOLD[ord(char)])
        if size == 1:
            offsets.append(index)
        elif size:
            offsets.extend([index] * size)
    return offsets


def _to_simplified(text: str) -> str:
    """OpenCC t2s on the whole string (phrase-aware); per character if the length changed,
    since the offsets are per character. t2s is length-preserving for all but rare phrases."""
    if text.isascii():
        return text
    converted = _T2S.convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(_simplified_char(c) for c in text)


@lru_cache(maxsize=8192)
def _simplified_char(char: str) -> str:
    converted = _T2S.convert(char)
    return converted if len(converted) == 1 else char


def normalize_term(term: str) -> str:
    """A rule keyword, alias or exclusion phrase in the same canonical form as segments."""
    return normalize(term).text


# --- pinyin view -------------------------------------------------------------------------------


def _is_han(char: str) -> bool:
    # CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B and later.
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
    )


def han_count(text: str) -> int:
    """How many Han characters ``text`` has (pinyin matching needs at least two)."""
    return sum(1 for c in text if _is_han(c))


class _SyllableTable(dict[int, str]):
    """The ``str.translate`` table of the pinyin view: the default toneless reading of a Han
    character; ``ü`` reads ``v``, as pypinyin spells it (绿 ``lv``); any other character, and
    Han characters pypinyin does not know, stand for themselves. Filled on first sight."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if _is_han(char):
            syllable = lazy_pinyin(char, style=Style.NORMAL)[0]
        else:
            syllable = "v" if char == "ü" else char
        self[code] = syllable
        return syllable


_SYLLABLES = _SyllableTable()


def _syllable(char: str) -> str:
    return _SYLLABLES[ord(char)]


def pinyin_view(normalized: Normalized) -> PinyinView:
    """The toneless pinyin string of a normalised segment, with syllable boundaries."""
    return PinyinView(normalized.text)


PinyinKey = tuple[str, tuple[int, ...]]


# Cached: a rule set is rebuilt whole whenever one rule is published, and every keyword of
# every rule now has pinyin keys (engine: words written partly in pinyin).
@lru_cache(maxsize=65536)
def pinyin_keys(term: str) -> tuple[PinyinKey, ...]:
    """The toneless pinyin spellings of a normalised rule term, each with the positions of its
    inner syllable boundaries: its reading in context (pypinyin's phrase dictionary: 银行卡 ->
    ``yinhangka``), which is what an evader picks homophones by, and its character-by-character
    default reading (``yinxingka``), which is how ``pinyin_view`` reads the literal term.

    The boundaries let the matcher insist that the text is cut at least where the term is:
    西安 ``xi|an`` must not match 先 ``xian``, while Latin letters, one segment each, may spell
    a term out (``w|e|i|x|i|n`` for ``wei|xin``).

    Not every heteronym: rare readings only add false alarms (号 has a reading ``xiao``, which
    made 微信号 match ``微信，小心`` in an ordinary warning).
    """
    spellings = (
        lazy_pinyin(term, style=Style.NORMAL),
        [_syllable(c) for c in term],
    )
    keys: dict[str, tuple[int, ...]] = {}
    for syllables in spellings:
        bounds = tuple(itertools.accumulate(len(s) for s in syllables[:-1]))
        keys.setdefault("".join(syllables), bounds)
    return tuple(keys.items())

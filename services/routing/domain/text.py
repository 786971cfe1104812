"""Text handling shared by the rules and the text model: one normal form, and keywords.

Normal form: lower case, diacritics dropped (å/ä→a, ö→o, é→e), anything that is not a
letter or digit becomes a space, single spaces, padded with one space on each side. Both
the rules and the model see only this form, so "Id-kort", "idkort" and "ID kort" meet.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 2000  # longer text is cut: a question is a few sentences, not a document
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"})


def normalise(text: str) -> str:
    """The normal form of ``text`` (first ``MAX_CHARS`` characters), padded with spaces."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS].lower().translate(_FOLD))
    # dropping what is not ASCII drops the diacritics NFKD split off (and other scripts,
    # which the next step would turn into spaces anyway)
    text = text.encode("ascii", "ignore").decode("ascii")
    return " " + _NOT_WORD.sub(" ", text).strip() + " "


# Where a question that may hold several matters is cut into parts: sentence ends, and the
# words that join one matter to the next ("och så", "and also", "också", "plus").
_PARTS = re.compile(
    r"[.?!;:\n]+|\s*,?\s+(?:och så|och sen|och också|och även|och dessutom|och|samt|and also|and|also|plus|också|dessutom|även)\s+",
    re.IGNORECASE,
)


def segments(text: str) -> list[str]:
    """The pieces of ``text`` (first ``MAX_CHARS`` characters) between sentence ends and
    joining words, in order, non-empty."""
    return [piece.strip() for piece in _PARTS.split(text[:MAX_CHARS]) if piece and piece.strip()]


# Function words (Swedish and English, in normal form): they say nothing about the topic,
# so they do not count when judging whether the model understands a text.
_STOPWORDS = """
    jag du han hon vi ni de den det dem mig dig sig oss er min mitt mina din ditt dina hans
    hennes var vart vara deras och eller men att som om for fran till pa i av med utan
    nar hur vad varfor vem vilken vilket vilka har hade ha ar blir blev kan kunde
    ska skulle vill ville maste far fick inte nej ja en ett denna detta nu sa bara
    ocksa hej tack nagon nagot nagra alla allt mycket lite mer bra
    the a an and or but to of in on at for from with by is are was were be been am do does
    did have has had i you he she we they it me my your our their this that what how when
    why who which can could will would should not no yes please hello hi there here
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def words(clean: str) -> list[str]:
    return clean.split()


def content_words(clean: str) -> list[str]:
    """The words that carry meaning: no function words, no single letters or digits."""
    return [w for w in clean.split() if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]


@dataclass(frozen=True)
class Keyword:
    """A word or phrase in normal form. ``whole_word`` keywords match only whole words;
    the others match at the start of a word ("bostadsbidrag" matches "bostadsbidraget")."""

    text: str
    whole_word: bool

    @property
    def weight(self) -> float:
        return 1.0 + 0.08 * len(self.text)


def parse_keyword(raw: str) -> Keyword:
    """A trailing dot, or three letters or fewer, means whole word only ("pass.", "vab")."""
    raw = str(raw)
    whole = raw.endswith(".") or len(raw.strip()) <= 3
    return Keyword(normalise(raw.rstrip(".")).strip(), whole)


def matches(keyword: Keyword, clean: str) -> bool:
    needle = f" {keyword.text} " if keyword.whole_word else f" {keyword.text}"
    return needle in clean

"""``tokenize``: split English text into lower-case words and punctuation, PTB style;
``clean_markup``: turn text scraped from web pages (IMDB reviews) into plain text.

The rules follow the Penn Treebank conventions used by SST-2 and GLUE, so raw
text and already-tokenized SST-2 text give the same tokens and share one
vocabulary:

- contractions are split before the clitic: ``don't`` -> ``do n't``,
  ``can't`` -> ``ca n't``, ``it's`` -> ``it 's``, ``we've`` -> ``we 've``,
  every clitic of a word: ``shouldn't've`` -> ``should n't 've``;
  ``cannot``, ``gonna`` and ``wanna`` become ``can not``, ``gon na``, ``wan na``;
- punctuation is split off; a run of one repeated mark is one token
  (``...``, ``--``, ``!!``), and double quotes become PTB's ``````
  (opening) and ``''`` (closing);
- hyphenated words (``well-made``), slashes inside a word (``and/or``, ``1/2``),
  apostrophes inside a word (``o'clock``) and numbers (``3.5``, ``1,000``,
  ``2nd``) stay one token;
- ``mr.``, ``e.t.``, ``u.s.`` and initials (``j. k.``) keep their period.

Text in any script is handled the same way: it is put in Unicode NFC form after
lower-casing, and combining marks (``é`` written as ``e`` + U+0301, Devanagari
vowel signs, Arabic harakat...) and the zero-width (non-)joiners U+200C/U+200D
stay inside their word, so a word is never cut before a mark.

``tokenize(text, clean=True)`` first applies ``clean_markup``: HTML line breaks and
block tags become spaces, other HTML tags are dropped, entities are decoded.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["clean_markup", "tokenize"]

# Clitics split off the end of a word (``it's`` -> ``it 's``); ``n't`` is handled apart.
_CLITICS = ("'s", "'re", "'ve", "'ll", "'d", "'m")

# Whole words that PTB splits in two.
_SPLIT_WORDS = {"cannot": ("can", "not"), "gonna": ("gon", "na"), "wanna": ("wan", "na"), "gotta": ("got", "ta")}

_ABBREVIATIONS = (
    "mr", "mrs", "ms", "dr", "jr", "sr", "st", "vs", "etc", "prof", "inc", "co", "corp", "ltd", "bros", "al",
    "jan", "feb", "aug", "sept", "oct", "nov", "dec",
)

# Unicode assigns combining marks only in planes 0, 1 and 14 (planes 2-3 hold ideographs, 15-16 private use).
# The marks outside plane 0 (the BMP) are kept apart: ``re`` tests a character against them one range at a time,
# which would make tokenizing plain text twice as slow, so they go in the pattern only for text that needs them.
_BMP_MARK_CODES = range(0x0000, 0x10000)
_ASTRAL_MARK_CODES = (range(0x10000, 0x20000), range(0xE0000, 0xF0000))

# Invisible format characters, which would otherwise become tokens of their own or cut words: a zero-width space
# separates words; a soft hyphen, a word joiner, U+FEFF (a byte-order mark inside the text) and the bidirectional
# marks and controls (LRM, RLM, ALM, embeddings, overrides, isolates) only affect display, so they are dropped.
_INVISIBLE: dict[int, str | None] = {0x200B: " ", 0x00AD: None, 0x2060: None, 0xFEFF: None, 0x061C: None,
                                     0x200E: None, 0x200F: None, **dict.fromkeys(range(0x202A, 0x202F)),
                                     **dict.fromkeys(range(0x2066, 0x206A))}

# The zero-width non-joiner and joiner: word characters inside a word (Persian, Indic scripts), dropped at its ends.
_JOINERS = "\u200c\u200d"

# The token pattern. Inside its character classes {W} stands for the word characters (\w, the combining marks
# and the zero-width (non-)joiners) and {M} for the combining marks; [^\s{W}] is punctuation or a symbol, and
# [{M}{S}] what extends one (a combining mark or an emoji skin-tone modifier {S}).
_TOKEN_TEMPLATE = r"""
      (?<![{W}.])(?:[^\W\d_][{M}]*\.){2,}                 # letters with periods: e.t. u.s.a.
    | (?<![{W}.])(?:{abbreviations})\.(?![{W}])           # mr. vs. etc.
    | (?<![{W}.])no\.(?=\s*\d)                            # no. 9
    | (?<![{W}.])(?![ai]\.)[^\W\d_][{M}]*\.               # an initial before more text: j. k. rowling
      (?=\s+[\u200c\u200d]*[\w{M}])                       # (not "a." or "i.", which mostly end a sentence;
                                                          # a joiner before the word does not count)
    | 'n'(?![{W}])                                        # rock 'n' roll
    | '(?:s|re|ve|ll|d|m|em|til|n|\d\ds?)(?![{W}'])        # a clitic already split off: it 's; years: '53 '70s
    | [{W}]+(?:[-/'&][{W}]+|(?<=\d)[.,:]\d+[{M}]*)*       # words, hyphenated words, r&b, numbers
    | (?:[?!][{M}{S}]*)+                                  # ?!? is one token
    | [\U0001F1E6-\U0001F1FF]{2}                          # a flag: two regional indicator letters
    | [^\s{W}][{M}{S}]*(?:\u200d[^\s{W}][{M}{S}]*)+       # symbols joined by U+200D: an emoji sequence
    | (?P<p>[^\s{W}])[{M}{S}]*(?:(?P=p)[{M}{S}]*)*        # other punctuation; a run of one mark is one token
"""


def _char_class_body(codes: list[int]) -> str:
    """The inside of a regex character class matching exactly ``codes`` (sorted), as escaped ranges."""
    parts: list[str] = []
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code != previous + 1:
            parts.append(re.escape(chr(start)) + ("" if previous == start else "-" + re.escape(chr(previous))))
            start = code
        previous = code
    return "".join(parts)


def _marks(codes: Iterable[int]) -> list[int]:
    """The combining marks (Unicode categories Mn, Mc, Me) among ``codes``."""
    return [code for code in codes if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me")]


@functools.cache
def _token_pattern(astral: bool) -> re.Pattern[str]:
    r"""The compiled token pattern; with ``astral`` False it knows only the combining marks of the BMP.

    Python's ``\w`` matches letters and digits but not combining marks (categories Mn, Mc, Me), so the word
    characters here are ``\w``, the marks and the zero-width non-joiner and joiner (U+200C, U+200D). The pattern
    is built on first use: scanning the code points for marks takes a few milliseconds.
    """
    codes = _marks(_BMP_MARK_CODES)
    if astral:
        codes += _marks(code for plane in _ASTRAL_MARK_CODES for code in plane)
    marks = _char_class_body(codes)
    classes = {
        "{W}": rf"\w{marks}\u200c\u200d",
        "{M}": marks,
        "{S}": r"\U0001F3FB-\U0001F3FF",
        "{abbreviations}": "|".join(_ABBREVIATIONS),
    }
    pattern = _TOKEN_TEMPLATE
    for name, value in classes.items():
        pattern = pattern.replace(name, value)
    return re.compile(pattern, re.VERBOSE)


_OPENING_QUOTE = re.compile(r'(^|(?<=[\s(\[{<]))"')


def _normalize(text: str) -> str:
    """Lower-case in Unicode NFC form, drop invisible format characters, map typographic quotes and ellipses to
    ASCII, double quotes to `` and ''."""
    # "İ" (Turkish dotted capital I) lower-cases to "i" + U+0307 in Python; its lower case is "i", so
    # "İyi" and "iyi" are one word
    if not text.isascii():  # composed first, so "I" + U+0307 is "İ" too
        text = unicodedata.normalize("NFC", text).replace("\u0130", "i")
    text = text.lower()
    if not text.isascii():
        # NFC after lower-casing: "e" + U+0301 becomes "é", and lower() could itself give marks
        text = unicodedata.normalize("NFC", text.translate(_INVISIBLE))
        text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u2026", "...")
        text = text.replace("\u201c", " `` ").replace("\u201d", " '' ")
    if '"' in text:
        text = _OPENING_QUOTE.sub(" `` ", text).replace('"', " '' ")
    return text


def _split_word(word: str) -> list[str]:
    """Split one matched word into PTB tokens: ``don't`` -> ``do n't``, ``shouldn't've`` -> ``should n't 've``.

    The rest of the word is split again, so that no token would split further: tokenizing the tokens joined with
    spaces gives them back. A clitic after a hyphen, slash, apostrophe or ampersand (``a'n't``, ``well-n't``) stays
    in its word, and the rest drops the zero-width (non-)joiners it ends with, as any word does.
    """
    if word in _SPLIT_WORDS:
        return list(_SPLIT_WORDS[word])
    for clitic in ("n't", *_CLITICS):
        if word.endswith(clitic):
            rest = word[: -len(clitic)].rstrip(_JOINERS)
            if rest and rest[-1] not in "-/'&":
                return [*_split_word(rest), clitic]
    return [word]


# HTML element names (WHATWG HTML Living Standard, plus the obsolete ones still found in scraped text), only those
# that show up inside user-written text. A line break or a block element's tag separates words and becomes a space;
# an inline element's tag is dropped with nothing in its place. Page-level names (html, body, title...) are left out
# so that a placeholder such as "<title>" written in a review stays text.
_BLOCK_TAGS = ("br", "p", "div", "hr", "blockquote", "pre", "center", "ul", "ol", "li", "dl", "dt", "dd",
               "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6")
_INLINE_TAGS = ("a", "abbr", "b", "big", "blink", "cite", "code", "del", "em", "font", "i", "img", "ins", "kbd",
                "mark", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "tt", "u", "wbr")
_ATTRIBUTE = r"""\s+[a-z_:][-\w:.]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+)"""
_TAG = re.compile(rf"</?({'|'.join(_BLOCK_TAGS + _INLINE_TAGS)})(?:{_ATTRIBUTE})*\s*/?>", re.IGNORECASE)
_BLOCK = frozenset(_BLOCK_TAGS)
_SPACES = re.compile(r"\s+")


def clean_markup(text: str) -> str:
    """Remove the HTML markup left in text scraped from web pages, such as the IMDB reviews.

    The rules, in order:

    1. A tag is ``<name>``, ``</name>``, ``<name/>`` or ``<name attr="value" ...>``
       where ``name`` is an HTML element name (``br``, ``p``, ``i``, ``b``, ``a``,
       ``font``...; any case) and every attribute has a value. Line breaks and
       block elements (``<br />``, ``<p>``, ``<div>``, ``<li>``...) become a space;
       inline elements (``<i>``, ``</b>``, ``<a href=...>``, ``<span>``...) are
       dropped. Anything else stays text: ``a < b > c``, ``x<y and y>z``
       (``y`` is not an element; an attribute needs ``=``), ``<3``,
       ``<spoiler>`` and ``<title>`` (only elements used inside text count:
       the names are listed in ``_BLOCK_TAGS`` and ``_INLINE_TAGS``) are not tags.
    2. HTML entities are decoded with ``html.unescape``: ``&amp;`` -> ``&``,
       ``&#39;`` -> ``'``, ``&quot;`` -> ``"``, ``&nbsp;`` -> a space. This comes
       after step 1, so an escaped tag (``&lt;i&gt;``) stays as the text ``<i>``.
    3. Runs of whitespace become one space; leading and trailing whitespace is
       removed.

    Args:
        text: the raw text.

    Returns:
        The plain text.

    Raises:
        TypeError: ``text`` is not a ``str``.

    Examples:
        >>> clean_markup("A <i>fine</i> film.<br /><br />Rock &amp; roll, I&#39;d say: 1 < 2 > 0")
        "A fine film. Rock & roll, I'd say: 1 < 2 > 0"
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_markup: expected a str, got {type(text).__name__}")
    if "<" in text:
        text = _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK else "", text)
    if "&" in text:
        text = html.unescape(text)
    return _SPACES.sub(" ", text).strip()


def tokenize(text: str, clean: bool = False) -> list[str]:
    r"""Split ``text`` into lower-case word and punctuation tokens (PTB/SST-2 conventions).

    Text in any script is split on the same rules. It is lower-cased and put
    in Unicode NFC form (after lower-casing, which can itself produce combining
    marks: ``"İ".lower()`` is ``"i"`` + U+0307), so the composed and decomposed
    spellings of a word give the same token: ``"café"`` and ``"cafe\u0301"``
    are both ``['café']``. Combining marks (Unicode categories Mn, Mc, Me) and
    the zero-width non-joiner and joiner (U+200C, U+200D) stay inside their
    word (a joiner at a word's edge is dropped), so a word is never cut before
    a mark: ``"हिन्दी"``, Thai, Vietnamese, Hebrew with points and Arabic with
    harakat are one token per word. A mark after punctuation or a symbol stays
    with it (``"❤\ufe0f"``), as do emoji skin tones, emoji joined by U+200D
    and flags. Invisible format characters never become tokens: a zero-width
    space separates words; soft hyphens, word joiners and bidirectional marks
    are dropped.

    Args:
        text: raw text, or text already tokenized with spaces (SST-2).
        clean: apply [`clean_markup`][minigrad.data.clean_markup] first, for text with HTML markup
            (IMDB reviews: ``<br />`` line breaks, ``&amp;`` entities). Off by
            default, so text is tokenized as written.

    Returns:
        The tokens, in order. Whitespace only separates tokens; it never
        becomes one, so empty or blank text gives ``[]``.

    Raises:
        TypeError: ``text`` is not a ``str``.

    Examples:
        >>> tokenize("Don't miss it -- it's well-made, and only $3.50!")
        ['do', "n't", 'miss', 'it', '--', 'it', "'s", 'well-made', ',', 'and', 'only', '$', '3.50', '!']
        >>> tokenize("it 's a charming and often affecting journey . ")
        ['it', "'s", 'a', 'charming', 'and', 'often', 'affecting', 'journey', '.']
        >>> tokenize('I can\'t say "no"... Mr. Smith saw 1,000 films in the 2nd year.')
        ['i', 'ca', "n't", 'say', '``', 'no', "''", '...', 'mr.', 'smith', 'saw', '1,000', 'films', 'in', 'the',
         '2nd', 'year', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize: expected a str, got {type(text).__name__}")
    if clean:
        text = clean_markup(text)
    text = _normalize(text)
    tokens: list[str] = []
    _tokens(text, _token_pattern(astral=not text.isascii() and max(text) > "\uffff"), tokens)
    return tokens


def _tokens(text: str, pattern: re.Pattern[str], tokens: list[str]) -> None:
    """Append the tokens of normalized ``text`` to ``tokens``."""
    for match in pattern.finditer(text):
        token = match.group(0).strip(_JOINERS)  # a joiner only means something inside a word
        if token != match.group(0):
            # the rest is tokenized on its own: it may now start or end with punctuation ("\u200d'a" is ' a)
            _tokens(token, pattern, tokens)
        elif "'" in token[1:] or token in _SPLIT_WORDS:
            tokens.extend(_split_word(token))
        else:
            tokens.append(token)

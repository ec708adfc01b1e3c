"""``tokenize``: split English text into lower-case words and punctuation, PTB style.

The rules follow the Penn Treebank conventions used by SST-2 and GLUE, so raw
text and already-tokenized SST-2 text give the same tokens and share one
vocabulary:

- contractions are split before the clitic: ``don't`` -> ``do n't``,
  ``can't`` -> ``ca n't``, ``it's`` -> ``it 's``, ``we've`` -> ``we 've``;
  ``cannot``, ``gonna`` and ``wanna`` become ``can not``, ``gon na``, ``wan na``;
- punctuation is split off; a run of one repeated mark is one token
  (``...``, ``--``, ``!!``), and double quotes become PTB's ``````
  (opening) and ``''`` (closing);
- hyphenated words (``well-made``), slashes inside a word (``and/or``, ``1/2``),
  apostrophes inside a word (``o'clock``) and numbers (``3.5``, ``1,000``,
  ``2nd``) stay one token;
- ``mr.``, ``e.t.``, ``u.s.`` and initials (``j. k.``) keep their period.
"""

from __future__ import annotations

import re

__all__ = ["tokenize"]

# Clitics split off the end of a word (``it's`` -> ``it 's``); ``n't`` is handled apart.
_CLITICS = ("'s", "'re", "'ve", "'ll", "'d", "'m")

# Whole words that PTB splits in two.
_SPLIT_WORDS = {"cannot": ("can", "not"), "gonna": ("gon", "na"), "wanna": ("wan", "na"), "gotta": ("got", "ta")}

_ABBREVIATIONS = (
    "mr", "mrs", "ms", "dr", "jr", "sr", "st", "vs", "etc", "prof", "inc", "co", "corp", "ltd", "bros", "al",
    "jan", "feb", "aug", "sept", "oct", "nov", "dec",
)

_TOKEN = re.compile(
    r"""
      (?<![\w.])(?:[^\W\d_]\.){2,}                         # letters with periods: e.t. u.s.a.
    | (?<![\w.])(?:{abbreviations})\.(?!\w)               # mr. vs. etc.
    | (?<![\w.])no\.(?=\s*\d)                             # no. 9
    | (?<![\w.])(?![ai]\.)[^\W\d_]\.(?=\s+\w)               # an initial before more text: j. k. rowling
                                                          # (not "a." or "i.", which mostly end a sentence)
    | 'n'(?!\w)                                           # rock 'n' roll
    | '(?:s|re|ve|ll|d|m|em|til|n|\d\ds?)(?![\w'])         # a clitic already split off: it 's; years: '53 '70s
    | \w+(?:[-/'&]\w+|(?<=\d)[.,:]\d+)*                   # words, hyphenated words, r&b, numbers
    | [?!]+                                               # ?!? is one token
    | ([^\w\s])\1*                                        # other punctuation; a run of one mark is one token
    """.replace("{abbreviations}", "|".join(_ABBREVIATIONS)),
    re.VERBOSE,
)

_OPENING_QUOTE = re.compile(r'(^|(?<=[\s(\[{<]))"')


def _normalize(text: str) -> str:
    """Lower-case, map typographic quotes and ellipses to ASCII, double quotes to `` and ''."""
    text = text.lower()
    if not text.isascii():
        text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u2026", "...")
        text = text.replace("\u201c", " `` ").replace("\u201d", " '' ")
    if '"' in text:
        text = _OPENING_QUOTE.sub(" `` ", text).replace('"', " '' ")
    return text


def _split_word(word: str) -> list[str]:
    """Split one matched word into PTB tokens: ``don't`` -> ``do n't``."""
    if word in _SPLIT_WORDS:
        return list(_SPLIT_WORDS[word])
    if word.endswith("n't") and len(word) > 3:
        return [word[:-3], "n't"]
    for clitic in _CLITICS:
        if word.endswith(clitic) and len(word) > len(clitic):
            return [word[: -len(clitic)], clitic]
    return [word]


def tokenize(text: str) -> list[str]:
    r"""Split ``text`` into lower-case word and punctuation tokens (PTB/SST-2 conventions).

    Args:
        text: raw English text, or text already tokenized with spaces (SST-2).

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
    tokens: list[str] = []
    for match in _TOKEN.finditer(_normalize(text)):
        token = match.group(0)
        if "'" in token[1:] or token in _SPLIT_WORDS:
            tokens.extend(_split_word(token))
        else:
            tokens.append(token)
    return tokens

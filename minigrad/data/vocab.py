"""``Vocab``: a two-way mapping between tokens and integer ids, saved as JSON.

Id 0 is the padding token ``<pad>`` and id 1 the unknown token ``<unk>``; the
other tokens follow by decreasing frequency, ties broken alphabetically, so a
vocabulary built twice from the same texts is identical.

The file written by ``save`` is UTF-8 JSON::

    {"format": "minigrad-vocab", "version": 1, "itos": ["<pad>", "<unk>", "the", ...]}

Tokens are compared in Unicode NFC form: ``"café"`` written with one code point
or as ``"e"`` + U+0301 is one token with one id, whichever form the texts, the
token lists, the lookups or a loaded file use.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from minigrad.data.text import tokenize
from minigrad.io import atomic_write

__all__ = ["PAD", "PAD_ID", "UNK", "UNK_ID", "Vocab"]

PAD, PAD_ID = "<pad>", 0
UNK, UNK_ID = "<unk>", 1
SPECIALS = (PAD, UNK)

FORMAT_NAME = "minigrad-vocab"
FORMAT_VERSION = 1

TextOrTokens = str | Sequence[str]
Tokenizer = Callable[[str], list[str]]


def _nfc(token: str) -> str:
    """``token`` in Unicode NFC form, so that composed and decomposed spellings (``é``, ``e`` + U+0301) are one."""
    return token if token.isascii() else unicodedata.normalize("NFC", token)


def _check_tokens(tokens: object, what: str) -> list[str]:
    """The tokens as a list of ``str`` in NFC form; a ``TypeError`` names the first one that is not a ``str``."""
    if isinstance(tokens, (bytes, bytearray)) or not isinstance(tokens, Iterable):
        raise TypeError(f"{what}: expected a str or a list of str tokens, got {type(tokens).__name__}")
    tokens = list(tokens)
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"{what}: token {i} is a {type(token).__name__} ({token!r}), expected str")
    return [_nfc(token) for token in tokens]


class _TokenIds(Mapping[str, int]):
    """A read-only ``{token: id}`` view that looks tokens up in NFC form."""

    def __init__(self, stoi: dict[str, int]) -> None:
        self._stoi = stoi

    def __getitem__(self, token: str) -> int:
        return self._stoi[_nfc(token) if isinstance(token, str) else token]

    def __contains__(self, token: object) -> bool:
        return (_nfc(token) if isinstance(token, str) else token) in self._stoi

    def __iter__(self) -> Iterator[str]:
        return iter(self._stoi)

    def __len__(self) -> int:
        return len(self._stoi)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._stoi!r})"


class Vocab:
    """Tokens <-> ids, with ``<pad>`` = 0 and ``<unk>`` = 1.

    Build one from training texts with [`Vocab.build`][minigrad.data.Vocab.build], or load one saved
    with [`save`][minigrad.data.Vocab.save] using [`Vocab.load`][minigrad.data.Vocab.load].

    Every token that comes in (``itos``, token lists, the output of a custom
    tokenizer, lookups with ``in``, [`token_to_id`][minigrad.data.Vocab.token_to_id] and
    [`stoi`][minigrad.data.Vocab.stoi]) is put
    in Unicode NFC form first, so the composed and decomposed spellings of a
    token (``"café"`` with one code point or with ``"e"`` + U+0301) share one id.

    Args:
        itos: the tokens in id order; must start with ``"<pad>", "<unk>"`` and
            hold no duplicates.
        tokenizer: splits a ``str`` passed to [`encode`][minigrad.data.Vocab.encode] into tokens.

    Raises:
        ValueError: ``itos`` does not start with ``<pad>``, ``<unk>``, or holds
            a token twice (two spellings of one token in NFC form count as one).

    Examples:
        >>> vocab = Vocab.build(["a good film .", "a bad film ."])
        >>> vocab.itos
        ('<pad>', '<unk>', '.', 'a', 'film', 'bad', 'good')
        >>> vocab.encode("A great film!")
        [3, 1, 4, 1]
        >>> vocab.decode([3, 6, 4, 0, 0])
        ['a', 'good', 'film']
    """

    def __init__(self, itos: Iterable[str], tokenizer: Tokenizer = tokenize) -> None:
        itos = tuple(_check_tokens(itos, "Vocab"))
        if itos[:2] != SPECIALS:
            raise ValueError(f"Vocab: the first two tokens must be {list(SPECIALS)}, got {list(itos[:2])}")
        stoi: dict[str, int] = {}
        for i, token in enumerate(itos):
            if token in stoi:
                nfc = "" if token.isascii() else " (tokens are compared in Unicode NFC form)"
                raise ValueError(f"Vocab: token {token!r} appears twice, at ids {stoi[token]} and {i}{nfc}")
            stoi[token] = i
        self._itos = itos
        self._stoi = stoi
        self.tokenizer = tokenizer

    # -- building ----------------------------------------------------------
    @classmethod
    def build(
        cls,
        texts: Iterable[TextOrTokens],
        min_freq: int = 1,
        max_size: int | None = None,
        tokenizer: Tokenizer = tokenize,
    ) -> Vocab:
        """Count the tokens of ``texts`` and keep the frequent ones.

        Args:
            texts: strings (split with ``tokenizer``) or lists of tokens, or a mix.
            min_freq: keep tokens seen at least this many times.
            max_size: the most entries, ``<pad>`` and ``<unk>`` included (the
                rows of an embedding table); None keeps every token that passes
                ``min_freq``. The most frequent tokens are kept.
            tokenizer: used on ``str`` texts here and later by [`encode`][minigrad.data.Vocab.encode].

        Returns:
            The vocabulary: ``<pad>``, ``<unk>``, then tokens by decreasing
            count, ties in alphabetical order. Literal ``<pad>``/``<unk>``
            tokens in the texts are not counted again.
        """
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be an int >= 1, got {min_freq!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < len(SPECIALS)):
            raise ValueError(f"Vocab.build: max_size must be None or an int >= 2 (it counts <pad> and <unk>), "
                             f"got {max_size!r}")
        if isinstance(texts, str):
            raise TypeError("Vocab.build: texts must be a list of texts, got a single str")
        counts: Counter[str] = Counter()
        for i, text in enumerate(texts):
            tokens = _check_tokens(tokenizer(text) if isinstance(text, str) else text, f"Vocab.build: text {i}")
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls(SPECIALS + tuple(ranked), tokenizer=tokenizer)

    # -- lookups -----------------------------------------------------------
    @property
    def itos(self) -> tuple[str, ...]:
        """The tokens in id order (``itos[i]`` is the token of id ``i``)."""
        return self._itos

    @property
    def stoi(self) -> Mapping[str, int]:
        """Read-only ``{token: id}``, looked up in NFC form; a missing token raises ``KeyError``.

        Use [`token_to_id`][minigrad.data.Vocab.token_to_id] for ``<unk>``'s id instead of a ``KeyError``.
        """
        return _TokenIds(self._stoi)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return (_nfc(token) if isinstance(token, str) else token) in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self._itos[:6])
        return f"Vocab({len(self)} tokens: {shown}{', ...' if len(self) > 6 else ''})"

    def token_to_id(self, token: str) -> int:
        """The id of ``token`` (in NFC form), or ``1`` (``<unk>``) for a token not in the vocabulary."""
        return self._stoi.get(_nfc(token) if isinstance(token, str) else token, UNK_ID)

    def encode(self, text: TextOrTokens) -> list[int]:
        """Ids of a text (split with the vocabulary's tokenizer) or of a list of tokens.

        Args:
            text: a ``str``, or an already tokenized list of ``str``.

        Returns:
            One id per token, ``1`` (``<unk>``) for unknown tokens: length T.
        """
        tokens = _check_tokens(self.tokenizer(text) if isinstance(text, str) else text, "Vocab.encode")
        get = self._stoi.get
        return [get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> list[str]:
        """Tokens of a sequence of ids (a list or a 1-d array, shape (T,)).

        Args:
            ids: integer ids in ``[0, len(self))``.
            skip_pad: leave out ``<pad>`` (id 0) tokens.

        Raises:
            ValueError: an id is not an integer in ``[0, len(self))``; the message gives its position.
        """
        tokens = []
        for position, i in enumerate(ids):
            if isinstance(i, bool) or not hasattr(i, "__index__"):
                raise ValueError(f"Vocab.decode: id at position {position} is {i!r}, expected an int")
            i = i.__index__()
            if not 0 <= i < len(self._itos):
                raise ValueError(f"Vocab.decode: id {i} at position {position} is outside [0, {len(self._itos)})")
            if skip_pad and i == PAD_ID:
                continue
            tokens.append(self._itos[i])
        return tokens

    # -- files -------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary to ``path`` as UTF-8 JSON, atomically
        ([`minigrad.io.atomic_write`][minigrad.io.atomic_write]:
        a crash never leaves half a file). The tokenizer is not saved: pass it again to
        [`load`][minigrad.data.Vocab.load].

        Raises:
            FileNotFoundError: the folder of ``path`` does not exist.
        """
        text = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "itos": list(self._itos)},
                          ensure_ascii=False, indent=0)
        with atomic_write(path, "w", who="Vocab.save") as f:
            f.write(text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike, tokenizer: Tokenizer = tokenize) -> Vocab:
        """Read a vocabulary written by [`save`][minigrad.data.Vocab.save].

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: the file is not a minigrad vocabulary (bad JSON, wrong
                format, token list missing or invalid); the message names the
                path and, for bad JSON, the line and column.
        """
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"Vocab.load: no such file {path!r}") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"Vocab.load: {path!r} is not UTF-8 text (byte {e.start})") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            where = f"{path!r} line {e.lineno} column {e.colno}"
            raise ValueError(f"Vocab.load: {where}: not valid JSON: {e.msg}") from None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
            raise ValueError(f"Vocab.load: {path!r} is not a minigrad vocabulary: expected a JSON object with "
                             f'"format": "{FORMAT_NAME}"')
        if obj.get("version") != FORMAT_VERSION:
            raise ValueError(f"Vocab.load: {path!r} has vocabulary format version {obj.get('version')!r}; "
                             f"this minigrad reads version {FORMAT_VERSION}")
        itos = obj.get("itos")
        if not isinstance(itos, list):  # a bad file, not a bad argument: ValueError like the other file errors
            message = f'Vocab.load: {path!r}: "itos" must be a list of tokens, got {type(itos).__name__}'
            raise ValueError(message)  # noqa: TRY004
        try:
            return cls(itos, tokenizer=tokenizer)
        except (TypeError, ValueError) as e:
            raise ValueError(f'Vocab.load: {path!r}: invalid "itos": {e}') from None

"""Unicode in the text pipeline: NFC normalisation and combining marks wherever text becomes tokens, ids or characters.

The same text written with composed characters (NFC, "é" = U+00E9) or decomposed ones (NFD, "e" + U+0301) must give
the same tokens, ids, labels and characters, and a combining mark (Unicode categories Mn, Mc, Me) must never be cut
off its word.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.cli import load_example, main
from minigrad.data import Vocab, read_labeled_text, tokenize
from minigrad.data.text import _token_pattern


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def is_mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


# -- tokenize: composed and decomposed forms -------------------------------------

def test_tokenize_reported_example_is_one_word():
    assert tokenize("cafe\u0301") == ["caf\u00e9"]
    assert tokenize("caf\u00e9") == ["caf\u00e9"]


NFC_NFD_CASES = [
    ("Café crème, s'il vous plaît!", ["café", "crème", ",", "s'il", "vous", "plaît", "!"]),
    ("Tiếng Việt rất hay", ["tiếng", "việt", "rất", "hay"]),  # two stacked marks on one letter
    ("ÅNGSTRÖM Ñandú", ["ångström", "ñandú"]),
    ("the naïve résumé's end", ["the", "naïve", "résumé", "'s", "end"]),
    ("Mr. Ĵ. K. Öz", ["mr.", "ĵ.", "k.", "öz"]),  # initials with a mark keep their period
    ("한국어 텍스트", ["한국어", "텍스트"]),  # Hangul: NFD is conjoining jamo
    ("ΟΔΥΣΣΕΎΣ", ["οδυσσεύς"]),  # final sigma after a decomposed accent
]


@pytest.mark.parametrize(("text", "expected"), NFC_NFD_CASES, ids=[c[0][:16] for c in NFC_NFD_CASES])
def test_tokenize_nfc_and_nfd_give_the_same_nfc_tokens(text, expected):
    assert tokenize(nfc(text)) == expected
    assert tokenize(nfd(text)) == expected
    assert all(unicodedata.is_normalized("NFC", token) for token in expected)


def test_lower_casing_that_makes_a_mark_gives_one_normalised_token():
    # "İ".lower() is "i" + U+0307 COMBINING DOT ABOVE in Python; the Turkish dotted capital's lower case is
    # plain "i", so a capitalised word and its lower-case form are one token
    assert "İ".lower() == "i\u0307"
    assert tokenize("İstanbul") == ["istanbul"]
    assert tokenize("İyi iyi") == ["iyi", "iyi"]
    assert tokenize("İSTANBUL'S bridges") == ["istanbul", "'s", "bridges"]
    # U+0130 followed by a combining acute: "i" + U+0301, composed by NFC
    assert tokenize("İ\u0301x") == [nfc("i\u0301x")]
    # other marks that lower() or decomposed input bring stay inside their word
    assert tokenize("Ǆemal i\u0307x") == [nfc("ǆemal"), nfc("i\u0307x")]
    assert all(unicodedata.is_normalized("NFC", t) for t in tokenize("İstanbul İzmir"))


# -- tokenize: scripts written with combining marks ------------------------------

SCRIPT_CASES = [
    ("devanagari", "हिन्दी", ["हिन्दी"]),  # virama and vowel signs (Mn, Mc)
    ("devanagari-two", "हिन्दी भाषा", ["हिन्दी", "भाषा"]),
    ("thai", "ภาษาไทย ง่าย", ["ภาษาไทย", "ง่าย"]),  # vowel and tone marks
    ("tamil", "தமிழ் மொழி", ["தமிழ்", "மொழி"]),
    ("bengali", "বাংলা ভাষা", ["বাংলা", "ভাষা"]),
    ("hebrew-points", "שָׁלוֹם עֲלֵיכֶם", ["שָׁלוֹם", "עֲלֵיכֶם"]),
    ("arabic-harakat", "مَرْحَبًا بِكُمْ", ["مَرْحَبًا", "بِكُمْ"]),
    ("tibetan", "ཀོང་ཇོ", ["ཀོང", "་", "ཇོ"]),  # vowel signs stay; the tsheg (syllable mark) is punctuation
    ("brahmi", "𑀩𑀼𑀤𑁆𑀥", ["𑀩𑀼𑀤𑁆𑀥"]),  # marks outside the BMP
    ("enclosing-mark", "x\u20dd y", ["x\u20dd", "y"]),  # Me
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in SCRIPT_CASES], ids=[c[0] for c in SCRIPT_CASES])
def test_tokenize_keeps_combining_marks_in_their_word(text, expected):
    assert tokenize(text) == expected
    assert tokenize(nfd(text)) == expected
    assert not any(is_mark(token[0]) for token in tokenize(text))


def test_zero_width_joiners_stay_inside_words():
    assert tokenize("می\u200cخواهم") == ["می\u200cخواهم"]  # Persian: ZWNJ inside the word
    assert tokenize("می\u200cخواهم بروم") == ["می\u200cخواهم", "بروم"]
    assert tokenize("क्\u200dष") == ["क्\u200dष"]  # Devanagari: ZWJ for a half form
    assert tokenize("ක්\u200dර") == ["ක්\u200dර"]  # Sinhala
    # at the edges of a word, or alone, a joiner joins nothing: it is dropped, never a token
    assert tokenize("\u200cمی\u200c خواهم\u200d!") == ["می", "خواهم", "!"]
    assert tokenize("a \u200d b \u200c") == ["a", "b"]


def test_marks_after_punctuation_and_symbols_stay_with_them():
    assert tokenize("I ❤\ufe0f it") == ["i", "❤\ufe0f", "it"]  # variation selector (Mn)
    assert tokenize("press #\ufe0f\u20e3 or 1\ufe0f\u20e3") == ["press", "#\ufe0f\u20e3", "or", "1\ufe0f\u20e3"]
    assert tokenize("ok 👍🏽!") == ["ok", "👍🏽", "!"]  # skin-tone modifier
    assert tokenize("👨\u200d👩\u200d👧 family") == ["👨\u200d👩\u200d👧", "family"]  # one emoji sequence
    assert tokenize("🇫🇷🇩🇪") == ["🇫🇷", "🇩🇪"]  # two flags
    assert tokenize("wow!!\u0301 ...") == ["wow", "!!\u0301", "..."]
    assert tokenize("3.5\u20e3 stars") == ["3.5\u20e3", "stars"]


def test_astral_characters_elsewhere_do_not_change_the_other_tokens():
    text = "हिन्दी café, it's mr. smith's 1,000 films!"
    expected = ["हिन्दी", "café", ",", "it", "'s", "mr.", "smith", "'s", "1,000", "films", "!"]
    assert tokenize(text) == expected
    assert tokenize(text + " 😀") == [*expected, "😀"]
    # the patterns with and without the marks outside the BMP agree on text inside the BMP
    normalized = nfc(text.lower())
    assert _token_pattern(astral=False).findall(normalized) == _token_pattern(astral=True).findall(normalized)


def test_invisible_format_characters_never_become_tokens():
    assert tokenize("co\u00adoperate") == ["cooperate"]  # soft hyphen
    assert tokenize("a\u200bb") == ["a", "b"]  # zero-width space separates
    assert tokenize("\u200fשלום\u200f, \u202bעולם\u202c") == ["שלום", ",", "עולם"]  # bidirectional marks
    assert tokenize("\ufeffhello wor\u2060ld") == ["hello", "world"]  # byte-order mark, word joiner


def test_english_text_is_unchanged():
    text = 'I can\'t say "no"... Mr. Smith saw 1,000 films in the 2nd year -- it\'s well-made.'
    assert tokenize(text) == ["i", "ca", "n't", "say", "``", "no", "''", "...", "mr.", "smith", "saw", "1,000",
                              "films", "in", "the", "2nd", "year", "--", "it", "'s", "well-made", "."]


LETTERS = "aeiouncsyAEIOUNCSY" + "क" + "ท" + "ب" + "ש" + "ი"
MARKS = "\u0300\u0301\u0302\u0303\u0308\u0323\u0327\u0307\u093f\u094d\u0e48\u064e\u05b8"


@st.composite
def marked_text(draw: st.DrawFn) -> str:
    """Words of letters, each followed by up to three combining marks, separated by spaces and punctuation."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        for _ in range(draw(st.integers(1, 5))):
            parts.append(draw(st.sampled_from(LETTERS)) + "".join(draw(st.lists(st.sampled_from(MARKS), max_size=3))))
        parts.append(draw(st.sampled_from([" ", ", ", ". ", "-", "/", "!", "; "])))
    return "".join(parts)


@settings(max_examples=200, deadline=None)
@given(marked_text())
def test_a_word_is_never_split_before_a_mark(text):
    tokens = tokenize(text)
    assert tokenize(nfd(text)) == tokens == tokenize(nfc(text))
    assert all(unicodedata.is_normalized("NFC", t) for t in tokens)
    assert not any(is_mark(t[0]) for t in tokens)  # every mark here follows a letter: none starts a token
    lowered = nfc(text).replace("\u0130", "i").lower()  # Turkish İ lower-cases to plain i
    assert "".join(tokens) == "".join(nfc(lowered).split())  # nothing lost
    assert tokenize(" ".join(tokens)) == tokens  # stable on its own output, as for English


# -- Vocab -----------------------------------------------------------------------

def test_vocab_ids_are_equal_for_both_forms():
    vocab = Vocab.build(["un café crème", "cafe\u0301 noir"])
    assert vocab.itos == ("<pad>", "<unk>", "café", "crème", "noir", "un")
    assert vocab.encode(nfd("Café crème")) == vocab.encode("Café crème") == [2, 3]
    assert vocab.encode([nfd("café"), "crème"]) == [2, 3]


def test_vocab_counts_both_forms_of_token_lists_as_one():
    vocab = Vocab.build([[nfd("été")], ["été"], ["b"]], min_freq=2)
    assert vocab.itos == ("<pad>", "<unk>", "été")


def test_vocab_normalizes_the_output_of_a_custom_tokenizer():
    vocab = Vocab.build([nfd("Été chaud")], tokenizer=str.split)
    assert vocab.itos == ("<pad>", "<unk>", "chaud", "Été")  # not lower-cased: str.split keeps the case
    assert vocab.encode("Été chaud") == vocab.encode(nfd("Été chaud")) == [3, 2]


def test_vocab_lookups_accept_either_form():
    vocab = Vocab.build(["हिन्दी café"])
    for token in ("café", nfd("café")):
        assert token in vocab
        assert token in vocab.stoi
        assert vocab.token_to_id(token) == vocab.stoi[token] == vocab.itos.index("café")
    assert vocab.token_to_id("cafe") == 1
    assert vocab.decode(vocab.encode(nfd("हिन्दी café"))) == ["हिन्दी", "café"]
    assert dict(vocab.stoi) == {t: i for i, t in enumerate(vocab.itos)}
    with pytest.raises(TypeError):
        vocab.stoi["new"] = 5  # still read-only


def test_vocab_itos_is_normalized_and_both_forms_are_one_token():
    vocab = Vocab(["<pad>", "<unk>", nfd("crème")])
    assert vocab.itos == ("<pad>", "<unk>", "crème")
    assert vocab == Vocab(["<pad>", "<unk>", "crème"])
    with pytest.raises(ValueError, match="'café' appears twice, at ids 2 and 3 .*NFC"):
        Vocab(["<pad>", "<unk>", "café", nfd("café")])


def test_vocab_load_normalizes_a_decomposed_file(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"format": "minigrad-vocab", "version": 1, "itos": ["<pad>", "<unk>", nfd("café")]}),
                    encoding="utf-8")
    vocab = Vocab.load(path)
    assert vocab.itos == ("<pad>", "<unk>", "café")
    assert vocab.encode("café") == [2]
    vocab.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["itos"] == ["<pad>", "<unk>", "café"]


# -- read_labeled_text ------------------------------------------------------------

def test_reader_returns_nfc_texts_and_labels(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text(nfd("sentence\tlabel\nun café crème\tpositif\nune soirée ratée\tnégatif\n"), encoding="utf-8")
    texts, labels = read_labeled_text(path)
    assert texts == ["un café crème", "une soirée ratée"]
    assert labels == ["positif", "négatif"]
    # labels given in the other form still match
    assert read_labeled_text(path, labels={"positif", "négatif"})[1] == ["positif", "négatif"]
    composed = tmp_path / "valid.tsv"
    composed.write_text("sentence\tlabel\nbien\tnégatif\n", encoding="utf-8")
    assert read_labeled_text(composed, labels=[nfd("négatif")])[1] == ["négatif"]


def test_reader_column_names_match_in_either_form(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(nfd("critique,étiquette\nbon film,1\n"), encoding="utf-8")
    assert read_labeled_text(path, text_column="critique", label_column="étiquette") == (["bon film"], [1])


def test_reader_line_numbers_are_unchanged_by_normalisation(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text(nfd("sentence\tlabel\ncafé\t1\nthé sans label\n"), encoding="utf-8")
    with pytest.raises(ValueError, match="line 3: expected 2 fields"):
        read_labeled_text(path)


# -- the charlm example ------------------------------------------------------------

def test_charlm_vocabulary_treats_both_forms_alike(tmp_path):
    lm = load_example("charlm")
    text = "Un été à Noël, crème brûlée."
    assert lm.vocabulary(nfd(text)) == lm.vocabulary(text) == "".join(sorted(set(text)))
    assert "\u0301" not in lm.vocabulary(nfd(text))
    path = tmp_path / "t.txt"
    path.write_text(nfd(text), encoding="utf-8")
    assert lm.read_text(path) == text


def test_charlm_learns_nfc_characters_from_a_decomposed_file(tmp_path):
    text = tmp_path / "nfd.txt"
    text.write_text(nfd("Un été à Noël, une crème brûlée et un café. ") * 60, encoding="utf-8")
    metrics = tmp_path / "m.json"
    args = ["run", "charlm", "--text", str(text), "--hidden", "8", "--embed", "4", "--batch-size", "4", "--bptt", "10",
            "--epochs", "1", "--sample-length", "5", "--seed", "0", "--quiet", "--metrics", str(metrics),
            "--prompt", nfd("Un é")]  # the prompt, too, may be typed in either form
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    m = json.loads(metrics.read_text())
    assert m["vocab"] == "".join(sorted(set("Un été à Noël, une crème brûlée et un café. ")))
    assert m["prompt"] == "Un é"

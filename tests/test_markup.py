"""clean_markup and tokenize(clean=True): HTML tags, line breaks and entities in scraped text (IMDB reviews)."""

from __future__ import annotations

import pytest

from minigrad.data import clean_markup, tokenize


@pytest.mark.parametrize(("text", "expected"), [
    # line breaks, any case and spelling, become a space
    ("Great film.<br /><br />Go see it.", "Great film. Go see it."),
    ("a<br>b<BR>c<Br/>d<bR  />e", "a b c d e"),
    # block tags separate words; inline tags vanish without a space
    ("end</p><p>start", "end start"),
    ("<i>Titanic</i>'s score is <b>great</b>", "Titanic's score is great"),
    ("<a href=\"http://x.org/?a=1&amp;b=2\">link</a>!", "link!"),
    ("<font color=red size='2'>big</font>", "big"),
    ('<img src="poster.png"/>poster', "poster"),
    ("<EM>loud</EM>", "loud"),
    # entities are decoded after the tags, so an escaped tag stays text
    ("Rock &amp; roll, I&#39;d say &quot;yes&quot;", 'Rock & roll, I\'d say "yes"'),
    ("&lt;i&gt;not a tag&lt;/i&gt;", "<i>not a tag</i>"),
    ("a&nbsp;&nbsp;b", "a b"),
    ("&H; and &A; stay", "&H; and &A; stay"),
    # not tags: comparisons, hearts, made-up or page-level names, attributes without values
    ("a < b > c", "a < b > c"),
    ("x<y and y>z", "x<y and y>z"),
    ("if a<b and b>c", "if a<b and b>c"),
    ("I <3 this", "I <3 this"),
    ("<sigh> fine <SPOILER>he dies</SPOILER>", "<sigh> fine <SPOILER>he dies</SPOILER>"),
    ("<<Title>>", "<<Title>>"),
    # whitespace runs collapse; the ends are stripped
    ("  two\n\nlines \t here  ", "two lines here"),
    ("", ""),
])
def test_clean_markup(text, expected):
    assert clean_markup(text) == expected


def test_clean_markup_is_idempotent_on_clean_text():
    text = "Rock & roll, I'd say: 1 < 2 > 0"
    assert clean_markup(text) == text
    assert clean_markup(clean_markup("a<br />b &amp; c")) == "a b & c"


def test_clean_markup_rejects_non_text():
    with pytest.raises(TypeError, match="clean_markup: expected a str, got bytes"):
        clean_markup(b"<br />")


def test_tokenize_clean_keyword():
    review = "A <i>fine</i> film.<br /><br />Rock &amp; roll!"
    assert tokenize(review, clean=True) == ["a", "fine", "film", ".", "rock", "&", "roll", "!"]
    assert tokenize(review, clean=True) == tokenize(clean_markup(review))


def test_tokenize_default_leaves_markup_alone():
    """clean=False (the default) tokenizes exactly what is written, as before the keyword existed."""
    assert tokenize("great<br />film") == ["great", "<", "br", "/", ">", "film"]
    assert tokenize("great<br />film", clean=False) == tokenize("great<br />film")
    assert tokenize("rock &amp; roll") == ["rock", "&", "amp", ";", "roll"]


def test_tokenize_clean_still_checks_type():
    with pytest.raises(TypeError, match="tokenize: expected a str"):
        tokenize(None, clean=True)

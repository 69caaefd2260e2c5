"""The message catalogue: every id in both languages with the same fields, Persian rendering, language choice."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import jinef
from jinef.common.messages import catalogue, language_from_environment, message, negotiate
from jinef.common.messages.catalogue import Catalogue, CatalogueError, placeholders
from jinef.common.messages.language import parse_language
from jinef.model import postcode as pc

_LATIN_LETTERS = re.compile(r"[A-Za-z]")
_PERSIAN_LETTERS = re.compile(r"[\u0600-\u06ff]")


def test_every_message_has_both_languages_with_the_same_fields() -> None:
    c = catalogue()
    assert len(c.ids()) > 100
    for mid in c.ids():
        en, fa = c.template(mid, "en"), c.template(mid, "fa")
        assert placeholders(en) == placeholders(fa), mid
        literal = re.sub(r"\{[^}]*\}", "", fa)
        # A Persian text is Persian: it has Persian letters (names of fields and codes may stay Latin).
        assert _PERSIAN_LETTERS.search(fa) or not _LATIN_LETTERS.search(literal), mid
        # Literal numbers a Persian reader reads are written in Persian digits.
        assert not re.search(r"[0-9]", re.sub(r"UTF-\d+|HTTP|/v1/\S*|X-API-Key", "", literal)), (mid, fa)


def test_a_catalogue_entry_without_both_texts_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.toml"
    bad.write_text('[postcode.rule.empty]\nen = "the postcode is empty"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"postcode\.rule\.empty"):
        Catalogue.load(bad)


def test_a_message_asked_with_wrong_fields_or_id_fails_where_it_is_made() -> None:
    with pytest.raises(CatalogueError, match="limit"):
        message("api.body_too_large")
    with pytest.raises(CatalogueError, match="no message"):
        message("api.no_such_message")


def test_persian_rendering_uses_persian_digits_and_punctuation_but_keeps_latin_fields() -> None:
    m = pc.validate("13457").error()
    assert m.text("en") == "invalid postcode '13457': a postcode has exactly 10 digits"
    assert m.text("fa") == "کد پستی «۱۳۴۵۷» نادرست است: کد پستی باید دقیقاً ۱۰ رقم باشد"
    two = pc.validate("12345").error()
    assert "؛ " in two.text("fa") and "; " in two.text("en")
    internal = message("api.internal_error", request_id="ab12cd34")
    assert "ab12cd34" in internal.text("fa") and "خطای داخلی" in internal.text("fa")
    shrink = message("replace.shrink", where="r.sqlite", current=12345, left=100, lost=0.99, most=0.1)
    assert "12,345 units" in shrink.text("en") and "(99% fewer; at most 10% may go" in shrink.text("en")
    assert "۱۲٬۳۴۵ واحد" in shrink.text("fa") and "(۹۹٪ کمتر؛ حداکثر ۱۰٪" in shrink.text("fa")
    # A fraction's point is Persian's decimal separator; a Latin field keeps its own.
    compiled = message("cli.index.compiled", units=1234, seconds=2.5, mb=1.25, path="r.image/g1.5")
    assert compiled.text("en") == "compiled the read image of 1,234 units in 2.5 s (1 MB) into r.image/g1.5"
    assert "۱٬۲۳۴ واحد در ۲٫۵ ثانیه در r.image/g1.5" in compiled.text("fa"), compiled.text("fa")


def test_every_literal_message_id_in_the_code_is_in_the_catalogue() -> None:
    """Ids written in the code exist (a typo would fail only when that error is met); f-string ids' fixed
    prefixes name a topic of the catalogue."""
    root = Path(jinef.__file__).parent
    ids = catalogue().ids()
    seen = 0
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None) and getattr(node.func, "id", getattr(node.func, "attr", None))
            if not (isinstance(node, ast.Call) and name == "message" and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                assert first.value in catalogue(), f"{path.relative_to(root)}:{node.lineno}: {first.value}"
                seen += 1
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                prefix = str(first.values[0].value)
                assert any(i.startswith(prefix) for i in ids), f"{path.relative_to(root)}:{node.lineno}: {prefix}"
    assert seen > 60
    # Ids made from a fixed set: every one exists.
    for what in ("postcode", "building", "request"):
        assert f"edit.unknown_{what}" in catalogue()


@pytest.mark.parametrize(("header", "language"), [
    (None, "en"), ("", "en"), ("fa", "fa"), ("fa-IR", "fa"), ("FA-ir,en;q=0.5", "fa"),
    ("en-US,en;q=0.9,fa;q=0.8", "en"), ("de-DE, fa;q=0.5", "fa"), ("fa;q=0, en", "en"), ("fa;q=0", "en"),
    ("*", "en"), ("de, fr", "en"), ("en;q=0.4, fa;q=0.6", "fa"), ("fa;q=abc", "en"),
])
def test_accept_language_with_q_values(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_cli_language_from_locale_variables_and_option() -> None:
    assert language_from_environment({"LANG": "fa_IR.UTF-8"}) == "fa"
    assert language_from_environment({"LANG": "fa_IR.UTF-8", "LC_ALL": "C.UTF-8"}) == "en"
    assert language_from_environment({"LC_MESSAGES": "fa_IR", "LANG": "en_US"}) == "fa"
    assert language_from_environment({}) == "en"
    assert parse_language("FA") == "fa" and parse_language("en-GB") == "en"
    with pytest.raises(ValueError, match="de"):
        parse_language("de")

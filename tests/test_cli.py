"""The CLI's convention (exit 0 all answered, 1 some not found or invalid, 2 usage errors), its JSON interfaces that
outside checks rely on, and output that stays whole when piped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from jinef.api.schemas import Location, StructuredAddress
from jinef.cli.main import app
from jinef.model.address import EXPORT_COLUMNS, Address
from jinef.read.registry.registry import Registry

UNKNOWN = "1341799999"  # follows every rule, and no registry built by the tests holds it
JINEF = [sys.executable, "-m", "jinef.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process (for tests that need one: signals, forked workers, real pipes)."""
    return subprocess.run([*JINEF, *args], capture_output=True, text=True, timeout=120)


def jinef(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process; stdout and stderr apart, as a pipe sees them (not a terminal)."""
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def first(small_registry: Path) -> Address:
    """A unit of the small registry."""
    with Registry.open(small_registry) as reg:
        return next(reg.addresses())


def test_version() -> None:
    r = jinef("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"jinef {version('jinef')}"


def test_validate_json() -> None:
    r = jinef("validate", "۱۳۴۵۶-۷۸۹۰۱", "12345", "--json")
    out = json.loads(r.stdout)
    assert out[0] == {"input": "۱۳۴۵۶-۷۸۹۰۱", "postcode": "1345678901", "valid": True, "reasons": []}
    assert out[1]["valid"] is False and out[1]["postcode"] is None
    assert set(out[1]["reasons"]) == {"wrong_length", "zero_or_two_in_first_five"}
    assert r.exit_code == 1


def test_lookup_answers_every_input_and_exits_1(small_registry: Path, first: Address) -> None:
    r = jinef("lookup", first.postcode, UNKNOWN, "9999999999", "1234", "--db", str(small_registry))
    assert r.exit_code == 1, r.output
    assert r.stdout.splitlines() == [
        f"{first.postcode}: {first.standard_address}",
        f"{UNKNOWN}: not found",
        "9999999999: invalid: a postcode is never one digit repeated ten times",
        "1234: invalid: a postcode has exactly 10 digits; the first five digits never contain 0 or 2",
    ]


def test_lookup_exit_codes_agree_with_and_without_json(small_registry: Path, first: Address) -> None:
    for extra in ((), ("--json",)):
        assert jinef("lookup", UNKNOWN, *extra, "--db", str(small_registry)).exit_code == 1, extra
        assert jinef("lookup", first.postcode, *extra, "--db", str(small_registry)).exit_code == 0, extra


def test_lookup_json_in_order_with_null_typed_as_http(small_registry: Path, first: Address) -> None:
    r = jinef("lookup", first.postcode, UNKNOWN, "12", "--json", "--db", str(small_registry))
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out[1] is None and out[2] is None
    assert list(out[0]) == list(EXPORT_COLUMNS)
    assert out[0]["postcode"] == first.postcode and out[0]["address"] == first.standard_address
    # Typed as the HTTP lookup's structured address and location (floor a number or null, lat/lon numbers).
    StructuredAddress.model_validate({k: out[0][k] for k in StructuredAddress.model_fields}, strict=True)
    Location.model_validate({"lat": out[0]["lat"], "lon": out[0]["lon"], "source": "", "quality": 3}, strict=True)
    assert out[0]["lat"] == first.lat and out[0]["floor"] == first.floor
    assert f"not found: {UNKNOWN}" in r.stderr and "invalid postcode '12': a postcode has exactly 10 digits" in r.stderr


def test_lookup_json_floor_is_a_number(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        flat = next(a for a in reg.addresses() if a.floor)
    out = json.loads(jinef("lookup", flat.postcode, "--json", "--db", str(small_registry)).stdout)
    assert out[0]["floor"] == flat.floor and isinstance(out[0]["floor"], int)


def test_usage_errors_exit_2(small_registry: Path, tmp_path: Path) -> None:
    db = ("--db", str(small_registry))
    missing = str(tmp_path / "missing.csv")
    for args in (("lookup", *db), ("lookup", "--file", missing, *db), ("lookup", "--no-such-option"),
                 ("geocode", missing, *db), ("geocode", *db), ("reverse", missing, *db),
                 ("reverse", "--point", "1,2,3", *db), ("import", missing), ("export", "--format", "xml")):
        r = jinef(*args)
        assert r.exit_code == 2, (args, r.output)


def test_import_format_from_the_extension_or_a_usage_error(tmp_path: Path) -> None:
    unknown = tmp_path / "records.txt"
    unknown.write_text('{"postcode": "1345678901"}\n', encoding="utf-8")
    r = jinef("import", str(unknown), "--db", str(tmp_path / "r.sqlite"))
    assert r.exit_code == 2
    assert "cannot tell the format" in r.stderr and "--format csv or --format jsonl" in r.stderr
    assert not (tmp_path / "r.sqlite").exists()


def test_piped_output_is_never_wrapped(small_registry: Path, first: Address) -> None:
    stats = jinef("stats", "--db", str(small_registry)).stdout
    assert any("آذربایجان شرقی" in line for line in stats.splitlines())
    assert not any(line.rstrip(" │").endswith("آذربایجان") for line in stats.splitlines())
    # A line longer than any terminal stays one line.
    r = jinef("lookup", first.postcode, first.postcode, "--db", str(small_registry))
    assert r.stdout.splitlines() == [f"{first.postcode}: {first.standard_address}"] * 2


def test_keys_create_help_lists_every_scope() -> None:
    from jinef.api.servicedb import KNOWN_SCOPES

    text = " ".join(jinef("keys", "create", "--help").stdout.replace("│", " ").split())
    assert "…" not in text
    assert all(re.search(rf"\b{scope}[,;]", text) for scope in KNOWN_SCOPES), text


def test_development_key_with_every_scope(tmp_path: Path) -> None:
    from jinef.api.servicedb import KNOWN_SCOPES

    r = jinef("keys", "create", "--org", "development", "--scopes", "all", "--service-db",
              str(tmp_path / "service.sqlite"), "--json")
    assert r.exit_code == 0, r.output
    assert sorted(json.loads(r.stdout)["scopes"]) == sorted(KNOWN_SCOPES)


def test_stats_json(small_registry: Path) -> None:
    out = json.loads(jinef("stats", "--json", "--db", str(small_registry)).stdout)
    assert len(out) == 31
    assert {"province", "units", "buildings", "thoroughfares", "localities", "geocoded_share"} <= set(out[0])
    assert sum(p["units"] for p in out) == 20000


_ENGLISH_WORDS = re.compile(r"\b(the|is|not|no|give|use|of|at|or|must|has|when|unknown|file|found)\b", re.IGNORECASE)


def test_cli_errors_follow_lang(small_registry: Path, tmp_path: Path) -> None:
    """The usual errors (a missing file or registry, a bad --format, extension, column, encoding, point or usage)
    are Persian with `--lang fa` (no English sentence, Persian digits) and English with `--lang en`; exit codes as
    without --lang."""
    db = ("--db", str(small_registry))
    missing = str(tmp_path / "missing.csv")
    records = tmp_path / "records.txt"
    records.write_text('{"postcode": "1345678901"}\n', encoding="utf-8")
    codes = tmp_path / "codes.csv"
    codes.write_text("code\n1345678901\n", encoding="utf-8")
    nope = str(tmp_path / "nope.sqlite")
    cases: list[tuple[tuple[str, ...], int, str, str]] = [  # args, exit code, Persian text, English text
        (("lookup", "--file", missing, *db), 2, "یافت نشد", "no such file"),
        (("lookup", *db), 2, "کدهای پستی", "give postcodes"),
        (("lookup", "--file", str(codes), *db), 2, "ستون postcode در سرستون‌ها (code)",
         "column(s) postcode not in the header (code)"),
        (("lookup", "1345678901", "--db", nope), 2, "تصویر خواندنی نیست", "no read image at"),
        (("stats", "--db", nope), 2, "ثبتی نیست", "no registry at"),
        (("export", "--format", "xml"), 2, "«xml» شناخته نیست", "unknown --format 'xml'"),
        (("import", str(records), "--db", nope), 2, "از پسوند «.txt»", "cannot tell the format"),
        (("reverse", "--point", "1,2,3", *db), 2, "باید به شکل LAT,LON باشد", "--point must be LAT,LON"),
        (("reverse", "--point", "91,49", *db), 1, "عرض جغرافیایی باید میان منفی ۹۰ و ۹۰ باشد",
         "lat must be between -90 and 90"),
        (("reverse", str(codes), "--encoding", "klingon", *db), 2, "رمزگذاری ‎--encoding «klingon» شناخته نیست",
         "unknown --encoding 'klingon'"),
        (("geocode", *db), 2, "--query TEXT", "give either INPUT.csv"),
        (("batch", "sort", missing, "-o", str(tmp_path / "out.csv")), 2, "«sort» شناخته نیست",
         "unknown batch kind"),
        (("units", "update", "1345678901", "--set", "floor", *db), 2, "به شکل FIELD=VALUE", "write FIELD=VALUE"),
        (("keys", "create", "--org", "bank", "--scopes", "lookup,spy", "--service-db", str(tmp_path / "s.sqlite")),
         2, "دسترسی‌های spy شناخته نیستند", "unknown scopes spy"),
        (("verify", "request", "--postcode", "1345678901", "--dev-sms-outbox", *db), 2, "کد ملی را بدهید",
         "give the national code"),
    ]
    for args, code, fa, en in cases:
        persian = jinef("--lang", "fa", *args)
        said = persian.stderr.strip()
        assert persian.exit_code == code and said.startswith("خطا:") and fa in said, (args, persian.output)
        # Paths and options are as given (a path or an option is not an English sentence).
        words = " ".join(w for w in said.split() if "/" not in w and not w.lstrip("\u200e").startswith("-"))
        assert not _ENGLISH_WORDS.search(words), (args, said)
        english = jinef("--lang", "en", *args)
        assert english.exit_code == code and english.stderr.startswith("error:") and en in english.stderr, (
            args, english.output)


def test_library_errors_follow_lang(small_registry: Path, tmp_path: Path) -> None:
    """What the libraries refuse with (a read image of another format, a download that fails, a malformed key ring,
    an SMS gateway that is not a URL, a file of public keys that holds none) is Persian with `--lang fa` (no English
    sentence) and English with `--lang en`."""
    image = tmp_path / "old.image" / "g1"  # the image of `--db old.sqlite`, compiled by an older Jinef
    image.mkdir(parents=True)
    (image / "manifest.json").write_text('{"format": "jinef-read-image", "format_version": 1}', encoding="utf-8")
    (image.parent / "current").symlink_to("g1")
    no_keys = tmp_path / "keys.pem"
    no_keys.write_text("nothing here\n", encoding="utf-8")
    secrets = ("--national-code", "0084575948", "--mobile", "09121234567")
    cases: list[tuple[tuple[str, ...], dict[str, str], int, str, str]] = [  # args, environment, exit code, fa, en
        (("lookup", "1345678901", "--db", str(tmp_path / "old.sqlite")), {}, 2,
         "تصویر خواندنی jinef-read-image نسخهٔ 3 نیست", "is not a jinef-read-image of version 3"),
        (("data", "fetch", "--dest", str(tmp_path / "data")), {"JINEF_FETCH_BASE": "http://127.0.0.1:9"}, 1,
         "بارگیری نمی‌شود", "cannot download"),
        (("verify", "new-key"), {"JINEF_VERIFY_KEY": "1:@@"}, 1, "کلید نسخهٔ ۱ در قالب base64 درست نیست",
         "key version 1 is not valid base64"),
        (("verify", "request", "--postcode", "1345678901", *secrets, "--sms-gateway", "ftp://gateway", "--db",
          str(small_registry)), {}, 2, "درگاه پیامک باید نشانی http(s) باشد", "the SMS gateway must be an http(s) URL"),
        (("certificate", "verify", "JNF1.x", "--public-keys", str(no_keys)), {}, 2, "کلید عمومی ندارد",
         "no public keys"),
    ]
    for args, env, code, fa, en in cases:
        persian = jinef("--lang", "fa", *args, env=env)
        said = persian.stderr.strip().splitlines()[-1]  # after any progress lines
        assert persian.exit_code == code and said.startswith("خطا:") and fa in said, (args, persian.output)
        words = " ".join(w for w in persian.stderr.split() if "/" not in w and not w.lstrip("\u200e").startswith("-"))
        assert not _ENGLISH_WORDS.search(words), (args, persian.stderr)
        english = jinef("--lang", "en", *args, env=env)
        assert english.exit_code == code and "error:" in english.stderr and en in english.stderr, (args, english.output)


def _latin_words(text: str, *ids: str) -> list[str]:
    """The Latin words (3+ letters) of ``text`` outside paths, options and the given ids (scopes, measures, ...)."""
    kept = [w for w in text.split() if "/" not in w and not w.lstrip("\u200e(").startswith("-")
            and w.strip("()«»،؛:,;") not in ids]
    return re.findall(r"[A-Za-z]{3,}", " ".join(kept))


def test_cli_reports_follow_lang(small_registry: Path, tmp_path: Path, first: Address) -> None:
    """What a successful command reports (a file's summary, what was written, a snapshot, a plan, a key made or
    revoked, an image that is current) is Persian with `--lang fa` (no English word outside paths and ids, Persian
    digits) and the same English words as always with `--lang en`."""
    db = ("--db", str(small_registry))
    codes = tmp_path / "codes.csv"
    codes.write_text(f"postcode\n{first.postcode}\n", encoding="utf-8")
    addresses = tmp_path / "addresses.csv"
    addresses.write_text(f"address\n{first.standard_address}\n", encoding="utf-8")
    stores = ("--dashboard-db", str(tmp_path / "dash.sqlite"))
    beside = ("--service-db", str(tmp_path / "service.sqlite"), "--verify-db", str(tmp_path / "verify.sqlite"))
    keys = ("--service-db", str(tmp_path / "keys.sqlite"))
    cases: list[tuple[tuple[str, ...], str, tuple[str, ...], str, str]] = [  # args, stream, ids, fa, en
        (("lookup", "--file", str(codes), "-o", str(tmp_path / "found.csv"), *db), "stderr", (),
         "۱ سطر جست‌وجو شد", "looked up 1 rows into"),
        (("geocode", str(addresses), "-o", str(tmp_path / "points.csv"), "--workers", "1", *db), "stderr",
         ("utf-8",), "۱ سطر (utf-8) در", "geocoded 1 rows (utf-8) into"),
        (("export", "-o", str(tmp_path / "all.csv"), *db), "stderr", (), "واحد برون‌بری شد", "exported "),
        (("stats", "snapshot", *stores, *beside, *db), "stdout", (), "برش آماری 1 در", "(registry change"),
        (("plans", "set", "تهران", "units", "5000", "1405-06-31", *stores, *db), "stdout", ("units",),
         "(23)، units به ۵۰۰۰ تا ۱۴۰۵-۰۶-۳۱", "(23) units → 5000 by 1405-06-31"),
        (("plans", "list", *stores, *db), "stdout", ("units",), "موعد", "deadline"),
        (("keys", "create", "--org", "بانک", "--scopes", "lookup", *keys), "stderr", ("lookup",),
         "سازمان «بانک»، دسترسی‌ها lookup، نرخ بی‌حد", "org 'بانک', scopes lookup, rate unlimited/s"),
        (("index", "--if-stale", *db), "stderr", (), "به‌روز است", "is current"),
    ]
    for args, stream, ids, fa, en in cases:
        persian = jinef("--lang", "fa", *args)
        said = " ".join(getattr(persian, stream).split())
        assert persian.exit_code == 0 and fa in said, (args, persian.output)
        assert not _latin_words(said, *ids), (args, said)
        english = jinef("--lang", "en", *args)
        assert english.exit_code == 0 and en in " ".join(getattr(english, stream).split()), (args, english.output)
    # The keys just made (one in each language) are revoked by their ids: a count, in either language.
    made = json.loads(jinef("keys", "list", "--json", *keys).stdout)
    persian = jinef("--lang", "fa", "keys", "revoke", str(made[0]["id"]), *keys)
    assert persian.exit_code == 0 and persian.stdout.strip() == "۱ کلید باطل شد", persian.output
    english = jinef("--lang", "en", "keys", "revoke", str(made[1]["id"]), *keys)
    assert english.exit_code == 0 and english.stdout.strip() == "revoked 1 key(s)", english.output


def test_missing_registry_message(tmp_path: Path) -> None:
    r = jinef("stats", "--db", str(tmp_path / "nope.sqlite"))
    assert r.exit_code == 2 and "jinef build" in r.stderr


def test_messages_follow_lang_option_then_locale(small_registry: Path) -> None:
    """`--lang fa` or a Persian locale (LC_ALL over LC_MESSAGES over LANG) gives Persian errors and rule texts."""
    from typer.testing import CliRunner

    from jinef.cli.main import app

    def run_in(env: dict[str, str | None], *args: str) -> Any:
        # In process (the command's own code, no interpreter start); the locale variables set or unset as given.
        return CliRunner().invoke(app, list(args), env={"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, **env})

    by_option = run_in({"LANG": "en_US.UTF-8"}, "--lang", "fa", "lookup", "10", "--db", str(small_registry))
    assert by_option.exit_code == 1  # an invalid input is answered (with its rules), not a usage error
    assert by_option.stdout.startswith("10: نادرست: کد پستی باید دقیقاً ۱۰ رقم باشد"), by_option.stdout
    missing = run_in({"LANG": "en_US.UTF-8"}, "--lang", "fa", "stats", "--db", str(small_registry) + ".nope")
    assert missing.exit_code == 2 and missing.stderr.startswith("خطا:"), missing.stderr
    by_locale = run_in({"LANG": "fa_IR.UTF-8"}, "validate", "13457")
    assert by_locale.exit_code == 1 and "خیر" in by_locale.stdout and "۱۰ رقم" in by_locale.stdout, by_locale.stdout
    overridden = run_in({"LANG": "fa_IR.UTF-8", "LC_ALL": "C.UTF-8"}, "validate", "13457")
    assert "10 digits" in overridden.stdout and "رقم" not in overridden.stdout, overridden.stdout
    unknown = run_in({}, "--lang", "de", "validate", "13457")
    assert unknown.exit_code == 2 and "--lang" in unknown.stderr

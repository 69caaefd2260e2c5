"""One settings object: every JINEF_ variable the code reads is declared there, docs/configuration.md is written from
it, a TOML file sets the same settings, the environment overrides the file, and a bad value says where and what."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jinef.cli.main import app as cli_app
from jinef.common.config import RegistryLocation, max_shrink, state_dir
from jinef.common.settings import CONFIG_VARIABLE, FIELDS, SettingsError, settings, variable
from jinef.common.settings_reference import reference_markdown

ROOT = Path(__file__).resolve().parents[1]
DECLARED = {variable(name) for name in FIELDS}
# Every variable, so that a CLI run in this process leaves the environment as it found it.
ISOLATED: dict[str, str | None] = {v: None for v in DECLARED | {CONFIG_VARIABLE}}


def test_the_committed_reference_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run `jinef settings --markdown > docs/configuration.md`"
    for name in DECLARED:
        assert f"`{name}`" in committed


def test_every_jinef_variable_in_the_code_is_declared_and_read_through_the_settings() -> None:
    named: dict[str, set[str]] = {}
    direct: list[str] = []
    # A read (get, getenv, or a subscript that is not assigned to); serve's writes for its workers are fine.
    read = re.compile(r"""(?:os\.environ\.get\(|os\.getenv\()\s*["'](JINEF_\w+)"""
                      r"""|os\.environ\[\s*["'](JINEF_\w+)["']\s*\](?!\s*=(?!=))""")
    for path in (ROOT / "jinef").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for var in re.findall(r"\bJINEF_[A-Z0-9_]+\b", text):
            named.setdefault(var, set()).add(str(path.relative_to(ROOT)))
        if path.name != "settings.py":
            direct += [f"{path.relative_to(ROOT)}: {m.group(1) or m.group(2)}" for m in read.finditer(text)]
    assert len(named) >= 20
    undeclared = {v: sorted(p) for v, p in named.items() if v not in DECLARED | {CONFIG_VARIABLE}}
    assert not undeclared, f"declare these in jinef/common/settings.py: {undeclared}"
    assert not direct, f"read these through jinef.common.settings.settings(): {direct}"


def test_environment_overrides_the_file_which_overrides_the_default(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "jinef.toml"
    config.write_text('db = "/srv/jinef/registry.sqlite"\nstate_dir = "/srv/jinef/state"\nmax_shrink = 0.25\n'
                      'warm = true\ncors_origins = ["https://portal.example.ir"]\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))
    monkeypatch.setenv("JINEF_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.delenv("JINEF_DB", raising=False)
    monkeypatch.delenv("JINEF_MAX_SHRINK", raising=False)
    s = settings()
    assert (s.db, s.warm, s.cors_origins) == ("/srv/jinef/registry.sqlite", True, ("https://portal.example.ir",))
    assert s.max_body == 256 * 1024  # neither: the default
    # The code reads them from there: the registry's location, the state folder, the import's shrink guard.
    assert RegistryLocation.of().target == "/srv/jinef/registry.sqlite"
    assert state_dir() == tmp_path / "from-env"  # the environment wins over the file
    assert max_shrink() == 0.25
    monkeypatch.setenv("JINEF_MAX_SHRINK", "0.5")
    assert max_shrink() == 0.5  # a change of the environment is seen at once
    monkeypatch.setenv("JINEF_CORS_ORIGINS", "https://a.example.ir, https://b.example.ir")
    assert settings().cors_origins == ("https://a.example.ir", "https://b.example.ir")
    config.write_text('db = "/elsewhere.sqlite"\n', encoding="utf-8")
    os.utime(config, ns=(1, 1))  # a rewritten file is read again (whatever the clock's resolution)
    assert settings().db == "/elsewhere.sqlite" and settings().warm is False


def test_a_bad_setting_says_which_where_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JINEF_MAX_BODY", "256KB")
    # Outside the CLI (a log, a traceback) the message says it in both languages: Persian, then English.
    with pytest.raises(SettingsError, match=r"^تنظیم نادرست \$JINEF_MAX_BODY='256KB': باید عدد صحیح باشد / "
                                            r"bad setting \$JINEF_MAX_BODY='256KB': must be a whole number$"):
        settings()
    monkeypatch.delenv("JINEF_MAX_BODY")
    monkeypatch.setenv("JINEF_MAX_SHRINK", "2")
    with pytest.raises(ValueError, match=r"\$JINEF_MAX_SHRINK='2'.*from 0 to 1"):
        max_shrink()
    monkeypatch.delenv("JINEF_MAX_SHRINK")

    config = tmp_path / "jinef.toml"
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))
    with pytest.raises(SettingsError, match=r"پیدا نشد.*does not exist"):
        settings()
    config.write_text('db = "x"\nmax_bodyy = 1\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=f"unknown setting in {re.escape(str(config))}: max_bodyy"):
        settings()
    config.write_text("warm = maybe\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot be read"):
        settings()
    config.write_text('header_timeout = "soon"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=f"header_timeout in {re.escape(str(config))}='soon'"):
        settings()
    # A secret in a file others can read is refused; the secret itself is never repeated in a message.
    config.write_text('sms_gateway_token = "s3cr3t-token"\n', encoding="utf-8")
    config.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600") as refused:
        settings()
    assert "s3cr3t-token" not in str(refused.value)
    config.chmod(0o600)
    token = settings().sms_gateway_token
    assert token is not None and token.reveal() == "s3cr3t-token"
    config.write_text("sms_gateway_token = 12345\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="sms_gateway_token") as wrong:
        settings()
    assert "12345" not in str(wrong.value)


def test_cli_config_file_reaches_every_command_and_its_options(tmp_path: Path) -> None:
    config = tmp_path / "jinef.toml"
    config.write_text(f'db = "{tmp_path / "reg.sqlite"}"\nheader_timeout = 3\nsms_gateway_token = "t0k-9f3"\n',
                      encoding="utf-8")
    config.chmod(0o600)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["--config", str(config), "settings", "--json"],
                           env={**ISOLATED, "JINEF_MAX_BODY": "1000"})
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["db"] == {"name": "db", "variable": "JINEF_DB", "value": str(tmp_path / "reg.sqlite"),
                          "source": "file"}
    assert (rows["header_timeout"]["value"], rows["max_body"]["source"]) == (3.0, "environment")
    assert rows["sms_gateway_token"]["value"] == "***" and "t0k-9f3" not in result.stdout
    assert rows["warm"] == {"name": "warm", "variable": "JINEF_WARM", "value": False, "source": "default"}
    assert "JINEF_HEADER_TIMEOUT" not in os.environ  # the run's environment did not leak into this process

    bad = runner.invoke(cli_app, ["--config", str(tmp_path / "missing.toml"), "settings"], env=ISOLATED)
    assert bad.exit_code == 2 and "does not exist" in " ".join(bad.output.split())  # (rich wraps lines)
    markdown = runner.invoke(cli_app, ["settings", "--markdown"], env=ISOLATED)
    assert markdown.exit_code == 0 and markdown.stdout == reference_markdown()


def test_cli_settings_errors_follow_lang(tmp_path: Path) -> None:
    """A bad setting, a missing or unsafe file, a bad --max-shrink: one language, the one the command speaks."""
    runner = CliRunner()
    config = tmp_path / "jinef.toml"
    config.write_text('sms_gateway_token = "t0k-9f3"\n', encoding="utf-8")
    config.chmod(0o644)
    records = tmp_path / "records.csv"
    records.write_text("postcode\n", encoding="utf-8")
    cases: list[tuple[list[str], dict[str, str | None], str, str]] = [  # args, environment, Persian, English
        (["--config", str(tmp_path / "missing.toml"), "settings"], {},
         f"پروندهٔ تنظیمات {tmp_path / 'missing.toml'} پیدا نشد (JINEF_CONFIG یا \u200e--config)",
         f"the configuration file {tmp_path / 'missing.toml'} does not exist (JINEF_CONFIG or --config)"),
        (["settings"], {"JINEF_MAX_BODY": "256KB"}, "تنظیم نادرست $JINEF_MAX_BODY='256KB': باید عدد صحیح باشد",
         "bad setting $JINEF_MAX_BODY='256KB': must be a whole number"),
        (["settings"], {"JINEF_HEADER_TIMEOUT": "-1"}, "تنظیم نادرست $JINEF_HEADER_TIMEOUT='-1': باید ۰ یا بیشتر باشد",
         "bad setting $JINEF_HEADER_TIMEOUT='-1': must be at least 0"),
        (["--config", str(config), "settings"], {}, "رمز دارد (sms_gateway_token) و دیگران می‌توانند آن را بخوانند "
         "(مجوز 644): آن را با chmod 600 ببندید", "holds a secret (sms_gateway_token) and is readable by others "
         "(mode 644): chmod 600 it"),
        (["import", str(records), "--db", str(tmp_path / "r.sqlite"), "--max-shrink", "2"], {},
         "بیشینهٔ کوچک‌شدن ثبت باید عددی از ۰ تا ۱ باشد، نه 2.0", "max shrink must be a number from 0 to 1, not 2.0"),
    ]
    for args, env, fa, en in cases:
        persian = runner.invoke(cli_app, ["--lang", "fa", *args], env={**ISOLATED, **env})
        said = " ".join(persian.stderr.split())
        assert persian.exit_code == 2 and said.startswith("خطا:") and fa in said, (args, said)
        assert not re.search(r"\b(bad|setting|must|does|not|exist|the|is|readable)\b", said), (args, said)
        english = runner.invoke(cli_app, ["--lang", "en", *args], env={**ISOLATED, **env})
        said = " ".join(english.stderr.split())
        assert english.exit_code == 2 and said.startswith("error:") and en in said, (args, said)
        assert not re.search("[\u0600-\u06ff]", said), (args, said)

"""Postcode certificates: a PDF whose Persian is shaped and joined (checked on the rendered image), verified
offline with the public keys alone, refused when altered or expired, and revoked over HTTP once the unit is
retired or its address changed."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.cli.main import app
from jinef.common.config import RegistryLocation
from jinef.model.change import Reason
from jinef.read.certificates import document
from jinef.read.certificates.issue import check_offline, issue_certificate, payload_of
from jinef.read.certificates.keys import CertificateKeys
from jinef.read.registry.registry import Registry
from jinef.write.edit.editor import RegistryEditor
from tests.living.conftest import city_building
from tests.test_cli import run

TITLE = "گواهی کد پستی"


def _png(pdf: bytes, tmp: Path, name: str, dpi: int = 100) -> Image.Image:
    (tmp / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(tmp / f"{name}.pdf"), str(tmp / name)],
                   check=True)
    return Image.open(tmp / f"{name}.png").convert("L")


def _ink_width(img: Image.Image, top_mm: float, bottom_mm: float, dpi: int = 100) -> int:
    """Width in pixels of the dark pixels between two heights of the page."""
    px = dpi / 25.4
    band = img.crop((0, int(top_mm * px), img.width, int(bottom_mm * px))).point(lambda v: 255 if v < 128 else 0)
    box = band.getbbox()
    assert box is not None, "nothing drawn in that band"
    return box[2] - box[0]


def _title_alone(text: str) -> bytes:
    pdf = document.new_document()
    pdf.set_font(document.FONT, "B", 20)
    pdf.set_xy(15, 15)
    pdf.cell(180, 10, text, align="C")
    return bytes(pdf.output())


def test_the_certificate_renders_with_joined_persian_text(small_registry: Path, tmp_path: Path) -> None:
    reg = Registry.open(small_registry)
    a = next(x for x in reg.addresses() if x.neighbourhood)
    issued = issue_certificate(reg, a.postcode, CertificateKeys.open(tmp_path / "keys"))
    assert issued is not None
    page = _png(issued.pdf, tmp_path, "certificate")
    assert abs(page.width / page.height - 210 / 297) < 0.01  # A4
    joined = _ink_width(_png(_title_alone(TITLE), tmp_path, "joined"), 15, 25)
    # The same letters kept apart (a ZWNJ after each stops joining): what unshaped text would look like.
    apart = _ink_width(_png(_title_alone("\u200c".join(TITLE)), tmp_path, "apart"), 15, 25)
    assert joined < apart * 0.9
    assert abs(_ink_width(page, 15, 25) - joined) <= 2  # the certificate's title is the joined one
    # The signed payload travels in the PDF (keywords) as in its QR code.
    assert payload_of(issued.pdf) == issued.payload


def test_verify_offline_accepts_it_and_refuses_altered_or_expired_ones(small_registry: Path,
                                                                       tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    reg = Registry.open(small_registry)
    postcode = next(reg.addresses()).postcode
    out = tmp_path / "c.pdf"
    done = run("certificate", "issue", postcode, "-o", str(out), "--db", str(small_registry), "--keys", str(keys))
    assert done.returncode == 0, done.stderr
    exported = tmp_path / "public.pem"
    assert run("certificate", "keys", "--keys", str(keys), "--export", str(exported)).returncode == 0
    ok = run("certificate", "verify", str(out), "--public-keys", str(exported))
    assert ok.returncode == 0 and ok.stdout.startswith("valid"), ok.stdout + ok.stderr
    payload = payload_of(out.read_bytes())
    body, signature = payload.rsplit(".", 1)
    flip = {"0": "1", "1": "0"}
    changed_body = body[:5] + flip.get(body[5], "1") + body[6:]  # one digit of the postcode
    changed_sig = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    for altered in (f"{changed_body}.{signature}", f"{body}.{changed_sig}"):
        bad = run("certificate", "verify", altered, "--public-keys", str(exported))
        assert bad.returncode == 1 and bad.stdout.startswith("bad_signature"), bad.stdout
    assert run("certificate", "verify", "hello", "--keys", str(keys)).stdout.startswith("malformed")
    ring = CertificateKeys.open(keys)
    old = issue_certificate(reg, postcode, ring, today=date.today() - timedelta(days=40), days=30)
    assert old is not None
    assert check_offline(old.payload, ring.public_keys()).status == "expired"
    expired = run("certificate", "verify", old.payload, "--public-keys", str(exported))
    assert expired.returncode == 1 and expired.stdout.startswith("expired"), expired.stdout
    ring.rotate()  # a new signing key: certificates of the old one still verify
    assert check_offline(payload, ring.public_keys()).status == "valid"
    assert check_offline(payload, {}).status == "unknown_key"


def test_over_http_a_certificate_is_revoked_once_the_unit_is_retired_or_changed(editable: Path | str,
                                                                               tmp_path: Path) -> None:
    svc = tmp_path / "svc.sqlite"
    store = open_store(svc)
    key = store.create_key("citizen portal", ["certificate"], None)[1]
    store.close()
    a, b = city_building(editable), None
    with Registry.open(editable) as reg:
        b = next(x for x in reg.addresses() if x.building_id != a.building_id and x.status == "active")
    headers = {"X-API-Key": key}
    with TestClient(create_app(editable, svc, key_cache_ttl=0)) as c:
        payloads = {}
        for unit in (a, b):
            r = c.get(f"/v1/certificates/{unit.postcode}", headers=headers)
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
            payloads[unit.postcode] = payload_of(r.content)
            v = c.post("/v1/certificates/verify", json={"payload": payloads[unit.postcode]}, headers=headers)
            assert v.json()["status"] == "valid" and v.json()["checked"] == ["signature", "dates", "registry"]
        with RegistryEditor.open(editable) as e:
            e.retire(a.postcode, reason=Reason.of("demolished"))
            e.update(b.postcode, {"unit": "99"})
        c.app.state.service.registry.catch_up()  # type: ignore[attr-defined]
        verdict = c.post("/v1/certificates/verify", json={"payload": payloads[a.postcode]}, headers=headers).json()
        assert verdict["status"] == "revoked" and not verdict["valid"] and verdict["message_fa"]
        changed = c.post("/v1/certificates/verify", json={"payload": payloads[b.postcode]}, headers=headers).json()
        assert changed["status"] == "changed"
        assert c.get(f"/v1/certificates/{a.postcode}", headers=headers).status_code == 404  # retired: none issued
        assert c.get("/v1/certificates/12345", headers=headers).status_code == 422
        public = c.get("/v1/certificates/keys").text
        assert public.startswith("kid: ") and "BEGIN PUBLIC KEY" in public
    ring_dir = RegistryLocation.of(editable).certificate_keys
    assert ring_dir.is_dir() and all((p.stat().st_mode & 0o777) == 0o600 for p in ring_dir.glob("*.key"))


def test_a_certificate_issued_today_is_valid_until_its_expiry(small_registry: Path, tmp_path: Path) -> None:
    days = 1
    ring = CertificateKeys.open(tmp_path / "k")
    reg = Registry.open(small_registry)
    issued = issue_certificate(reg, next(reg.addresses()).postcode, ring, days=days)
    assert issued is not None and issued.expires == date.today() + timedelta(days=days)
    assert check_offline(issued.payload, ring.public_keys(), today=issued.expires).status == "valid"
    assert check_offline(issued.payload, ring.public_keys(),
                         today=issued.expires + timedelta(days=1)).status == "expired"


def test_issue_without_o_writes_the_pdf_to_stdout(small_registry: Path, tmp_path: Path) -> None:
    postcode = next(Registry.open(small_registry).addresses()).postcode
    done = CliRunner().invoke(app, ["certificate", "issue", postcode, "--db", str(small_registry), "--keys",
                                    str(tmp_path / "keys")])
    assert done.exit_code == 0, done.output
    assert done.stdout_bytes.startswith(b"%PDF-") and "written to stdout" in done.stderr

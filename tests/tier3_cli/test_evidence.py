"""The evidence store: photos and documents kept by their SHA-256 beside the events that
cite them, given back, listed in history, checked by audit verify --evidence, and carried
by audit export --evidence into a restored ledger. On both backends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_support import Cli
from conftest import new_postgres_url, seed_campaign

import ledger.evidence
from ledger.evidence import FolderStore, open_evidence
from ledger.store import Store

# The first bytes are what count; the rest is filler of a distinct size per file.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 300
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x02" * 500
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"3" * 100


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    found = {}
    for name, content in (("before.jpg", JPEG), ("after.png", PNG), ("site.heic", HEIC),
                          ("notice.pdf", PDF), ("notes.txt", b"not a photo"),
                          ("anim.gif", b"GIF89a" + b"\x00" * 40)):
        path = tmp_path / name
        path.write_bytes(content)
        found[name] = path
    return found


@pytest.fixture
def cli(store_url: str) -> Iterator[Cli]:
    """A task of JS01 with a notice: rectifying, ready for zhao's report."""
    store = Store(store_url)
    seed_campaign(store.ledger)
    task = store.ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                               location="幸福路12号", description="电线杆牛皮癣",
                               deadline=store.ledger.today(store.ledger.campaign()),
                               notice_no="ZG-1")["task"]
    assert task == "T-000001"
    store.close()
    runner = Cli(store_url)
    yield runner
    runner.close()


def kept(cli: Cli) -> list[str]:
    return list(open_evidence(cli.store).kept())


def test_a_photo_goes_through_report_get_export_import_and_verify(
        cli: Cli, files: dict[str, Path], tmp_path: Path) -> None:
    cli.ok("task", "report", "T-000001", "--description", "已清除",
           "--evidence", f"{files['after.png']}:整改后照片",
           "--evidence", f"{files['notice.pdf']}:整改报告", as_="zhao")
    cli.ok("task", "evidence", "T-000001", "--evidence", f"{files['site.heic']}:现场",
           "--evidence", f"{files['after.png']}:同一张", as_="li")
    assert sorted(kept(cli)) == sorted([sha(PNG), sha(PDF), sha(HEIC)])
    out = tmp_path / "got.png"
    assert cli.ok("evidence", "get", sha(PNG).upper(), "-o", str(out)) == (
        f"{len(PNG)} bytes written to {out}\n")
    assert out.read_bytes() == PNG
    history = json.loads(cli.ok("history", "T-000001", "--format", "json"))
    items = [item for e in history["events"] for item in e["evidence"]]
    assert [(i["description"], i["type"], i["size"]) for i in items] == [
        ("整改后照片", "PNG", len(PNG)), ("整改报告", "PDF", len(PDF)),
        ("现场", "HEIC", len(HEIC)), ("同一张", "PNG", len(PNG))]
    assert f"PNG {len(PNG):,} bytes" in cli.ok("history", "T-000001")
    assert cli.ok("audit", "verify", "--evidence").splitlines()[-1] == (
        "evidence: 4 citations checked, every file kept and unaltered")

    exported = tmp_path / "ledger.jsonl"
    said = cli.ok("audit", "export", str(exported), "--evidence")
    assert f"evidence: 3 files copied to {exported}.evidence" in said
    folder = FolderStore(Path(f"{exported}.evidence"))
    assert folder.get(sha(HEIC)) == HEIC
    # Restored on the same kind of store, the ledger verifies with the carried files.
    for target in restored_stores(cli.url, tmp_path):
        again = Cli(target)
        said = again.ok("audit", "import", str(exported))
        assert f"evidence: 3 files from {exported}.evidence (3 newly kept)" in said
        assert again.ok("audit", "verify", "--evidence").splitlines()[-1] == (
            "evidence: 4 citations checked, every file kept and unaltered")
        again.ok("evidence", "get", sha(PDF), "-o", str(tmp_path / "got.pdf"))
        assert (tmp_path / "got.pdf").read_bytes() == PDF
        again.close()


def restored_stores(url: str, tmp_path: Path) -> Iterator[str]:
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        yield from new_postgres_url()


def tamper(cli: Cli, digest: str, content: bytes | None) -> None:
    """Change (or with None, delete) a kept file behind the ledger's back."""
    if cli.url.startswith("sqlite"):
        path = FolderStore(Path(cli.store.url.path + ".evidence")).path(digest)
        path.chmod(0o644)
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content)
        return
    with cli.store.engine.begin() as conn:
        if content is None:
            conn.execute(sa.text("DELETE FROM evidence WHERE sha256 = :d"), {"d": digest})
        else:
            conn.execute(sa.text("UPDATE evidence SET content = :c WHERE sha256 = :d"),
                         {"c": content, "d": digest})


def test_a_tampered_or_deleted_photo_is_named_with_the_event_citing_it(
        cli: Cli, files: dict[str, Path], tmp_path: Path) -> None:
    cli.ok("task", "report", "T-000001", "--description", "已清除",
           "--evidence", f"{files['after.png']}:整改后", as_="zhao")
    cli.ok("task", "evidence", "T-000001", "--evidence", f"{files['before.jpg']}:整改前",
           as_="li")
    tamper(cli, sha(PNG), PNG + b"edited")
    tamper(cli, sha(JPEG), None)
    code, out, err = cli.console("audit", "verify", "--evidence")
    position = cli.max_position()
    assert code == 1
    assert err == "Error: evidence: 2 of 2 citations name a missing or altered file\n"
    assert out.splitlines()[-2:] == [
        f"evidence altered: {files['after.png']} (sha256 {sha(PNG)}), cited by T-000001 "
        f"event 3 (RectificationReported, position {position - 1})",
        f"evidence missing: {files['before.jpg']} (sha256 {sha(JPEG)}), cited by T-000001 "
        f"event 4 (EvidenceAttached, position {position})"]
    report = json.loads(cli.console("audit", "verify", "--evidence", "--format", "json")[1])
    assert [(p["problem"], p["task"], p["event"]) for p in report["evidence"]["problems"]] \
        == [("altered", "T-000001", 3), ("missing", "T-000001", 4)]
    cli.refused("evidence", "get", sha(PNG), "-o", str(tmp_path / "x.png"),
                message=f"the evidence file kept for sha256 {sha(PNG)} no longer hashes to "
                "it: it was altered (audit verify --evidence names the events citing it)")
    assert not (tmp_path / "x.png").exists()


def test_anything_but_a_photo_or_document_is_one_error_and_nothing_is_written(
        cli: Cli, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    report = ("task", "report", "T-000001", "--description", "已清除")
    cli.refused(*report, "--evidence", f"{files['after.png']}:ok",
                "--evidence", f"{files['notes.txt']}:说明", as_="zhao",
                message=f"evidence file {str(files['notes.txt'])!r} is not a photo or "
                "document we know: only JPEG, PNG, HEIC, PDF are kept")
    cli.refused("task", "evidence", "T-000001", "--evidence", str(files["anim.gif"]),
                as_="zhao", message=f"evidence file {str(files['anim.gif'])!r} is a "
                "image/gif file: only JPEG, PNG, HEIC, PDF are kept")
    monkeypatch.setattr(ledger.evidence, "MAX_BYTES", 1000)
    cli.refused(*report, "--evidence", str(files["before.jpg"]), as_="zhao",
                message=f"evidence file {str(files['before.jpg'])!r} is {len(JPEG):,} bytes, "
                "over the limit of 1,000 (0 MiB)")
    assert kept(cli) == []


def test_a_refused_command_leaves_no_file_behind(cli: Cli, files: dict[str, Path]) -> None:
    # qian is not JS01's member: refused, after the file was checked.
    cli.refused("task", "report", "T-000001", "--description", "已清除",
                "--evidence", str(files["after.png"]), as_="qian",
                message="qian acts for unit JS02, not for unit JS01")
    assert kept(cli) == []
    # A file kept before stays when a later command citing it again is refused.
    cli.ok("task", "evidence", "T-000001", "--evidence", str(files["after.png"]), as_="li")
    cli.refused("task", "evidence", "T-000001", "--evidence", str(files["after.png"]),
                as_="sun", message="sun (auditor) may not attach evidence: that is for "
                "admin, inspector, unit")
    assert kept(cli) == [sha(PNG)]


def test_evidence_get_refuses_bad_input(cli: Cli, tmp_path: Path) -> None:
    cli.refused("evidence", "get", "abc", "-o", str(tmp_path / "x"),
                message="SHA256 must be 64 hex digits, got 'abc'")
    cli.refused("evidence", "get", "0" * 64, "-o", str(tmp_path / "x"),
                message=f"no evidence file kept with sha256 {'0' * 64}")
    assert not (tmp_path / "x").exists()


def test_an_altered_carried_file_is_refused_before_the_import(
        cli: Cli, files: dict[str, Path], tmp_path: Path) -> None:
    cli.ok("task", "report", "T-000001", "--description", "已清除",
           "--evidence", str(files["after.png"]), as_="zhao")
    exported = tmp_path / "ledger.jsonl"
    cli.ok("audit", "export", str(exported), "--evidence")
    carried = FolderStore(Path(f"{exported}.evidence")).path(sha(PNG))
    carried.chmod(0o644)
    carried.write_bytes(PNG + b"x")
    target = Cli(f"sqlite:///{tmp_path / 'restored.db'}")
    target.refused("audit", "import", str(exported),
                   message=f"evidence file {carried} does not hash to its name: it was "
                   "altered")
    target.close()


def test_the_readme_section_runs_as_written(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.tier3_cli.test_cli_tasks import run_section

    monkeypatch.chdir(tmp_path)
    photo = (Path(__file__).resolve().parents[2] / "examples" / "evidence" / "整改后.jpg").read_bytes()  # the shipped one
    (tmp_path / "examples" / "evidence").mkdir(parents=True)
    (tmp_path / "examples" / "evidence" / "整改后.jpg").write_bytes(photo)
    said = run_section("### Evidence files", "sqlite:///evidence.db")
    assert f"整改后.jpg (整改后照片) [{sha(photo)[:12]}] JPEG {len(photo):,} bytes" in said[
        "history T-000001"]
    assert said["--db sqlite:///evidence-restored.db audit verify --evidence"].splitlines()[
        -1] == "evidence: 1 citations checked, every file kept and unaltered"
    assert FolderStore(tmp_path / "evidence-restored.db.evidence").get(sha(photo)) == photo


def test_a_reinspection_keeps_the_inspectors_photo(cli: Cli, files: dict[str, Path]) -> None:
    cli.ok("task", "report", "T-000001", "--description", "已清除", as_="zhao")
    cli.ok("task", "reinspect", "T-000001", "--fail", "--reason", "仍有残留",
           "--evidence", f"{files['before.jpg']}:复查照片", as_="li")
    assert kept(cli) == [sha(JPEG)]
    assert cli.ok("audit", "verify", "--evidence").splitlines()[-1] == (
        "evidence: 1 citations checked, every file kept and unaltered")

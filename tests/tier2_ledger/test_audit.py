"""``taizhang audit``: verify, checkpoints and their signatures, on both backends."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import i18n
from cli import main
from domain.task import Task
from ledger import audit
from ledger.access import describe_kind
from ledger.app import Ledger
from ledger.chain import GENESIS, canonical
from ledger.store import Store
from tests.conftest import Clock, seed_campaign
from tests.tier2_ledger.test_audit_tamper import Database

NOTE = ("note: a tail removed after the last event shows only against a head seen "
        "before: a checkpoint kept outside the store (verify --since it) or a witness "
        "(verify --witness)")


def run(url: str, *args: str, actor: str | None = None) -> Result:
    # the test's account is bound to the founding administrator: others are proxy entries
    prefix = ["--db", url] + (["--on-behalf-of", actor] if actor else [])
    return CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, [*prefix, *args])


@pytest.fixture
def seeded_url(store_url: str) -> str:
    """A store with a small campaign, written and closed (the CLI opens its own)."""
    store = Store(store_url)
    seed_campaign(store.ledger)
    store.close()
    return store_url


def opened(url: str) -> Store:
    return Store(url)


def head_of(url: str) -> audit.Head:
    store = opened(url)
    try:
        return audit.head(store.ledger)
    finally:
        store.close()


def ran_as(url: str) -> str:
    """The store's account as ``audit verify`` says it in English (the tests' language)."""
    store = opened(url)
    try:
        with i18n.speaking("en"):
            return describe_kind(store)
    finally:
        store.close()


def test_verify_prints_the_count_and_the_head(seeded_url: str) -> None:
    position, hash_ = head_of(seeded_url)
    result = run(seeded_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"chain verified: {position} events, unbroken from position 1",
        f"head: {position} {hash_}",
        "checkpoints: none recorded in the ledger",
        NOTE,
        f"ran as {ran_as(seeded_url)}",
    ]


def test_verify_of_an_empty_ledger_gives_the_genesis_head(store_url: str) -> None:
    assert run(store_url, "init").exit_code == 0
    result = run(store_url, "audit", "verify", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["ok"], report["events"], report["head"]) == (
        True, 0, {"position": 0, "hash": GENESIS})


def test_verify_names_the_first_broken_position_and_exits_non_zero(seeded_url: str) -> None:
    store = opened(seeded_url)
    db = Database(store)
    db.drop_triggers()
    db.run("UPDATE {t} SET account = 'someone@else' WHERE notification_id = 4")
    db.close()
    store.close()
    result = run(seeded_url, "audit", "verify")
    assert result.exit_code == 1
    assert result.output == ("Error: chain broken at position 4 (changed): the stored event "
                             "does not match its hash; 3 events verified before it\n")
    as_json = run(seeded_url, "audit", "verify", "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["broken"] == {
        "position": 4, "kind": "changed", "detail": "the stored event does not match its hash"}


def test_a_checkpoint_is_a_chained_event_and_the_ledger_extends_it(seeded_url: str) -> None:
    before = head_of(seeded_url)
    result = run(seeded_url, "audit", "checkpoint", "--note", "5月评比", actor="sun")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"checkpoint 1: head {before.position} {before.hash}\n"
    store = opened(seeded_url)
    ledger = store.ledger
    recorded = audit.recorded_checkpoints(ledger)
    assert [(c.number, c.position, c.hash, c.by, c.note) for c in recorded] == [
        (1, before.position, before.hash, "sun", "5月评比")]
    assert ledger.max_position() == before.position + 2  # the audit log opened, the checkpoint
    ledger.register_unit(actor_id="admin", code="JS03", name="新风社区", kind="社区", parent="JS")
    now = audit.head(ledger)
    store.close()
    since = run(seeded_url, "audit", "verify", "--since", str(before))
    assert since.exit_code == 0, since.output
    assert since.output.splitlines() == [
        f"chain verified: {now.position} events, unbroken from position 1",
        f"head: {now.position} {now.hash}",
        f"checkpoints: 1 recorded in the ledger match; the last, 1, covers position "
        f"{before.position} (3 events after it)",
        f"since: the ledger extends checkpoint {before.position}:{before.hash[:16]}… "
        "unchanged, by 3 events",
        f"ran as {ran_as(seeded_url)}",
    ]


def test_verify_since_a_checkpoint_finds_a_cut_tail(seeded_url: str) -> None:
    old = head_of(seeded_url)
    store = opened(seeded_url)
    db = Database(store)
    db.drop_triggers()
    db.run("DELETE FROM {t} WHERE notification_id > 7")
    db.close()
    store.close()
    assert run(seeded_url, "audit", "verify").exit_code == 0  # the cut chain still verifies
    result = run(seeded_url, "audit", "verify", "--since", str(old))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: chain broken at position 8 (missing): the ledger ends at position 7, "
        f"before checkpoint position {old.position}: events 8–{old.position} were removed; "
        "7 events verified before it\n")


def test_a_signed_checkpoint_is_checked_with_the_public_key_alone(seeded_url: str,
                                                                tmp_path: Path) -> None:
    key = tmp_path / "sun"
    made = run(seeded_url, "audit", "keygen", str(key))
    assert made.exit_code == 0, made.output
    key_id = made.output.split()[1].rstrip(":")
    assert made.output == f"key {key_id}: private {key}, public {key}.pub\n"
    assert key.stat().st_mode & 0o077 == 0
    statement_file = tmp_path / "2024-05.json"
    head = head_of(seeded_url)
    signed = run(seeded_url, "audit", "checkpoint", "--sign", str(key), "-o",
                 str(statement_file), actor="admin")
    assert signed.stdout == f"checkpoint 1: head {head.position} {head.hash}, signed by key " \
                            f"{key_id}\n"
    statement = json.loads(statement_file.read_text(encoding="utf-8"))
    assert (statement["position"], statement["hash"], statement["by"],
            statement["ledger"]) == (head.position, head.hash, "admin", "创建全国文明城市 2024")

    # An outside auditor: no store, only the statement and the public key.
    good = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["audit", "verify-checkpoint", str(statement_file),
                                     "--public-key", f"{key}.pub"])
    assert good.exit_code == 0, good.output
    assert good.output == (f"good signature by key {key_id}: checkpoint 1 of '创建全国文明城市 "
                           f"2024', head {head.position} {head.hash}\n")

    forged = dict(statement, position=head.position - 1)
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged), encoding="utf-8")
    bad = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["audit", "verify-checkpoint", str(forged_file),
                                    "--public-key", f"{key}.pub"])
    assert bad.exit_code == 1
    assert bad.output.startswith(f"Error: BAD SIGNATURE: checkpoint {head.position - 1}:")

    other = tmp_path / "other"
    run(seeded_url, "audit", "keygen", str(other))
    wrong_key = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["audit", "verify-checkpoint", str(statement_file),
                                          "--public-key", f"{other}.pub"])
    assert wrong_key.exit_code == 1 and "BAD SIGNATURE" in wrong_key.output

    # The statement recorded in the ledger is the one that was signed.
    shown = run(seeded_url, "audit", "statement", "1")
    assert json.loads(shown.output) == statement
    since = run(seeded_url, "audit", "verify", "--since", str(statement_file),
                "--public-key", f"{key}.pub")
    assert since.exit_code == 0, since.output
    refused = run(seeded_url, "audit", "verify", "--since", str(forged_file),
                  "--public-key", f"{key}.pub")
    assert refused.exit_code == 1 and "BAD SIGNATURE" in refused.output


def test_a_unit_may_not_record_a_checkpoint_and_nothing_is_written(seeded_url: str) -> None:
    before = head_of(seeded_url)
    result = run(seeded_url, "audit", "checkpoint", actor="zhao")
    assert result.exit_code == 1
    assert result.output == ("Error: zhao (unit) may not record checkpoint: that is for "
                             "admin, auditor\n")
    assert head_of(seeded_url) == before


@pytest.mark.parametrize(("args", "message"), [
    (["audit", "verify", "--since", "12:abc"],
     "Error: --since must be a checkpoint statement file or POSITION:HASH (64 hex digits), "
     "got '12:abc'\n"),
    (["audit", "checkpoint", "--sign", "no-such-key"],
     "Error: key file 'no-such-key': No such file or directory\n"),
    (["audit", "verify", "--public-key", "no-such.pub"],
     "Error: public key file 'no-such.pub': No such file or directory\n"),
    (["audit", "statement", "3"], "Error: unknown checkpoint: 3 (the ledger has 0)\n"),
])
def test_bad_audit_input_is_one_error_line_and_writes_nothing(seeded_url: str,
                                                              args: list[str],
                                                              message: str) -> None:
    before = head_of(seeded_url)
    result = run(seeded_url, *args, actor="sun")
    assert result.exit_code != 0
    assert result.output == message
    assert head_of(seeded_url) == before


def test_keygen_and_checkpoint_never_overwrite_a_file(seeded_url: str,
                                                      tmp_path: Path) -> None:
    existing = tmp_path / "taken"
    existing.write_text("mine")
    keygen = run(seeded_url, "audit", "keygen", str(existing))
    assert keygen.exit_code == 1
    assert keygen.output == f"Error: key file '{existing}' already exists; not overwritten\n"
    before = head_of(seeded_url)
    out = run(seeded_url, "audit", "checkpoint", "-o", str(existing), actor="sun")
    assert out.exit_code == 2
    assert out.output.endswith(f"Error: statement file '{existing}' already exists\n")
    assert existing.read_text() == "mine" and head_of(seeded_url) == before


def test_head_at_quotes_the_hash_of_an_earlier_position(ledger: Ledger) -> None:
    seed_campaign(ledger)
    records = list(ledger.records())
    assert audit.head_at(ledger, 3) == (3, records[2].hash)
    assert audit.head_at(ledger, 0) == (0, GENESIS)
    assert audit.head(ledger) == (len(records), records[-1].hash)
    with pytest.raises(audit.AuditError, match="位置 99 不在账本中"):
        audit.head_at(ledger, 99)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(1, 2**62), version=st.integers(0, 2**62),
       texts=st.lists(st.text(), min_size=4, max_size=4), state=st.binary())
def test_the_chain_encoding_is_compact_json(position: int, version: int, texts: list[str],
                                            state: bytes) -> None:
    originator_id, topic, recorded_at, account = texts
    expected = json.dumps([position, originator_id, version, topic,
                           hashlib.sha256(state).hexdigest(), recorded_at, account],
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert canonical(position, originator_id, version, topic, state, recorded_at,
                     account) == expected


def test_verify_reports_progress_for_every_event(sqlite_url: str, clock: Clock) -> None:
    store = Store(sqlite_url, clock=clock)
    try:
        ledger = store.ledger
        seed_campaign(ledger)
        for _ in range(5):
            ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                          location="幸福路1号", description="乱堆乱放", deadline=date(2024, 6, 8))
        bulk_tasks(ledger, 2400)
        seen: list[int] = []
        result = audit.verify(ledger, progress=seen.append)
        assert result.ok and sum(seen) == result.events == ledger.max_position()
        assert seen[:2] == [1000, 1000]
    finally:
        store.close()


def bulk_tasks(ledger: Ledger, count: int) -> None:
    admin = ledger.actor("admin")
    zone = ledger.campaign().zone
    now = ledger.clock()
    ledger.save(*[Task.assign(task_id=f"T-{9000 + i:06d}", unit="JS01", category="环境卫生",
                              source="inspection", location="幸福路1号", description="牛皮癣",
                              deadline=date(2024, 6, 20), actor=admin, occurred_at=now,
                              zone=zone, now=now) for i in range(count)])


def test_export_and_import_refuse_by_the_command_line_and_write_nothing(
        seeded_url: str, tmp_path: Path) -> None:
    exported = tmp_path / "ledger.jsonl"
    assert run(seeded_url, "audit", "export", str(exported)).exit_code == 0
    again = run(seeded_url, "audit", "export", str(exported))
    assert again.exit_code == 2
    assert again.output.endswith(f"Error: export file '{exported}' already exists\n")
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    refused = run(target, "audit", "import", str(broken))
    assert refused.exit_code == 1
    assert refused.output == ("Error: line 4: position 3: missing: expected position 3, "
                              "found 4\n")
    assert head_of(target) == (0, GENESIS)
    missing = run(target, "audit", "verify-checkpoint", str(tmp_path / "none.json"),
                  "--public-key", str(tmp_path / "none.pub"))
    assert missing.exit_code == 1
    assert missing.output == (f"Error: statement file '{tmp_path / 'none.json'}': No such "
                              "file or directory\n")

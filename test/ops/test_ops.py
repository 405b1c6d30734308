"""Operator commands: --replay, --replay --check and --verify-log against a
database written by a scripted workload that touches every event type.

Environment: ARTIFACTSTORED (the binary), EVLOG_WORKLOAD (test/ops/workload.c).
"""
import fcntl
import os
import re
import sqlite3
import subprocess

import pytest

BIN = os.environ["ARTIFACTSTORED"]
WORKLOAD = os.environ["EVLOG_WORKLOAD"]
PACKAGES = 30  # 30 created + 90 ingested + 20 finalized = 140 events
EVENTS = 140


def run(*args, check=None):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def digests(out):
    before = re.search(r"view digest before: (blake3:[0-9a-f]{64})", out).group(1)
    after = re.search(r"view digest after:  (blake3:[0-9a-f]{64})", out).group(1)
    return before, after


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    p = subprocess.run([WORKLOAD, str(d), str(PACKAGES)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return d


def db(data):
    c = sqlite3.connect(str(data / "artifactstore.db"))
    c.execute("DROP TRIGGER IF EXISTS events_no_update")
    c.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return c


def test_workload_touches_every_event_type(data):
    c = sqlite3.connect(str(data / "artifactstore.db"))
    types = dict(c.execute(
        "SELECT event_type, count(*) FROM events GROUP BY event_type"))
    assert types == {"v1.package.created": 30, "v1.file.ingested": 90,
                     "v1.package.finalized": 20}
    assert c.execute("SELECT min(sequence), max(sequence), count(*) "
                     "FROM events").fetchone() == (1, EVENTS, EVENTS)
    # Blobs are shared between packages: 7 * 3 distinct, refcounts add up.
    assert c.execute("SELECT count(*), sum(refcount) FROM blobs").fetchone() \
        == (21, 90)
    # The clock starts at finalize: open packages have no expiry yet, a
    # finalized one has finalized_at + its class's duration (none for
    # permanent-record).
    assert c.execute(
        "SELECT count(*) FROM retention_state r "
        "JOIN packages p ON p.id = r.package_id "
        "JOIN retention_classes k ON k.name = r.class WHERE "
        "(p.status = 1 AND r.expires_at IS NOT NULL) OR (p.status = 2 AND "
        "r.expires_at IS NOT p.finalized_at + k.duration_seconds * 1000000)"
    ).fetchone() == (0,)
    assert c.execute("SELECT count(*) FROM retention_state "
                     "WHERE expires_at IS NULL").fetchone() == (10 + 4,)


def test_replay_gives_identical_views(data):
    p = run("--replay", "--data", str(data), check=0)
    before, after = digests(p.stdout)
    assert before == after
    assert f"events applied: {EVENTS}\n" in p.stdout
    assert "views: unchanged" in p.stdout
    assert re.search(r"events/s: \d+", p.stdout)
    # Replaying again is stable, and --check agrees.
    assert digests(run("--replay", "--data", str(data), check=0).stdout) \
        == (after, after)
    p = run("--replay", "--check", "--data", str(data), check=0)
    assert digests(p.stdout) == (after, after)
    assert "check: views match the log" in p.stdout
    assert not [f for f in os.listdir(data) if f.startswith("replay-check")]


def test_check_detects_and_replay_repairs_drifted_views(data):
    good = digests(run("--replay", "--check", "--data", str(data),
                       check=0).stdout)[0]
    c = db(data)
    c.execute("UPDATE packages SET name = 'tampered' WHERE id IN "
              "(SELECT id FROM packages LIMIT 1)")
    c.execute("DELETE FROM files WHERE id IN (SELECT id FROM files LIMIT 1)")
    c.commit()
    c.close()
    mtime = os.stat(data / "artifactstore.db").st_mtime_ns
    p = run("--replay", "--check", "--data", str(data), check=1)
    before, after = digests(p.stdout)
    assert before != after and after == good
    assert "MISMATCH" in p.stdout
    assert os.stat(data / "artifactstore.db").st_mtime_ns == mtime  # untouched
    p = run("--replay", "--data", str(data), check=0)
    assert digests(p.stdout)[1] == good
    assert "views: rebuilt" in p.stdout
    run("--replay", "--check", "--data", str(data), check=0)


def test_verify_log_ok(data):
    p = run("--verify-log", "--data", str(data), check=0)
    assert f"ok, {EVENTS} events verified" in p.stdout


@pytest.mark.parametrize("seq", [1, 57, EVENTS])
def test_verify_log_flipped_payload_byte(data, seq):
    c = db(data)
    payload = bytearray(c.execute("SELECT payload FROM events WHERE sequence = ?",
                                  (seq,)).fetchone()[0])
    payload[len(payload) // 2] ^= 0x01
    c.execute("UPDATE events SET payload = ? WHERE sequence = ?",
              (bytes(payload), seq))
    c.commit()
    c.close()
    p = run("--verify-log", "--data", str(data), check=1)
    assert f"FAILED at sequence {seq}: payload digest" in p.stdout


def test_verify_log_edited_field(data):
    c = db(data)
    c.execute("UPDATE events SET actor = 'mallory' WHERE sequence = 12")
    c.commit()
    c.close()
    p = run("--verify-log", "--data", str(data), check=1)
    assert "FAILED at sequence 12: chain digest" in p.stdout


@pytest.mark.parametrize("edit", [
    "actor = actor || char(0) || 'x'",          # hidden after a NUL
    "event_type = event_type || char(0)",
    "payload = CAST(payload AS TEXT)",          # same bytes, other type
])
def test_verify_log_type_and_nul_edits(data, edit):
    c = db(data)
    c.execute(f"UPDATE events SET {edit} WHERE sequence = 21")
    c.commit()
    c.close()
    p = run("--verify-log", "--data", str(data), check=1)
    assert "FAILED at sequence 21" in p.stdout, p.stdout


@pytest.mark.parametrize("seq", [1, 77, EVENTS])
def test_verify_log_deleted_row(data, seq):
    c = db(data)
    c.execute("DELETE FROM events WHERE sequence = ?", (seq,))
    c.commit()
    c.close()
    p = run("--verify-log", "--data", str(data), check=1)
    assert f"FAILED at sequence {seq}: missing" in p.stdout


def test_commands_refuse_while_locked(data):
    # The lock is a flock on the directory itself (no lock file).
    fd = os.open(data, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for args in (["--replay"], ["--replay", "--check"], ["--verify-log"]):
            p = run(*args, "--data", str(data), check=1)
            assert "in use by another artifactstored" in p.stderr
            assert "stop that process first" in p.stderr
    finally:
        os.close(fd)
    assert not (data / "lock").exists()
    run("--verify-log", "--data", str(data), check=0)


def test_newer_schema_is_refused(data):
    c = sqlite3.connect(str(data / "artifactstore.db"))
    c.execute("PRAGMA user_version = 999")
    c.commit()
    c.close()
    for args in (["--replay"], ["--verify-log"]):
        p = run(*args, "--data", str(data), check=1)
        assert "schema version 999" in p.stderr
        assert "newer artifactstored" in p.stderr


def test_missing_database(tmp_path):
    p = run("--verify-log", "--data", str(tmp_path), check=1)
    assert "holds no artifactstored data" in p.stderr
    assert os.listdir(tmp_path) == []   # nothing created


def test_workload_directory_is_marked(data):
    assert (data / "artifactstored.id").exists()


def test_manifest_payload_shape_and_digest(data):
    """Cross-checks with independent implementations: cbor2 decodes the
    manifest to the documented shape and re-encodes it canonically to the
    same bytes; b3sum of the bytes is the recorded manifest_digest."""
    import cbor2
    c = sqlite3.connect(str(data / "artifactstore.db"))
    rows = c.execute(
        "SELECT e.payload, e.payload_digest, p.manifest_digest, p.id "
        "FROM packages p JOIN events e ON e.sequence = p.finalized_seq").fetchall()
    assert len(rows) == 20
    for payload, pdigest, mdigest, pid in rows:
        m = cbor2.loads(payload)
        assert set(m) == {"version", "package", "files"} and m["version"] == 1
        assert set(m["package"]) == {"id", "name", "producer", "subject",
                                     "retention_class", "metadata",
                                     "created_at", "finalized_at"}
        assert m["package"]["id"].replace("-", "") == pid.hex()
        paths = [f["path"] for f in m["files"]]
        assert len(paths) == 3 and paths == sorted(paths, key=lambda p: p.encode())
        for f in m["files"]:
            assert set(f) == {"path", "media_type", "size", "blake3", "sha256"}
            assert f["blake3"].startswith("blake3:") and len(f["blake3"]) == 71
        assert cbor2.dumps(m, canonical=True) == payload
        b3 = subprocess.run(["b3sum", "--no-names"], input=payload,
                            capture_output=True, check=True).stdout.split()[0]
        assert bytes.fromhex(b3.decode()) == pdigest == mdigest

"""`artifactstored --gc [--dry-run]` (the collector with the daemon
stopped) and GET /v1/stats (docs/OPERATOR.md "Retention", docs/API.md)."""
import os
import sqlite3
import subprocess
import time

from apihelp import Api, b3sum_bytes, blob_files
from conftest import Proc, daemon_argv


def start(tmp_path, data_dir, name, *flags):
    p = Proc(daemon_argv(data_dir, [str(f) for f in flags]), tmp_path,
             name).start()
    p.data_dir = data_dir
    return p


def run(*args, timeout=120):
    return subprocess.run([os.environ["ARTIFACTSTORED"], *args],
                          capture_output=True, text=True, timeout=timeout)


def blob_path(data_dir, hexd):
    return os.path.join(data_dir, "blobs", "blake3", hexd[:2], hexd[2:4], hexd)


def events(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "artifactstore.db"))
    try:
        return [r[0] for r in db.execute(
            "SELECT event_type FROM events ORDER BY sequence")]
    finally:
        db.close()


def stats(api):
    return api.json("GET", "/v1/stats")


def make_store(tmp_path, data_dir):
    """A finalized package holding `kept`, an aborted one that held
    `kept` and `gone` (so `gone` is a candidate, `kept` live), and an old
    orphan file.  Returns (kept_hex, gone_hex, orphan_hex)."""
    d = start(tmp_path, data_dir, "setup", "--sweep-interval", "0")
    api = Api(d)
    kept, gone = os.urandom(3000), os.urandom(4000)
    live = api.create(name="live")["id"]
    dead = api.create(name="dead")["id"]
    for pid, path, body in ((live, "k", kept), (dead, "k", kept),
                            (dead, "g", gone)):
        st, _, data = api.req("PUT", f"/v1/packages/{pid}/files/{path}",
                              body=body)
        assert st == 201, data
    api.json("POST", f"/v1/packages/{live}/finalize")
    s0 = stats(api)
    assert s0["blobs"]["live"] == 2 and s0["blobs"]["candidates"] == 0
    assert s0["packages"]["open"] == 1 and s0["packages"]["finalized"] == 1
    api.json("DELETE", f"/v1/packages/{dead}")
    s1 = stats(api)
    assert s1["blobs"] == {"live": 1, "live_bytes": 3000, "candidates": 1,
                           "reclaimable_bytes": 4000, "collected": 0}, s1
    assert s1["packages"]["aborted"] == 1 and s1["packages"]["open"] == 0
    assert s1["last_sequence"] == api.last_sequence()
    # no pass has run (--sweep-interval 0): the trash was never measured
    assert s1["trash"] == {"files": None, "bytes": None,
                           "measured_at": None}, s1
    assert d.stop() == 0
    orphan = os.urandom(100)
    oh = b3sum_bytes(orphan)
    os.makedirs(os.path.dirname(blob_path(data_dir, oh)), exist_ok=True)
    with open(blob_path(data_dir, oh), "wb") as f:
        f.write(orphan)
    old = time.time() - 7200
    os.utime(blob_path(data_dir, oh), (old, old))
    return b3sum_bytes(kept), b3sum_bytes(gone), oh


def test_dry_run_lists_and_changes_nothing(tmp_path, data_dir):
    kept, gone, orphan = make_store(tmp_path, data_dir)
    before_events, before_blobs = events(data_dir), blob_files(data_dir)

    # default grace (3600 s): the candidate is too young, the orphan old
    r = run("--gc", "--dry-run", "--data", str(data_dir))
    assert r.returncode == 0, r.stderr
    assert orphan in r.stdout and "orphan" in r.stdout
    assert gone not in r.stdout and kept not in r.stdout
    assert "would collect 1 blobs (100 bytes)" in r.stdout, r.stdout

    r = run("--gc", "--dry-run", "--gc-grace", "0", "--data", str(data_dir))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("would "
                                                                  "collect ")]
    assert any(gone in ln and "unreferenced since event" in ln
               for ln in lines), r.stdout
    assert any(orphan in ln and "orphan" in ln for ln in lines), r.stdout
    assert not any(kept in ln for ln in lines), r.stdout
    assert "would collect 2 blobs (4100 bytes): 1 unreferenced" in r.stdout

    assert events(data_dir) == before_events
    assert blob_files(data_dir) == before_blobs
    assert not os.listdir(os.path.join(data_dir, "trash"))


def test_gc_collects_and_replays(tmp_path, data_dir):
    kept, gone, orphan = make_store(tmp_path, data_dir)
    n0 = len(events(data_dir))

    r = run("--gc", "--gc-grace", "0", "--data", str(data_dir))
    assert r.returncode == 0, r.stderr
    assert "collected 2 blobs (4100 bytes): 1 unreferenced" in r.stdout
    evs = events(data_dir)
    assert evs[n0:] == ["v1.blob.collected"] * 2, evs[n0:]
    trash = sorted(os.listdir(os.path.join(data_dir, "trash")))
    assert [t.split(".")[0] for t in trash] == sorted([gone, orphan]), trash
    assert not os.path.exists(blob_path(data_dir, gone))
    assert not os.path.exists(blob_path(data_dir, orphan))
    assert os.path.exists(blob_path(data_dir, kept))

    # nothing left to do; the views are what the log says
    r = run("--gc", "--gc-grace", "0", "--data", str(data_dir))
    assert r.returncode == 0 and "collected 0 blobs" in r.stdout, r.stdout
    for args in (["--replay", "--check"], ["--verify-log", "--blobs"]):
        r = run(*args, "--data", str(data_dir))
        assert r.returncode == 0, (args, r.stdout, r.stderr)

    # the daemon reports it, the trash as its first pass measured it
    d = start(tmp_path, data_dir, "after", "--sweep-interval", "1",
              "--trash-ttl", "3600")
    api = Api(d)
    deadline = time.time() + 20
    while stats(api)["trash"]["files"] is None and time.time() < deadline:
        time.sleep(0.1)
    s = stats(api)
    assert s["blobs"] == {"live": 1, "live_bytes": 3000, "candidates": 0,
                          "reclaimable_bytes": 0, "collected": 1}, s
    assert s["trash"]["files"] == 2 and s["trash"]["bytes"] == 4100, s
    assert s["trash"]["measured_at"].endswith("Z")
    assert d.stop() == 0


def test_gc_refuses_while_daemon_runs_and_bad_flags(tmp_path, data_dir):
    d = start(tmp_path, data_dir, "d", "--sweep-interval", "0")
    r = run("--gc", "--data", str(data_dir))
    assert r.returncode == 1 and "in use" in r.stderr, r.stderr
    assert d.stop() == 0
    for args, says in (
            (["--dry-run"], "--dry-run only goes with --gc"),
            (["--replay", "--dry-run"], "--dry-run only goes with --gc"),
            (["--gc", "--replay"], "are exclusive"),
            (["--gc", "--trash-ttl", "5"], "only go with the daemon"),
            (["--gc", "--gc-grace", "-1"], "expected a whole number"),
            (["--verify-log", "--gc-grace", "5"],
             "--gc-grace only goes with the daemon or --gc")):
        r = run(*args, "--data", str(data_dir))
        assert r.returncode == 2, (args, r.stderr)
        assert says in r.stderr, (args, r.stderr)

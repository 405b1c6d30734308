"""The data directory at start-up: the marker says a directory is ours; a
foreign one is refused and left untouched; a store whose database went
missing is refused; the lock cannot be bypassed by deleting a file; tmp
clean-up removes only our temp files; the listen address is checked before
anything is created; the database file and the recent hash chain are
checked before anything is served (docs/OPERATOR.md, "The data
directory")."""
import json
import os
import re
import socket
import sqlite3
import subprocess
import time
import uuid

import pytest

from apihelp import Api, tmp_files
from conftest import Proc, RawSock, daemon_argv

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

MARKER = "artifactstored.id"
DB = "artifactstore.db"


def start(tmp_path, data_dir, name, extra=()):
    p = Proc(daemon_argv(data_dir, extra), tmp_path, name).start()
    p.data_dir = data_dir
    return p


def refused(data_dir, extra=(), cwd=None):
    """Starts the daemon expecting it to refuse; returns the details of
    its error lines (each stderr line is JSON, level error)."""
    r = subprocess.run(daemon_argv(data_dir, extra), capture_output=True,
                       text=True, timeout=60, cwd=cwd)
    assert r.returncode != 0, r.stderr
    assert '"listening"' not in r.stderr
    return refusal_text(r.stderr)


def refusal_text(stderr):
    """The daemon's stderr as JSON lines; the details of its errors."""
    recs = [json.loads(line) for line in stderr.splitlines()]
    errors = [x for x in recs if x["level"] == "error"]
    assert errors and all(x["msg"] == "cannot start" for x in errors), stderr
    assert all(TS.fullmatch(x["ts"]) for x in recs), stderr
    return "\n".join(x["detail"] for x in errors)


def listening(p):
    return [r for r in p.records() if r.get("msg") == "listening"][-1]


def snapshot(root):
    """Every path under root with its size and mtime: proves 'untouched'."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            path = os.path.join(dirpath, n)
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return out


def make_store(tmp_path, data_dir, packages=3):
    d = start(tmp_path, data_dir, "mk")
    api = Api(d)
    for i in range(packages):
        api.create(name=f"p{i}")
    seq = api.last_sequence()
    assert d.stop() == 0
    return seq


def test_first_start_initialises_and_logs_absolute_path(tmp_path):
    data = tmp_path / "new"                      # does not exist yet
    d = start(tmp_path, data, "first")
    rec = listening(d)
    marker = json.loads((data / MARKER).read_text())
    assert set(marker) == {"format", "format_version", "store_id",
                           "created_at"}
    assert marker["format"] == "artifactstored-data"
    assert marker["format_version"] == 1
    assert str(uuid.UUID(marker["store_id"])) == marker["store_id"]
    assert marker["created_at"].endswith("Z") and "T" in marker["created_at"]
    assert rec["data"] == os.path.realpath(data)
    assert rec["store_id"] == marker["store_id"]
    assert not (data / "lock").exists()
    assert d.stop() == 0
    # Restart: same marker, same id; a relative --data is logged absolute.
    argv = daemon_argv("new")
    p = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    line = p.stderr.readline()
    while '"listening"' not in line:
        assert line, "daemon exited"
        line = p.stderr.readline()
    p.terminate()
    assert p.wait(timeout=30) == 0
    rec = json.loads(line)
    assert rec["data"] == str(data) and rec["store_id"] == marker["store_id"]
    assert json.loads((data / MARKER).read_text()) == marker


@pytest.mark.parametrize("extra", [(), ("--init",)])
def test_foreign_directory_is_refused_and_untouched(tmp_path, extra):
    """The issue's reproduction: started in a directory that has a var/ of
    someone else's, the default ./var is refused and var/tmp/important.txt
    survives; nothing is created (no lock file, no blobs/, no database)."""
    scratch = tmp_path / "scratch"
    (scratch / "var" / "tmp").mkdir(parents=True)
    (scratch / "var" / "tmp" / "important.txt").write_text("keep me")
    (scratch / "var" / "tmp" / "sub").mkdir()
    before = snapshot(scratch)
    argv = [a for a in daemon_argv("unused") if a not in ("--data", "unused")]
    r = subprocess.run([*argv, *extra], cwd=scratch, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    err = refusal_text(r.stderr)
    assert "not an artifactstored data directory" in err
    assert "nothing in it was touched" in err
    assert str(scratch / "var") in err
    assert snapshot(scratch) == before
    assert (scratch / "var" / "tmp" / "important.txt").read_text() == "keep me"


def test_empty_directory_with_lost_found_and_old_lock_initialises(tmp_path):
    data = tmp_path / "mnt"
    (data / "lost+found").mkdir(parents=True)
    (data / "lock").touch()                      # left by an older version
    d = start(tmp_path, data, "mnt")
    assert (data / MARKER).exists()
    assert d.stop() == 0


def test_tmp_cleanup_removes_only_our_temp_files(tmp_path, data_dir):
    make_store(tmp_path, data_dir, packages=1)
    t = data_dir / "tmp"
    ours = "0123456789abcdef" * 2
    (t / ours).write_bytes(b"partial upload")
    strangers = ["important.txt", "0123456789ABCDEF" * 2, ours[:-1],
                 ours + "0"]
    for n in strangers:
        (t / n).write_text("keep")
    (t / ("f" * 32)).mkdir()                     # our form, but a directory
    (t / ("e" * 32)).symlink_to(tmp_path / "elsewhere")
    d = start(tmp_path, data_dir, "clean")
    assert sorted(tmp_files(data_dir)) == sorted(strangers + ["e" * 32,
                                                              "f" * 32])
    warn = [r for r in d.records() if r.get("msg") == "warning"]
    assert warn and "left as they are" in warn[0]["detail"]
    assert "6 entries" in warn[0]["detail"]
    assert d.stop() == 0


def test_store_without_marker_needs_init(tmp_path, data_dir):
    """A store made before markers existed is recognised by its database
    and adopted with --init, history intact."""
    seq = make_store(tmp_path, data_dir)
    (data_dir / MARKER).unlink()
    (data_dir / "lock").touch()                  # the old layout had one
    before = snapshot(data_dir)
    err = refused(data_dir)
    assert "older artifactstored" in err and "--init" in err
    assert snapshot(data_dir) == before
    d = start(tmp_path, data_dir, "adopt", ("--init",))
    assert json.loads((data_dir / MARKER).read_text())["format_version"] == 1
    assert listening(d)["last_sequence"] == seq
    assert d.stop() == 0
    assert start(tmp_path, data_dir, "again").stop() == 0   # no --init now


@pytest.mark.parametrize("how", ["deleted", "truncated"])
def test_missing_or_empty_database_is_refused(tmp_path, data_dir, how):
    make_store(tmp_path, data_dir)
    blob = os.urandom(1000)
    d = start(tmp_path, data_dir, "blob")
    pid = Api(d).create()["id"]
    assert Api(d).req("PUT", f"/v1/packages/{pid}/files/b", body=blob)[0] == 201
    assert d.stop() == 0
    c = sqlite3.connect(str(data_dir / DB))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    for sfx in ("-wal", "-shm"):
        if (data_dir / (DB + sfx)).exists():
            (data_dir / (DB + sfx)).unlink()
    if how == "deleted":
        (data_dir / DB).unlink()
    else:
        os.truncate(data_dir / DB, 0)
    before = snapshot(data_dir)
    err = refused(data_dir)
    assert f"database {data_dir}/{DB} is missing or empty" in err
    assert "backup" in err and "--init" in err
    assert "nothing was lost" not in err  # a blob is stored
    assert snapshot(data_dir) == before
    for args in (["--verify-log"], ["--replay"]):
        r = subprocess.run([daemon_argv(data_dir)[0], *args, "--data",
                            str(data_dir)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 1 and "no database at" in r.stderr
    assert snapshot(data_dir) == before
    # --init: deliberately a new, empty log over the existing blobs
    d = start(tmp_path, data_dir, "init", ("--init",))
    assert listening(d)["last_sequence"] == 0
    assert d.stop() == 0


def test_init_refuses_stale_wal(tmp_path, data_dir):
    make_store(tmp_path, data_dir)
    (data_dir / DB).unlink()
    (data_dir / (DB + "-wal")).write_bytes(b"x" * 100)
    err = refused(data_dir, ("--init",))
    assert f"{DB}-wal is left from the lost database" in err
    assert not (data_dir / DB).exists()


@pytest.mark.parametrize("marker, says", [
    ('{"format":"artifactstored-data","format_version":2,"store_id":'
     '"01a23782-3d16-7554-aa25-94497e6abe4c","created_at":"x"}',
     "format_version 2"),
    ('{"format":"something-else","format_version":1}', '"format"'),
    ("not json", "not a JSON object"),
])
def test_bad_marker_is_refused(tmp_path, data_dir, marker, says):
    make_store(tmp_path, data_dir, packages=1)
    (data_dir / MARKER).write_text(marker)
    for extra in ((), ("--init",)):
        err = refused(data_dir, extra)
        assert f"{data_dir}/{MARKER}" in err and says in err, err


def test_deleting_files_cannot_bypass_the_lock(tmp_path, data_dir):
    """Daemon A holds the directory; deleting any file (the marker, an old
    lock file) does not let daemon B start, so B never cleans A's tmp/:
    A's upload in flight completes."""
    a = start(tmp_path, data_dir, "a")
    api = Api(a)
    pid = api.create()["id"]
    body = os.urandom(3 << 20)
    s = RawSock(a.host, a.port)
    s.send(b"PUT /v1/packages/%s/files/inflight HTTP/1.1\r\nHost: x\r\n"
           b"Content-Length: %d\r\n\r\n" % (pid.encode(), len(body))
           + body[:1 << 20])
    deadline = time.time() + 10
    while not tmp_files(data_dir) and time.time() < deadline:
        time.sleep(0.02)
    temps = tmp_files(data_dir)
    assert len(temps) == 1
    for n in os.listdir(data_dir):
        if os.path.isfile(data_dir / n) and not n.startswith(DB):
            os.unlink(data_dir / n)
    assert not (data_dir / MARKER).exists()
    err = refused(data_dir)
    assert "in use by another artifactstored" in err
    assert tmp_files(data_dir) == temps          # B removed nothing
    s.send(body[1 << 20:])
    st, _, data = s.response()
    assert st == 201, data
    files = api.json("GET", f"/v1/packages/{pid}/files")["files"]
    assert api.req("GET", f"/v1/files/{files[0]['id']}")[2] == body
    assert a.stop() == 0


def test_operator_commands_refuse_while_the_daemon_runs(daemon):
    for args in (["--verify-log"], ["--replay"]):
        r = subprocess.run([daemon_argv(daemon.data_dir)[0], *args, "--data",
                            str(daemon.data_dir)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 1 and "in use by another" in r.stderr


def test_port_in_use_creates_nothing(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    data = tmp_path / "never"
    argv = daemon_argv(data)
    argv[argv.index("--listen") + 1] = f"127.0.0.1:{port}"
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    busy.close()
    assert r.returncode != 0 and "cannot listen" in refusal_text(r.stderr)
    assert not data.exists()


@pytest.mark.parametrize("args", [["--verify-log"], ["--replay"],
                                  ["--replay", "--check"]])
def test_operator_commands_create_nothing(tmp_path, args):
    exe = daemon_argv("x")[0]
    missing = tmp_path / "missing"
    r = subprocess.run([exe, *args, "--data", str(missing)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run([exe, *args, "--data", str(empty)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "holds no artifactstored data" in r.stderr
    assert os.listdir(empty) == []


def edit_payload(data_dir, seq):
    c = sqlite3.connect(str(data_dir / DB))
    c.execute("DROP TRIGGER IF EXISTS events_no_update")
    payload = bytearray(c.execute("SELECT payload FROM events WHERE "
                                  "sequence = ?", (seq,)).fetchone()[0])
    payload[len(payload) // 2] ^= 0x01
    c.execute("UPDATE events SET payload = ? WHERE sequence = ?",
              (bytes(payload), seq))
    c.commit()
    c.close()


def test_edited_row_is_refused_naming_the_sequence(tmp_path, data_dir):
    last = make_store(tmp_path, data_dir, packages=12)
    edit_payload(data_dir, 7)
    err = refused(data_dir)
    assert "fails its check at sequence 7" in err
    assert "--verify-log" in err and "backup" in err
    # Only the last N events are checked: an edit before them starts.
    d = start(tmp_path, data_dir, "older", ("--verify-recent", str(last - 7)))
    checked = [r for r in d.records() if r.get("msg") == "checked"][-1]
    assert checked["chain_events"] == last - 7
    assert d.stop() == 0
    err = refused(data_dir, ("--verify-recent", str(last - 6)))
    assert "at sequence 7" in err
    assert start(tmp_path, data_dir, "off",
                 ("--verify-recent", "0")).stop() == 0


def test_damaged_pages_are_refused_at_quick_check(tmp_path, data_dir):
    make_store(tmp_path, data_dir, packages=300)
    c = sqlite3.connect(str(data_dir / DB))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = c.execute("PRAGMA page_size").fetchone()[0]
    pages = c.execute("PRAGMA page_count").fetchone()[0]
    c.close()
    assert pages >= 20
    with open(data_dir / DB, "r+b") as f:
        f.seek(page * (pages // 2))
        f.write(b"\xa5" * page * 4)
    err = refused(data_dir)
    assert "quick_check" in err and "damaged" in err
    assert "--verify-log" in err and "backup" in err


def test_options_only_for_the_daemon(tmp_path):
    exe = daemon_argv("x")[0]
    for bad in (["--verify-log", "--init"], ["--replay", "--verify-recent", "5"],
                ["--verify-recent", "-1"], ["--verify-recent", "x"]):
        r = subprocess.run([exe, *bad, "--data", str(tmp_path / "d")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, bad
    assert not (tmp_path / "d").exists()


def test_clean_stop_leaves_the_log_in_the_database_file(tmp_path, data_dir):
    """A clean stop checkpoints the WAL: the database file alone holds
    every committed event (before, the read-only readers closed last and
    the events could stay in artifactstore.db-wal)."""
    seq = make_store(tmp_path, data_dir, packages=5)
    alone = tmp_path / "alone.db"
    alone.write_bytes((data_dir / DB).read_bytes())  # no -wal beside it
    con = sqlite3.connect(alone)
    try:
        n = con.execute("SELECT max(sequence) FROM events").fetchone()[0]
    finally:
        con.close()
    assert n == seq


def test_first_start_cut_short_says_init_is_safe(tmp_path, data_dir):
    """Marker written, database never made (a first start that failed):
    still refused, but the message says no blob is stored."""
    d = start(tmp_path, data_dir, "first")
    assert d.stop() == 0
    for sfx in ("", "-wal", "-shm"):
        if (data_dir / (DB + sfx)).exists():
            (data_dir / (DB + sfx)).unlink()
    err = refused(data_dir)
    assert "is missing or empty" in err
    assert "nothing was lost and --init is safe" in err


def test_command_line_errors(tmp_path):
    """A command line the daemon refuses is one JSON error line; one that
    names an operator command stays plain text for the person typing."""
    exe = daemon_argv("x")[0]
    r = subprocess.run([exe, "--listen", "nohost"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    rec = json.loads(r.stderr)
    assert rec["level"] == "error" and rec["msg"] == "bad command line"
    assert 'expected HOST:PORT' in rec["detail"] and TS.fullmatch(rec["ts"])
    r = subprocess.run([exe, "--verify-log", "--bogus"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == 'artifactstored: unknown option "--bogus"; see --help\n'

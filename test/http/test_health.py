"""GET /health tells the truth about the data directory, from the loop.

The daemon checks the database and the blob store every second on the
threadpool and answers /health from the last result, so a change shows
within about a second; the tests poll for it (bounded).
"""
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from conftest import daemon_argv


def get_health(daemon):
    try:
        with urllib.request.urlopen(daemon.base + "/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_health(daemon, want_status, timeout=10):
    deadline = time.time() + timeout
    while True:
        status, body = get_health(daemon)
        if status == want_status or time.time() > deadline:
            return status, body
        time.sleep(0.1)


def test_health_ok(daemon):
    status, body = get_health(daemon)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["blob_store"] == "ok"
    assert body["free_bytes"] > 0
    assert body["last_sequence"] == 0
    assert 0 <= body["checked_ms_ago"] < 5000


def test_health_last_sequence_follows_commits(daemon):
    req = urllib.request.Request(
        daemon.base + "/v1/packages", method="POST",
        data=json.dumps({"name": "n", "producer": "p", "subject": "s",
                         "retention_class": "transient"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201
    status, body = get_health(daemon)
    assert status == 200 and body["last_sequence"] == 1


def test_health_503_when_blob_dirs_unusable(daemon):
    # Replace <data>/tmp with a plain file: uploads could not land, so the
    # store is not healthy (as root, permission bits would not show this).
    tmp = daemon.data_dir / "tmp"
    shutil.rmtree(tmp)
    tmp.write_bytes(b"not a directory")
    status, body = wait_health(daemon, 503)
    assert status == 503, body
    assert body["status"] == "unavailable"
    assert body["blob_store"] == "unavailable"
    assert body["database"] == "ok"
    # Repaired, it is healthy again without a restart.
    tmp.unlink()
    tmp.mkdir()
    status, body = wait_health(daemon, 200)
    assert status == 200 and body["status"] == "ok", body


def test_start_fails_cleanly_when_port_taken(data_dir, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    argv = daemon_argv(data_dir)
    argv[argv.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
    try:
        p = subprocess.run(argv, capture_output=True, timeout=30)
    finally:
        s.close()
    assert p.returncode == 1
    assert b"address already in use" in p.stderr.lower() or b"in use" in p.stderr, p.stderr

"""GET /health tells the truth about the data directory."""
import json
import shutil
import urllib.error
import urllib.request


def get_health(daemon):
    try:
        with urllib.request.urlopen(daemon.base + "/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_health_ok(daemon):
    status, body = get_health(daemon)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["blob_store"] == "ok"
    assert body["free_bytes"] > 0
    assert body["last_sequence"] == 0


def test_health_503_when_blob_dirs_unusable(daemon):
    # Replace <data>/tmp with a plain file: uploads could not land, so the
    # store is not healthy (as root, permission bits would not show this).
    tmp = daemon.data_dir / "tmp"
    shutil.rmtree(tmp)
    tmp.write_bytes(b"not a directory")
    status, body = get_health(daemon)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["blob_store"] == "unavailable"
    assert body["database"] == "ok"
    # Repaired, it is healthy again without a restart.
    tmp.unlink()
    tmp.mkdir()
    status, body = get_health(daemon)
    assert status == 200 and body["status"] == "ok"

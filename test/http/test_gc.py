"""The sweeper and collector (docs/OPERATOR.md "Retention"): open-package
TTL, collection after the grace period, the trash and its TTL, orphans,
kill -9 during a pass, and the dedupe-vs-collect race under stress."""
import base64
import hashlib
import http.client
import json
import os
import random
import subprocess
import threading
import time

from apihelp import Api, b3sum_bytes, blob_files, tmp_files
from conftest import Proc, RawSock, daemon_argv


def start(tmp_path, data_dir, name, *flags):
    p = Proc(daemon_argv(data_dir, [str(f) for f in flags]), tmp_path,
             name).start()
    p.data_dir = data_dir
    return p


def blob_path(data_dir, hexd):
    return os.path.join(data_dir, "blobs", "blake3", hexd[:2], hexd[2:4], hexd)


def trash_files(data_dir):
    t = os.path.join(data_dir, "trash")
    return sorted(os.listdir(t)) if os.path.isdir(t) else []


def events(api, since=0):
    out = []
    while True:
        doc = api.json("GET", f"/v1/events?since={since}&limit=1000")
        out += doc["events"]
        if not doc["events"]:
            return out
        since = doc["next"]


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def offline_checks(data_dir):
    exe = os.environ["ARTIFACTSTORED"]
    for args in (["--replay", "--check"], ["--verify-log"]):
        r = subprocess.run([exe, *args, "--data", str(data_dir)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (args, r.stdout, r.stderr)


def b3_of(caddr):
    assert caddr.startswith("blake3:"), caddr
    return caddr[len("blake3:"):]


def test_flags_validated(tmp_path, data_dir):
    exe = os.environ.get("ARTIFACTSTORED")
    for flag in ("--sweep-interval", "--open-package-ttl", "--gc-grace",
                 "--trash-ttl"):
        for bad in ("-1", "x", "1.5", "", "99999999999999"):
            r = subprocess.run([exe, "--data", str(data_dir), flag, bad],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode != 0, (flag, bad)
            assert flag in r.stderr, r.stderr
        r = subprocess.run([exe, "--replay", "--data", str(data_dir), flag,
                            "5"], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, r.stderr
        assert ("only go with the daemon" in r.stderr or
                "--gc-grace only goes with the daemon or --gc" in r.stderr)
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    for flag in ("--sweep-interval", "--open-package-ttl", "--gc-grace",
                 "--trash-ttl"):
        assert flag in r.stdout + r.stderr


def test_open_ttl_collect_trash(tmp_path, data_dir):
    """An open package past --open-package-ttl is aborted by the sweeper,
    its blob collected (grace 0) and moved to trash/<hex>.<sequence>; a
    blob a finalized package holds stays; --trash-ttl 0 empties the
    trash; replay reproduces the views."""
    d = start(tmp_path, data_dir, "d1", "--sweep-interval", "3600")
    api = Api(d)
    keep = api.create(name="kept")["id"]
    gone = api.create(name="gone")["id"]
    shared = os.urandom(5000)
    only = os.urandom(7000)
    for pid, path, body in ((keep, "a", shared), (gone, "a", shared),
                            (gone, "b", only)):
        st, _, data = api.req("PUT", f"/v1/packages/{pid}/files/{path}",
                              body=body)
        assert st == 201, data
    api.json("POST", f"/v1/packages/{keep}/finalize")
    assert d.stop() == 0

    d = start(tmp_path, data_dir, "d2", "--sweep-interval", "1",
              "--open-package-ttl", "1", "--gc-grace", "0",
              "--trash-ttl", "3600")
    api = Api(d)
    only_hex, shared_hex = b3sum_bytes(only), b3sum_bytes(shared)

    def collected():
        evs = events(api)
        return evs if any(e["event_type"] == "v1.blob.collected"
                          for e in evs) else None
    evs = wait_for(collected, 30, "v1.blob.collected")
    types = [e["event_type"] for e in evs]
    assert types.count("v1.package.aborted") == 1
    ab = [e for e in evs if e["event_type"] == "v1.package.aborted"][0]
    assert ab["subject_id"] == gone, ab
    col = [e for e in evs if e["event_type"] == "v1.blob.collected"]
    assert len(col) == 1, col
    seq = col[0]["sequence"]
    wait_for(lambda: trash_files(data_dir) == [f"{only_hex}.{seq}"], 10,
             "the collected blob in the trash")
    assert not os.path.exists(blob_path(data_dir, only_hex))
    assert os.path.exists(blob_path(data_dir, shared_hex))
    assert api.json("GET", f"/v1/packages/{gone}")["status"] == "aborted"
    assert api.json("GET", f"/v1/packages/{keep}")["status"] == "finalized"
    # an aborted package takes no more files
    st, _, _ = api.req("PUT", f"/v1/packages/{gone}/files/c", body=b"late")
    assert 400 <= st < 500
    # the finalized package's file still downloads
    f = api.json("GET", f"/v1/packages/{keep}/files")["files"][0]
    st, _, data = api.req("GET", f"/v1/files/{f['id']}")
    assert st == 200 and data == shared
    wait_for(lambda: any(r.get("msg") == "retention pass" and
                         r.get("collected") == 1 for r in d.records()),
             10, "the pass logged")
    assert d.stop() == 0

    d = start(tmp_path, data_dir, "d3", "--sweep-interval", "1",
              "--gc-grace", "0", "--trash-ttl", "0")
    wait_for(lambda: trash_files(data_dir) == [], 30, "the trash emptied")
    wait_for(lambda: any(r.get("msg") == "trash emptied" and
                         r.get("removed") == 1 for r in d.records()),
             10, "the emptying logged")
    assert d.stop() == 0
    assert tmp_files(data_dir) == []
    offline_checks(data_dir)


def test_short_class_lifecycle(tmp_path, data_dir):
    """A 1-second class drives the whole lifecycle: finalize, expire at the
    next sweep (410 package-expired), blob collected (grace 0), trash
    emptied (TTL 0); a held package does not expire until its hold is
    released; replay reproduces the views."""
    d = start(tmp_path, data_dir, "d", "--sweep-interval", "1",
              "--gc-grace", "0", "--trash-ttl", "0")
    api = Api(d)
    api.json("POST", "/v1/retention-classes",
             {"name": "one-second", "duration_seconds": 1}, expect=201)
    body, held_body = os.urandom(4000), os.urandom(4100)
    pid = api.create(retention_class="one-second")["id"]
    held = api.create(retention_class="one-second", name="held")["id"]
    st, _, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body)
    assert st == 201, data
    fid = json.loads(data)["id"]
    st, _, data = api.req("PUT", f"/v1/packages/{held}/files/a",
                          body=held_body)
    assert st == 201, data
    hfid = json.loads(data)["id"]
    hold = api.json("POST", f"/v1/packages/{held}/holds",
                    {"reason": "case 2291"}, expect=201)
    for p in (pid, held):
        api.json("POST", f"/v1/packages/{p}/finalize")
    wait_for(lambda: api.json("GET", f"/v1/packages/{pid}")["status"] ==
             "expired", 30, "the package to expire")
    st, _, data = api.req("GET", f"/v1/files/{fid}")
    assert st == 410 and b"package-expired" in data, (st, data)
    hexd = b3sum_bytes(body)
    wait_for(lambda: not os.path.exists(blob_path(data_dir, hexd)) and
             not any(n.startswith(hexd) for n in trash_files(data_dir)),
             30, "the blob collected and the trash emptied")
    # held: past expires_at, but it stays, and its bytes with it
    time.sleep(2.5)
    assert api.json("GET", f"/v1/packages/{held}")["status"] == "finalized"
    st, _, data = api.req("GET", f"/v1/files/{hfid}")
    assert st == 200 and data == held_body
    st, _, _ = api.req("DELETE", f"/v1/packages/{held}/holds/{hold['id']}")
    assert st == 204
    wait_for(lambda: api.json("GET", f"/v1/packages/{held}")["status"] ==
             "expired", 30, "the released package to expire")
    hh = b3sum_bytes(held_body)
    wait_for(lambda: not os.path.exists(blob_path(data_dir, hh)) and
             trash_files(data_dir) == [], 30, "its blob collected, trash empty")
    types = [e["event_type"] for e in events(api)]
    assert types.count("v1.package.expired") == 2
    assert types.count("v1.blob.collected") == 2
    assert d.stop() == 0
    offline_checks(data_dir)


def test_orphan_collected(tmp_path, data_dir):
    """A blob file no event knows (kill -9 between rename and commit, or
    a collected blob whose move never happened) is collected by the
    orphan scan once older than the grace period, with the same event."""
    d = start(tmp_path, data_dir, "d1", "--sweep-interval", "3600")
    api = Api(d)
    pid = api.create()["id"]
    body = os.urandom(3000)
    st, _, _ = api.req("PUT", f"/v1/packages/{pid}/files/x", body=body)
    assert st == 201
    assert d.stop() == 0
    # plant an orphan: a well-formed blob file of bytes no file refers to
    orphan = os.urandom(2000)
    ohex = b3sum_bytes(orphan)
    os.makedirs(os.path.dirname(blob_path(data_dir, ohex)), exist_ok=True)
    with open(blob_path(data_dir, ohex), "wb") as f:
        f.write(orphan)
    old = time.time() - 7200
    os.utime(blob_path(data_dir, ohex), (old, old))

    d = start(tmp_path, data_dir, "d2", "--sweep-interval", "1",
              "--gc-grace", "3600", "--trash-ttl", "3600")
    api = Api(d)

    def collected():
        return [e for e in events(api)
                if e["event_type"] == "v1.blob.collected"]
    col = wait_for(collected, 30, "the orphan collected")
    assert len(col) == 1
    wait_for(lambda: trash_files(data_dir) ==
             [f"{ohex}.{col[0]['sequence']}"], 10, "the orphan in the trash")
    assert os.path.exists(blob_path(data_dir, b3sum_bytes(body)))
    time.sleep(1.5)  # another pass: nothing more to collect
    assert len(collected()) == 1
    assert d.stop() == 0
    offline_checks(data_dir)


def test_collected_not_moved(tmp_path, data_dir):
    """A crash between a collection's commit and its move leaves the file
    in blobs/ (simulated: put back from the trash by hand): the orphan
    scan at the next start collects it again, with a second event."""
    d = start(tmp_path, data_dir, "d0", "--sweep-interval", "0")
    api = Api(d)
    pid = api.create()["id"]
    body = os.urandom(2500)
    st, _, _ = api.req("PUT", f"/v1/packages/{pid}/files/x", body=body)
    assert st == 201
    hexd = b3sum_bytes(body)
    assert d.stop() == 0
    d = start(tmp_path, data_dir, "d1", "--sweep-interval", "1",
              "--open-package-ttl", "0", "--gc-grace", "0",
              "--trash-ttl", "3600")
    wait_for(lambda: trash_files(data_dir), 30, "the collection")
    assert d.stop() == 0
    (entry,) = trash_files(data_dir)
    os.rename(os.path.join(data_dir, "trash", entry),
              blob_path(data_dir, hexd))
    old = time.time() - 60
    os.utime(blob_path(data_dir, hexd), (old, old))

    d = start(tmp_path, data_dir, "d2", "--sweep-interval", "1",
              "--gc-grace", "0", "--trash-ttl", "3600")
    api = Api(d)

    def twice():
        col = [e for e in events(api)
               if e["event_type"] == "v1.blob.collected"]
        return col if len(col) == 2 else None
    col = wait_for(twice, 30, "the second collection")
    wait_for(lambda: len(trash_files(data_dir)) == 1 and
             not os.path.exists(blob_path(data_dir, hexd)), 10,
             "the file moved again")
    assert trash_files(data_dir) == [f"{hexd}.{col[1]['sequence']}"]
    assert d.stop() == 0
    offline_checks(data_dir)


def test_kill9_during_collection(tmp_path, data_dir):
    """kill -9 while passes abort and collect: the next start reconciles
    (collected blobs whose file stayed are found by the orphan scan and
    collected again) and no file of a live package loses its bytes."""
    d = start(tmp_path, data_dir, "d1", "--sweep-interval", "3600")
    api = Api(d)
    live = api.create(name="live")["id"]
    bodies = {}
    for i in range(20):
        b = os.urandom(1000 + i)
        st, _, _ = api.req("PUT", f"/v1/packages/{live}/files/f{i}", body=b)
        assert st == 201
        bodies[f"f{i}"] = b
    api.json("POST", f"/v1/packages/{live}/finalize")
    doomed = []
    for i in range(30):
        pid = api.create(name=f"doomed{i}")["id"]
        for k in range(10):
            st, _, _ = api.req("PUT", f"/v1/packages/{pid}/files/{k}",
                               body=os.urandom(500))
            assert st == 201
        doomed.append(pid)
    assert d.stop() == 0

    rng = random.Random(13)
    for round_ in range(3):
        d = start(tmp_path, data_dir, f"k{round_}", "--sweep-interval", "1",
                  "--open-package-ttl", "0", "--gc-grace", "0",
                  "--trash-ttl", "3600")
        time.sleep(1.0 + rng.random() * 0.3)
        d.kill9()

    d = start(tmp_path, data_dir, "d2", "--sweep-interval", "1",
              "--open-package-ttl", "0", "--gc-grace", "0",
              "--trash-ttl", "3600")
    api = Api(d)

    def reconciled():
        # every doomed blob is gone from blobs/ and in the trash
        evs = events(api)
        ab = {e["subject_id"] for e in evs
              if e["event_type"] == "v1.package.aborted"}
        return len(ab) == 30 and len(blob_files(data_dir)) == 20
    wait_for(reconciled, 60, "every aborted package's blobs collected")
    for f in api.json("GET", f"/v1/packages/{live}/files")["files"]:
        st, _, data = api.req("GET", f"/v1/files/{f['id']}")
        assert st == 200 and data == bodies[f["path"]], f
    assert len(trash_files(data_dir)) >= 300
    assert d.stop() == 0
    assert tmp_files(data_dir) == []
    offline_checks(data_dir)


def test_refused_and_gone_uploads_settle(tmp_path, data_dir):
    """Every end of an upload settles its kept copy exactly once: a
    registry refusal (the package was aborted while the body came) leaves
    no kept name in tmp/, and its blob, an orphan, is collected; a client
    gone before the answer leaves none either."""
    d = start(tmp_path, data_dir, "d", "--sweep-interval", "1",
              "--open-package-ttl", "0", "--gc-grace", "0",
              "--trash-ttl", "3600")
    api = Api(d)
    pid = api.create()["id"]
    body = os.urandom(300000)
    up = RawSock(d.host, d.port)
    up.send(b"PUT /v1/packages/%s/files/late HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: %d\r\n\r\n" % (pid.encode(), len(body)) +
            body[:1000])
    wait_for(lambda: api.json("GET", f"/v1/packages/{pid}")["status"] ==
             "aborted", 30, "the sweeper to abort the package")
    up.send(body[1000:])
    st, _, data = up.response()
    assert 400 <= st < 500, (st, data)
    assert tmp_files(data_dir) == []
    hexd = b3sum_bytes(body)
    wait_for(lambda: any(n.startswith(hexd + ".")
                         for n in trash_files(data_dir)), 30,
             "the refused upload's blob collected as an orphan")
    assert not os.path.exists(blob_path(data_dir, hexd))

    # the client goes away right after its last byte
    for i in range(20):
        pid = api.create()["id"]
        gone = RawSock(d.host, d.port)
        b = os.urandom(20000)
        gone.send(b"PUT /v1/packages/%s/files/g HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n" % (pid.encode(), len(b)) +
                  b)
        gone.s.close()
    time.sleep(0.5)
    wait_for(lambda: tmp_files(data_dir) == [], 10, "tmp/ empty")
    assert not [r for r in d.records() if r.get("level") == "error"]
    assert d.stop() == 0
    offline_checks(data_dir)


# --- the dedupe-vs-collect race -------------------------------------------

STRESS_THREADS = 6
STRESS_UPLOADS = 10000
STRESS_SECONDS = 45
STRESS_CONTENTS = 4


def test_dedupe_vs_collect_stress(tmp_path, data_dir):
    """Thousands of uploads of the same few contents into fresh packages
    while the sweeper aborts every open package each second and the
    collector collects their blobs at once: an acknowledged file of a
    package that is still open must have its blob in place, and every
    acknowledged file of a finalized package downloads with its digests.
    """
    d = start(tmp_path, data_dir, "d", "--sweep-interval", "1",
              "--open-package-ttl", "0", "--gc-grace", "0",
              "--trash-ttl", "0")
    lock = threading.Lock()
    gen = [0] * STRESS_CONTENTS
    seeds = [os.urandom(4096) for _ in range(STRESS_CONTENTS)]
    state = {"uploads": 0, "acked": 0, "finalized": [], "missing": [],
             "errors": []}
    stop_at = time.time() + STRESS_SECONDS

    def content(k, g):
        return seeds[k] + g.to_bytes(8, "big")

    def worker(n):
        rng = random.Random(n)
        conn = http.client.HTTPConnection(d.host, d.port, timeout=60)

        def req(method, path, body=None):
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, r.read()
        recheck = []
        while time.time() < stop_at:
            with lock:
                if state["uploads"] >= STRESS_UPLOADS:
                    break
                state["uploads"] += 1
                k = rng.randrange(STRESS_CONTENTS)
                g = gen[k]
            body = content(k, g)
            st, data = req("POST", "/v1/packages", json.dumps(
                {"name": "race", "producer": "ci", "subject": "s",
                 "retention_class": "transient"}).encode())
            if st != 201:
                state["errors"].append(("create", st, data))
                continue
            pid = json.loads(data)["id"]
            st, data = req("PUT", f"/v1/packages/{pid}/files/f", body)
            if st not in (200, 201):
                continue  # aborted meanwhile: refused, nothing stored
            f = json.loads(data)
            hexd = b3_of(f["blake3"])
            with lock:
                state["acked"] += 1
            recheck.append((pid, hexd))
            # the acknowledged file's package is open: its blob must be
            # in place (checked again a round later, after any move)
            for rp, rh in recheck[-2:]:
                present = os.path.exists(blob_path(data_dir, rh))
                st2, pdata = req("GET", f"/v1/packages/{rp}")
                if (not present and st2 == 200 and
                        json.loads(pdata)["status"] == "open"):
                    state["missing"].append((rp, rh))
            del recheck[:-2]
            if rng.random() < 0.15:
                st, _ = req("POST", f"/v1/packages/{pid}/finalize", b"")
                if st == 200:
                    with lock:
                        state["finalized"].append((pid, f["id"], body))
                        if gen[k] == g:
                            gen[k] += 1  # now held for good: a new content
        conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(STRESS_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    api = Api(d)
    print(f"stress: {state['uploads']} uploads, {state['acked']} acked, "
          f"{len(state['finalized'])} finalized in {elapsed:.1f} s "
          f"({state['uploads'] / elapsed:.0f} rounds/s)")
    assert not state["errors"], state["errors"][:5]
    assert state["uploads"] >= 1000, state
    assert not state["missing"], state["missing"][:5]
    evs = events(api)
    types = [e["event_type"] for e in evs]
    assert types.count("v1.package.aborted") > 100
    assert types.count("v1.blob.collected") > 20
    for pid, fid, body in state["finalized"]:
        st, h, data = api.req("GET", f"/v1/files/{fid}")
        assert st == 200, (pid, fid, st, data[:300])
        assert data == body
        assert h["etag"] == '"blake3:%s"' % b3sum_bytes(body)
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert h["repr-digest"] == f"sha-256=:{sha}:"
    assert tmp_files(data_dir) == []  # no kept name left behind
    assert not [r for r in d.records() if r.get("level") == "error"]
    assert d.stop() == 0
    assert tmp_files(data_dir) == []
    offline_checks(data_dir)

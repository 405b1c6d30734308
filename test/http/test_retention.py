"""Retention over HTTP (issue 13): classes, extension, legal holds, DELETE
of packages, 410 for the contents of expired and aborted packages, and bad
input that changes nothing."""
import datetime
import json
import os
import subprocess
import time

import pytest

from apihelp import Api, Unchanged, b3sum_bytes, problem
from conftest import Proc, daemon_argv

SEEDED = ["transient", "raw-evidence", "summary-evidence",
          "release-evidence", "permanent-record"]


@pytest.fixture
def api(daemon):
    return Api(daemon)


def classes(api):
    return {c["name"]: c for c in
            api.json("GET", "/v1/retention-classes")["retention_classes"]}


def events_since(api, seq):
    return api.json("GET", "/v1/events?since=%d" % seq)["events"]


def finalized(api, cls="transient", files=(("a.txt", b"hello"),)):
    p = api.create(retention_class=cls)
    for path, data in files:
        api.json("PUT", "/v1/packages/%s/files/%s" % (p["id"], path), data,
                 expect=201)
    return api.json("POST", "/v1/packages/%s/finalize" % p["id"])


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


# --- classes ---------------------------------------------------------------

def test_seeded_classes_are_listed_in_duration_order(api):
    got = api.json("GET", "/v1/retention-classes")["retention_classes"]
    assert [c["name"] for c in got] == SEEDED
    assert got[0] == {"name": "transient", "duration_seconds": 604800,
                      "packages": 0, "seeded": True}
    assert got[-1]["duration_seconds"] is None


def test_define_raise_and_refuse_lowering(api):
    seq = api.last_sequence()
    st, h, data = api.req("POST", "/v1/retention-classes",
                          {"name": "pr-builds", "duration_seconds": 86400})
    assert st == 201, data
    assert json.loads(data) == {"name": "pr-builds",
                                "duration_seconds": 86400}
    ev = events_since(api, seq)
    assert [e["event_type"] for e in ev] == ["v1.retention_class.defined"]
    assert ev[0]["payload"] == {"name": "pr-builds",
                                "duration_seconds": 86400}
    c = classes(api)["pr-builds"]
    assert c == {"name": "pr-builds", "duration_seconds": 86400,
                 "packages": 0, "seeded": False}
    names = list(classes(api))
    assert names.index("pr-builds") < names.index("transient")

    # the same duration: 200 and no event
    with Unchanged(api):
        api.json("POST", "/v1/retention-classes",
                 {"name": "pr-builds", "duration_seconds": 86400})
    # shorter: refused
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/retention-classes",
                              {"name": "pr-builds", "duration_seconds": 3600})
        problem(data, 409, "retention-shortening-refused")
        st, _, data = api.req("POST", "/v1/retention-classes",
                              {"name": "permanent-record",
                               "duration_seconds": 86400})
        problem(data, 409, "retention-shortening-refused")
    # longer: 200 with the previous duration in the event
    seq = api.last_sequence()
    api.json("POST", "/v1/retention-classes",
             {"name": "pr-builds", "duration_seconds": 259200})
    ev = events_since(api, seq)
    assert ev[0]["payload"] == {"name": "pr-builds",
                                "duration_seconds": 259200,
                                "previous_duration_seconds": 86400}
    # to never
    api.json("POST", "/v1/retention-classes",
             {"name": "pr-builds", "duration_seconds": None})
    assert classes(api)["pr-builds"]["duration_seconds"] is None
    assert list(classes(api))[-1] == "pr-builds"


def test_raising_a_class_moves_expiry_later(api):
    api.json("POST", "/v1/retention-classes",
             {"name": "short", "duration_seconds": 100}, expect=201)
    p = finalized(api, "short")
    exp = ts(p["expires_at"])
    assert exp - ts(p["finalized_at"]) == datetime.timedelta(seconds=100)
    api.json("POST", "/v1/retention-classes",
             {"name": "short", "duration_seconds": 1000})
    q = api.json("GET", "/v1/packages/%s" % p["id"])
    assert ts(q["expires_at"]) - ts(p["finalized_at"]) == \
        datetime.timedelta(seconds=1000)
    assert classes(api)["short"]["packages"] == 1


def test_remove_class(api):
    api.json("POST", "/v1/retention-classes",
             {"name": "tmp.1_x-y", "duration_seconds": 5}, expect=201)
    seq = api.last_sequence()
    st, _, data = api.req("DELETE", "/v1/retention-classes/tmp.1_x-y")
    assert st == 204 and data == b""
    ev = events_since(api, seq)
    assert [(e["event_type"], e["payload"]) for e in ev] == \
        [("v1.retention_class.removed", {"name": "tmp.1_x-y"})]
    assert "tmp.1_x-y" not in classes(api)
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/retention-classes/tmp.1_x-y")
        problem(data, 404, "unknown-retention-class-name")
        st, _, data = api.req("DELETE", "/v1/retention-classes/NOPE%2F")
        problem(data, 404, "unknown-retention-class-name")
        st, _, data = api.req("DELETE", "/v1/retention-classes/transient")
        problem(data, 409, "retention-class-in-use")
    # in use, even by an aborted package
    api.json("POST", "/v1/retention-classes",
             {"name": "used", "duration_seconds": 5}, expect=201)
    p = api.create(retention_class="used")
    api.json("DELETE", "/v1/packages/%s" % p["id"])
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/retention-classes/used")
        problem(data, 409, "retention-class-in-use")


@pytest.mark.parametrize("body", [
    {"name": "x", "duration_seconds": 0},
    {"name": "x", "duration_seconds": -5},
    {"name": "x", "duration_seconds": 31557600001},
    {"name": "x", "duration_seconds": 1.5},
    {"name": "x", "duration_seconds": "60"},
    {"name": "x", "duration_seconds": True},
    {"name": "x"},
    {"duration_seconds": 60},
    {"name": "", "duration_seconds": 60},
    {"name": "Upper", "duration_seconds": 60},
    {"name": "-dash", "duration_seconds": 60},
    {"name": "a b", "duration_seconds": 60},
    {"name": "a" * 65, "duration_seconds": 60},
    {"name": 7, "duration_seconds": 60},
    {"name": "x", "duration_seconds": 60, "extra": 1},
])
def test_bad_class_definitions_change_nothing(api, body):
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/retention-classes", body)
        problem(data, 400, "invalid-field")
    assert "x" not in classes(api)


def test_class_definition_needs_json(api):
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/retention-classes", b"{",
                              {"Content-Type": "application/json"})
        problem(data, 400, "malformed-json")


# --- extension ---------------------------------------------------------------

def test_extend_by_class_and_date(api):
    p = finalized(api, "transient")
    fin = ts(p["finalized_at"])
    assert ts(p["expires_at"]) - fin == datetime.timedelta(days=7)
    seq = api.last_sequence()
    q = api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"retention_class": "raw-evidence"})
    assert q["retention_class"] == "raw-evidence"
    assert ts(q["expires_at"]) - fin == datetime.timedelta(days=90)
    ev = events_since(api, seq)
    assert [e["event_type"] for e in ev] == ["v1.retention.extended"]
    pl = ev[0]["payload"]
    assert pl["package_id"] == p["id"]
    assert pl["previous_retention_class"] == "transient"
    assert pl["retention_class"] == "raw-evidence"
    assert pl["expires_at"] - pl["previous_expires_at"] == 83 * 86400 * 10**6

    # a date later than now's expiry, in the same class
    later = (fin + datetime.timedelta(days=100)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    q = api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"expires_at": later})
    assert q["expires_at"] == later and q["retention_class"] == "raw-evidence"
    # unchanged: no event
    with Unchanged(api):
        api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"expires_at": later})
        api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"retention_class": "raw-evidence"})
    # a class longer than the current one but ending before the date keeps
    # the date
    q = api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"retention_class": "summary-evidence"})
    assert ts(q["expires_at"]) - fin == datetime.timedelta(days=365)
    # shortening, either way
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"expires_at": later})
        problem(data, 409, "retention-shortening-refused")
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"retention_class": "transient"})
        problem(data, 409, "retention-shortening-refused")
    # never
    q = api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"retention_class": "permanent-record"})
    assert q["expires_at"] is None
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"expires_at": "2200-01-01T00:00:00Z"})
        problem(data, 409, "retention-shortening-refused")


def test_extend_open_package_changes_class_only(api):
    p = api.create(retention_class="transient")
    q = api.json("POST", "/v1/packages/%s/retention" % p["id"],
                 {"retention_class": "raw-evidence"})
    assert q["status"] == "open" and q["expires_at"] is None
    assert q["retention_class"] == "raw-evidence"
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"expires_at": "2100-01-01T00:00:00Z"})
        problem(data, 409, "package-not-finalized")
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"retention_class": "transient"})
        problem(data, 409, "retention-shortening-refused")
    f = api.json("POST", "/v1/packages/%s/finalize" % p["id"])
    assert ts(f["expires_at"]) - ts(f["finalized_at"]) == \
        datetime.timedelta(days=90)


@pytest.mark.parametrize("body,status,slug", [
    ({"retention_class": "nope"}, 400, "unknown-retention-class"),
    ({"expires_at": "2100-01-01"}, 400, "invalid-field"),
    ({"expires_at": "2100-01-01T00:00:00+01:00"}, 400, "invalid-field"),
    ({"expires_at": "2100-01-01T00:00:00+00:00"}, 400, "invalid-field"),
    ({"expires_at": "2100-02-30T00:00:00Z"}, 400, "invalid-field"),
    ({"expires_at": "2100-01-01T24:00:00Z"}, 400, "invalid-field"),
    ({"expires_at": "2100-01-01T00:00:00.1234567Z"}, 400, "invalid-field"),
    ({"expires_at": "9999-01-01T00:00:00Z"}, 400, "invalid-field"),
    ({"expires_at": 4102444800}, 400, "invalid-field"),
    ({"expires_at": "2100-01-01T00:00:00Z", "retention_class": "transient"},
     400, "invalid-field"),
    ({}, 400, "invalid-field"),
    ({"retention_class": "transient", "why": "x"}, 400, "invalid-field"),
    ({"retention_class": None}, 400, "invalid-field"),
])
def test_bad_extensions_change_nothing(api, body, status, slug):
    p = finalized(api)
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              body)
        problem(data, status, slug)
    assert api.json("GET", "/v1/packages/%s" % p["id"]) == p


def test_extend_unknown_package(api):
    with Unchanged(api):
        st, _, data = api.req(
            "POST", "/v1/packages/0190f5e4-8a2b-7cde-8f01-23456789abcd/"
            "retention", {"retention_class": "permanent-record"})
        problem(data, 404, "unknown-package")
        st, _, data = api.req("POST", "/v1/packages/nope/retention",
                              {"retention_class": "permanent-record"})
        problem(data, 404, "unknown-package")


# --- holds -----------------------------------------------------------------

def test_holds_place_list_release(api):
    p = finalized(api)
    seq = api.last_sequence()
    st, h, data = api.req("POST", "/v1/packages/%s/holds" % p["id"],
                          {"reason": "case 2291"})
    assert st == 201, data
    h1 = json.loads(data)
    assert set(h1) == {"id", "package_id", "reason", "placed_at", "actor"}
    assert h1["package_id"] == p["id"] and h1["reason"] == "case 2291"
    assert h["location"] == "/v1/packages/%s/holds/%s" % (p["id"], h1["id"])
    ev = events_since(api, seq)
    assert [e["event_type"] for e in ev] == ["v1.hold.placed"]
    assert ev[0]["subject_kind"] == "hold"
    assert ev[0]["payload"] == {"id": h1["id"], "package_id": p["id"],
                                "reason": "case 2291",
                                "placed_at": ev[0]["payload"]["placed_at"]}
    assert ts(h1["placed_at"]).timestamp() * 10**6 == \
        pytest.approx(ev[0]["payload"]["placed_at"], abs=1)
    h2 = api.json("POST", "/v1/packages/%s/holds" % p["id"],
                  {"reason": "audit ünïcode"}, expect=201)
    # the package shows its active holds, formatted as the answers were
    q = api.json("GET", "/v1/packages/%s" % p["id"])
    assert q["holds"] == [h1, h2]
    lst = api.json("GET", "/v1/packages?status=finalized")["packages"]
    assert [x["holds"] for x in lst if x["id"] == p["id"]] == [[h1, h2]]
    assert api.json("GET", "/v1/packages/%s/holds" % p["id"]) == \
        {"holds": [h1, h2]}
    # held: no delete
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
        problem(data, 409, "package-held")
    seq = api.last_sequence()
    st, _, data = api.req("DELETE", "/v1/packages/%s/holds/%s"
                          % (p["id"], h1["id"]))
    assert st == 204 and data == b""
    ev = events_since(api, seq)
    assert [e["event_type"] for e in ev] == ["v1.hold.released"]
    assert api.json("GET", "/v1/packages/%s/holds" % p["id"]) == \
        {"holds": [h2]}
    all_ = api.json("GET", "/v1/packages/%s/holds?all=true" % p["id"])
    assert [x["id"] for x in all_["holds"]] == [h1["id"], h2["id"]]
    r1 = all_["holds"][0]
    assert r1["released_by"] == "anonymous" and r1["released_at"] >= \
        h1["placed_at"]
    assert all_["holds"][1]["released_at"] is None
    assert api.json("GET", "/v1/packages/%s" % p["id"])["holds"] == [h2]
    other = api.create()
    with Unchanged(api):
        # released already, unknown, malformed, on another package
        for hid in (h1["id"], "0190f5e4-8a2b-7cde-8f01-23456789abcd", "x"):
            st, _, data = api.req("DELETE", "/v1/packages/%s/holds/%s"
                                  % (p["id"], hid))
            problem(data, 404, "unknown-hold")
        st, _, data = api.req("DELETE", "/v1/packages/%s/holds/%s"
                              % (other["id"], h2["id"]))
        problem(data, 404, "unknown-hold")


@pytest.mark.parametrize("body", [
    {}, {"reason": ""}, {"reason": 5}, {"reason": None},
    {"reason": "x" * 1025}, {"reason": "x", "by": "me"},
])
def test_bad_holds_change_nothing(api, body):
    p = api.create()
    with Unchanged(api):
        st, _, data = api.req("POST", "/v1/packages/%s/holds" % p["id"], body)
        problem(data, 400, "invalid-field")
        st, _, data = api.req("GET", "/v1/packages/%s/holds?all=maybe"
                              % p["id"])
        problem(data, 400, "invalid-parameter")


def test_hold_on_unknown_package(api):
    with Unchanged(api):
        for pid in ("0190f5e4-8a2b-7cde-8f01-23456789abcd", "nope"):
            st, _, data = api.req("POST", "/v1/packages/%s/holds" % pid,
                                  {"reason": "r"})
            problem(data, 404, "unknown-package")
            st, _, data = api.req("GET", "/v1/packages/%s/holds" % pid)
            problem(data, 404, "unknown-package")


def test_open_package_can_be_held_and_then_not_deleted(api):
    p = api.create()
    h = api.json("POST", "/v1/packages/%s/holds" % p["id"], {"reason": "r"},
                 expect=201)
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
        problem(data, 409, "package-held")
    api.req("DELETE", "/v1/packages/%s/holds/%s" % (p["id"], h["id"]))
    q = api.json("DELETE", "/v1/packages/%s" % p["id"])
    assert q["status"] == "aborted" and q["holds"] == []


# --- delete ------------------------------------------------------------------

def test_delete_open_package_aborts_it(api):
    p = api.create()
    api.json("PUT", "/v1/packages/%s/files/a.txt" % p["id"], b"abc",
             expect=201)
    seq = api.last_sequence()
    q = api.json("DELETE", "/v1/packages/%s" % p["id"])
    assert q["status"] == "aborted" and q["id"] == p["id"]
    ev = events_since(api, seq)
    assert [e["event_type"] for e in ev] == ["v1.package.aborted"]
    assert ev[0]["payload"]["reason"] == "deleted"
    assert ev[0]["payload"]["package_id"] == p["id"]
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
        problem(data, 410, "package-aborted")
        st, _, data = api.req("PUT", "/v1/packages/%s/files/b.txt" % p["id"],
                              b"more")
        problem(data, 410, "package-aborted")
        st, _, data = api.req("POST", "/v1/packages/%s/finalize" % p["id"])
        problem(data, 410, "package-aborted")
        for path in ("/v1/packages/%s/holds" % p["id"],):
            st, _, data = api.req("POST", path, {"reason": "late"})
            problem(data, 410, "package-aborted")
        st, _, data = api.req("POST", "/v1/packages/%s/retention" % p["id"],
                              {"retention_class": "permanent-record"})
        problem(data, 410, "package-aborted")
    files = api.json("GET", "/v1/packages/%s/files" % p["id"])["files"]
    assert [f["path"] for f in files] == ["a.txt"]
    st, _, data = api.req("GET", "/v1/files/%s" % files[0]["id"])
    problem(data, 410, "package-aborted")
    st, _, data = api.req("GET", "/v1/packages/%s/files/a.txt" % p["id"])
    problem(data, 410, "package-aborted")
    st, _, data = api.req("GET", "/v1/blobs/" + files[0]["blake3"])
    problem(data, 404, "unknown-blob")
    assert [x["id"] for x in api.json(
        "GET", "/v1/packages?status=aborted")["packages"]] == [p["id"]]


def test_delete_finalized_before_expiry_is_refused(api):
    p = finalized(api)
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
        doc = problem(data, 409, "retention-active")
        assert doc["expires_at"] == p["expires_at"]
        assert p["expires_at"] in doc["detail"]
    api.json("POST", "/v1/packages/%s/retention" % p["id"],
             {"retention_class": "permanent-record"})
    with Unchanged(api):
        st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
        doc = problem(data, 409, "retention-active")
        assert doc["expires_at"] is None
    with Unchanged(api):
        st, _, data = api.req(
            "DELETE", "/v1/packages/0190f5e4-8a2b-7cde-8f01-23456789abcd")
        problem(data, 404, "unknown-package")


def test_download_by_path(api):
    p = finalized(api, files=(("d/x.bin", b"12345"),))
    st, h, data = api.req("GET", "/v1/packages/%s/files/d/x.bin" % p["id"])
    assert st == 200 and data == b"12345"
    assert h["etag"] == '"%s"' % ("blake3:" + b3sum_bytes(b"12345"))
    st, h, data = api.req("HEAD", "/v1/packages/%s/files/d/x.bin" % p["id"])
    assert st == 200 and data == b"" and h["content-length"] == "5"
    st, _, data = api.req("GET", "/v1/packages/%s/files/d/y.bin" % p["id"])
    problem(data, 404, "unknown-file")
    st, _, data = api.req("GET", "/v1/packages/%s/files/d/../x" % p["id"])
    assert st in (400, 404)


# --- the whole short lifecycle, then replay ----------------------------------

def run_bin(*args):
    exe = os.environ["ARTIFACTSTORED"]
    return subprocess.run([exe, *args], capture_output=True, text=True,
                          timeout=120)


def test_short_class_expires_on_delete_then_410_and_replay(tmp_path,
                                                           data_dir):
    d = Proc(daemon_argv(data_dir), tmp_path, "daemon").start()
    d.data_dir = data_dir
    try:
        api = Api(d)
        api.json("POST", "/v1/retention-classes",
                 {"name": "blink", "duration_seconds": 1}, expect=201)
        p = finalized(api, "blink", files=(("a.txt", b"gone soon"),
                                           ("b.txt", b"also gone")))
        keep = finalized(api, "transient", files=(("k.txt", b"also gone"),))
        h = api.json("POST", "/v1/packages/%s/holds" % p["id"],
                     {"reason": "look first"}, expect=201)
        api.req("DELETE", "/v1/packages/%s/holds/%s" % (p["id"], h["id"]))
        time.sleep(max(0, (ts(p["expires_at"]) - datetime.datetime.now(
            datetime.timezone.utc)).total_seconds()) + 0.2)
        seq = api.last_sequence()
        q = api.json("DELETE", "/v1/packages/%s" % p["id"])
        assert q["status"] == "expired"
        ev = events_since(api, seq)
        assert [e["event_type"] for e in ev] == ["v1.package.expired"]
        pl = ev[0]["payload"]
        assert pl["package_id"] == p["id"] and pl["as_of"] > pl["expires_at"]
        assert pl["expires_at"] / 10**6 == \
            pytest.approx(ts(p["expires_at"]).timestamp(), abs=1e-6)
        files = api.json("GET", "/v1/packages/%s/files" % p["id"])["files"]
        assert len(files) == 2
        for f in files:
            for m in ("GET", "HEAD"):
                st, _, data = api.req(m, "/v1/files/%s" % f["id"])
                assert st == 410
                st, _, data = api.req(m, "/v1/packages/%s/files/%s"
                                      % (p["id"], f["path"]))
                assert st == 410
        st, _, data = api.req("GET", "/v1/files/%s" % files[0]["id"])
        problem(data, 410, "package-expired")
        # the manifest stays: proof of what the package held
        man = api.json("GET", "/v1/packages/%s/manifest" % p["id"])
        assert [f["path"] for f in man["files"]] == ["a.txt", "b.txt"]
        # bytes another live package holds are still served by address
        st, _, data = api.req("GET", "/v1/blobs/" + files[1]["blake3"])
        assert st == 200 and data == b"also gone"
        st, _, data = api.req("GET", "/v1/blobs/" + files[0]["blake3"])
        problem(data, 404, "unknown-blob")
        with Unchanged(api):
            st, _, data = api.req("DELETE", "/v1/packages/%s" % p["id"])
            problem(data, 410, "package-expired")
            st, _, data = api.req("POST", "/v1/packages/%s/holds" % p["id"],
                                  {"reason": "too late"})
            problem(data, 410, "package-expired")
        assert api.json("GET", "/v1/packages/%s" % keep["id"])["status"] == \
            "finalized"
        assert classes(api)["blink"]["packages"] == 1
        # every other retention event, for the replay below
        api.json("POST", "/v1/packages/%s/retention" % keep["id"],
                 {"retention_class": "raw-evidence"})
        api.json("POST", "/v1/packages/%s/holds" % keep["id"],
                 {"reason": "kept"}, expect=201)
        api.json("POST", "/v1/retention-classes",
                 {"name": "tmpc", "duration_seconds": 5}, expect=201)
        api.json("POST", "/v1/retention-classes",
                 {"name": "tmpc", "duration_seconds": None})
        api.req("DELETE", "/v1/retention-classes/tmpc")
        api.json("DELETE", "/v1/packages/%s" % api.create()["id"])
        types = {e["event_type"] for e in events_since(api, 0)}
        assert {"v1.retention_class.defined", "v1.retention_class.removed",
                "v1.retention.extended", "v1.hold.placed",
                "v1.hold.released", "v1.package.expired",
                "v1.package.aborted"} <= types
    finally:
        assert d.stop() == 0, d.stderr_text()[-4000:]
    r = run_bin("--replay", "--check", "--data", str(data_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_bin("--verify-log", "--data", str(data_dir))
    assert r.returncode == 0, r.stdout + r.stderr

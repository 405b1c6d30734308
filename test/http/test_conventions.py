"""HTTP semantics of every answer (issue 12): nosniff on each response,
Allow and OPTIONS, JSON request bodies need a JSON Content-Type, JSON
bodies end with a newline, percent-encoded query values decode."""
import json

import pytest

from apihelp import Api, Unchanged, problem
from conftest import RawSock


@pytest.fixture
def api(daemon):
    return Api(daemon)


def put_file(api, pkg, path, data, ctype="text/html"):
    st, h, body = api.req("PUT", f"/v1/packages/{pkg['id']}/files/{path}",
                          body=data, headers={"Content-Type": ctype})
    assert st == 201, body
    return json.loads(body)


# --- 1. X-Content-Type-Options: nosniff on every response -----------------

def test_nosniff_everywhere(api, daemon):
    pkg = api.create()
    f = put_file(api, pkg, "a.html", b"<script>alert(1)</script>")
    etag = '"%s"' % f["blake3"]
    answers = [
        api.req("GET", "/health"),
        api.req("GET", f"/v1/packages/{pkg['id']}"),
        api.req("GET", f"/v1/files/{f['id']}"),
        api.req("HEAD", f"/v1/files/{f['id']}"),
        api.req("GET", f"/v1/files/{f['id']}", headers={"If-None-Match": etag}),
        api.req("GET", f"/v1/files/{f['id']}", headers={"Range": "bytes=0-1"}),
        api.req("GET", "/nothing/here"),
        api.req("DELETE", "/v1/packages"),
        api.req("GET", "/v1/events?limit=0"),
    ]
    statuses = [st for st, _, _ in answers]
    assert statuses == [200, 200, 200, 200, 304, 206, 404, 405, 400]
    for st, h, _ in answers:
        assert h.get("x-content-type-options") == "nosniff", (st, h)
    # an answer the connection gives itself (a parse error)
    s = RawSock(daemon.host, daemon.port)
    s.send(b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n")
    st, h, _ = s.response()
    s.close()
    assert st == 400 and h.get("x-content-type-options") == "nosniff"


# --- 2. Allow lists HEAD with GET; OPTIONS answers 204 with Allow ---------

def test_allow_lists_head_with_get(api):
    pkg = api.create()
    for method, path, allow in (
            ("DELETE", "/health", "GET, HEAD, OPTIONS"),
            ("DELETE", "/v1/packages", "POST, GET, HEAD, OPTIONS"),
            ("PUT", f"/v1/packages/{pkg['id']}",
             "GET, HEAD, DELETE, OPTIONS"),
            ("DELETE", f"/v1/packages/{pkg['id']}/manifest",
             "GET, HEAD, OPTIONS"),
            ("POST", "/v1/events", "GET, HEAD, OPTIONS")):
        st, h, body = api.req(method, path)
        assert st == 405 and h["allow"] == allow, (path, h.get("allow"))
        problem(body, 405, "method-not-allowed")
        # and HEAD is really served there
        st, h, body = api.req("HEAD", path)
        assert st != 405 and body == b"", (path, st)


def test_options(api, daemon):
    pkg = api.create()
    with Unchanged(api):
        for path, allow in (
                ("/health", "GET, HEAD, OPTIONS"),
                ("/v1/packages", "POST, GET, HEAD, OPTIONS"),
                (f"/v1/packages/{pkg['id']}/files/a/b.txt",
                 "PUT, GET, HEAD, OPTIONS"),
                (f"/v1/packages/{pkg['id']}/finalize", "POST, OPTIONS"),
                ("/v1/files/x", "GET, HEAD, OPTIONS")):
            st, h, body = api.req("OPTIONS", path)
            assert st == 204 and body == b"", (path, st, body)
            assert h["allow"] == allow, path
            assert "content-length" not in h
        st, h, body = api.req("OPTIONS", "/v2/nothing")
        assert st == 404
        problem(body, 404, "no-route")
    # OPTIONS * asks about the server: every method, and the connection
    # stays usable
    s = RawSock(daemon.host, daemon.port)
    s.send(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert st == 204 and h["allow"] == "GET, HEAD, POST, DELETE, PUT, OPTIONS"
    assert s.response()[0] == 200
    s.close()


# --- 3. a JSON body needs a JSON Content-Type ------------------------------

PKG = {"name": "n", "producer": "p", "subject": "s",
       "retention_class": "transient"}


@pytest.mark.parametrize("ctype", [
    "application/x-www-form-urlencoded",  # what curl -d sends by default
    "text/plain", "text/json", "application/jsonx", "application/json-seq",
    "application/octet-stream", "multipart/form-data; boundary=x",
    "application/+json", "application/a b+json", "json", ""])
def test_json_body_refuses_other_types(api, ctype):
    with Unchanged(api):
        st, h, data = api.req("POST", "/v1/packages",
                              body=json.dumps(PKG).encode(),
                              headers={"Content-Type": ctype})
        assert st == 415, (ctype, data)
        doc = problem(data, 415, "unsupported-media-type")
        assert "application/json" in doc["detail"]


@pytest.mark.parametrize("ctype", [
    "application/json", "APPLICATION/JSON", "application/json; charset=utf-8",
    "Application/Json ;charset=UTF-8", "application/vnd.example+json",
    "application/merge-patch+JSON", None])
def test_json_body_accepts_json_types(api, ctype):
    headers = {"Content-Type": ctype} if ctype is not None else {}
    st, h, data = api.req("POST", "/v1/packages",
                          body=json.dumps(PKG).encode(), headers=headers)
    assert st == 201, (ctype, data)


def test_curl_form_post_is_refused_and_json_post_works(daemon):
    from apihelp import curl
    with Unchanged(Api(daemon)):
        code, body = curl("-X", "POST", "-d", json.dumps(PKG),
                          f"{daemon.base}/v1/packages")
        assert code == 415, body
    code, body = curl("-X", "POST", "-H", "Content-Type: application/json",
                      "-d", json.dumps(PKG), f"{daemon.base}/v1/packages")
    assert code == 201, body


# --- 4. every JSON body ends with a newline --------------------------------

def test_json_bodies_end_with_newline(api, daemon):
    pkg = api.create()
    pid = pkg["id"]
    answers = {
        "create": api.req("POST", "/v1/packages", PKG),
        "health": api.req("GET", "/health"),
        "package": api.req("GET", f"/v1/packages/{pid}"),
        "list": api.req("GET", "/v1/packages?limit=2"),
        "upload": api.req("PUT", f"/v1/packages/{pid}/files/a.txt",
                          body=b"abc", headers={"Content-Type": "text/plain"}),
        "files": api.req("GET", f"/v1/packages/{pid}/files"),
        "events": api.req("GET", "/v1/events?since=0"),
        "events-empty": api.req("GET", "/v1/events?since=3"),
        "finalize": api.req("POST", f"/v1/packages/{pid}/finalize"),
        "no-route": api.req("GET", "/nothing"),
        "405": api.req("DELETE", "/health"),
        "415": api.req("POST", "/v1/packages", body=b"{}",
                       headers={"Content-Type": "text/plain"}),
        "bad-param": api.req("GET", "/v1/events?limit=x"),
        "conflict": api.req("POST", f"/v1/packages/{pid}/finalize"),
    }
    for name, (st, h, body) in answers.items():
        assert h["content-type"] in ("application/json",
                                     "application/problem+json"), name
        assert body.endswith(b"}\n") and body.count(b"\n") == 1, (name, body)
        assert int(h["content-length"]) == len(body), name
        json.loads(body)
    # HEAD announces the same length as GET sends
    _, _, full = api.req("GET", f"/v1/packages/{pid}")
    st, h, body = api.req("HEAD", f"/v1/packages/{pid}")
    assert body == b"" and int(h["content-length"]) == len(full)
    # a problem the connection gives itself
    s = RawSock(daemon.host, daemon.port)
    s.send(b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n")
    st, h, body = s.response()
    s.close()
    assert st == 400 and body.endswith(b"}\n")
    assert int(h["content-length"]) == len(body)


# --- 5. percent-encoded query values decode everywhere ----------------------

def pct(s):
    """Every byte of s as a %XX escape."""
    return "".join("%%%02X" % b for b in s.encode())


def test_query_values_are_percent_decoded(api):
    for name in ("a+b", "a b", "c"):
        api.create(name=name, producer="pct")
    # events: since, limit and wait, names encoded too
    for q in ("since=%31&limit=%31", "%73ince=1&limit=1",
              "since=1&limit=1&wait=%30", "s%69nce=%31&l%69mit=%31"):
        page = api.json("GET", "/v1/events?" + q)
        assert [e["sequence"] for e in page["events"]] == [2], q
        assert page["next"] == 2
    # packages: limit, filters and the cursor
    page = api.json("GET", "/v1/packages?producer=%70ct&limit=%32")
    assert [p["name"] for p in page["packages"]] == ["a+b", "a b"]
    nxt = page["next"]
    page2 = api.json("GET", "/v1/packages?producer=pct&limit=2&cursor="
                     + pct(nxt))
    assert [p["name"] for p in page2["packages"]] == ["c"]
    for q, names in (("name=a%2Bb", ["a+b"]), ("name=a+b", ["a+b"]),
                     ("name=a%20b", ["a b"]), ("name=%61%20%62", ["a b"]),
                     ("%6eame=c", ["c"])):
        got = api.json("GET", "/v1/packages?producer=pct&" + q)["packages"]
        assert [p["name"] for p in got] == names, q


@pytest.mark.parametrize("path", [
    "/v1/events?since=%zz", "/v1/events?since=1%00", "/v1/events?limit=%3",
    "/v1/events?wait=%", "/v1/packages?limit=%G1", "/v1/packages?name=%zz",
    "/v1/packages?subject=a%00b", "/v1/packages?cursor=%4"])
def test_bad_percent_escapes_are_refused(api, path):
    with Unchanged(api):
        st, h, data = api.req("GET", path)
        assert st == 400, (path, data)
        doc = problem(data, 400, "invalid-parameter")
        assert "percent-encoding" in doc["detail"], doc

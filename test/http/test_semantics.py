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

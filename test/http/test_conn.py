"""Connection lifetime: half-close, send timeout, idle timer, the
descriptor-derived connection cap (issue 12, connections)."""
import json
import socket
import time

from apihelp import Api
from conftest import RawSock, read_response


def _read_all(s, timeout=10):
    s.s.settimeout(timeout)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            return data
        data += d


def _post_package(name):
    body = json.dumps({"name": name, "producer": "ci", "subject": "half",
                       "retention_class": "transient"}).encode()
    return (b"POST /v1/packages HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def test_half_close_answers_request(daemon):
    """A complete request, then shutdown(SHUT_WR): the 201 still comes
    (before, the create committed and the answer was lost)."""
    s = RawSock(daemon.host, daemon.port)
    s.send(_post_package("halfclosed"))
    s.s.shutdown(socket.SHUT_WR)
    st, h, body = s.response()
    assert st == 201, body
    assert json.loads(body)["name"] == "halfclosed"
    assert s.closed(timeout=5)
    s.close()
    listed = Api(daemon).json("GET", "/v1/packages?producer=ci")["packages"]
    assert [p["name"] for p in listed].count("halfclosed") == 1


def test_half_close_pipelined_pair(loopsrv):
    """Two pipelined requests, the first answered later, then FIN: both
    answered, then closed."""
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /wait?ms=200 HTTP/1.1\r\n\r\n"
           b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde")
    s.s.shutdown(socket.SHUT_WR)
    st1, h1, b1 = s.response()
    st2, h2, b2 = s.response()
    assert (st1, b1) == (200, b"waited\n")
    assert "connection" not in h1
    assert (st2, b2) == (200, b"abcde")
    assert s.closed(timeout=5)
    s.close()


def test_half_close_incomplete_request_closes(loopsrv):
    """FIN in the middle of a request: nothing to answer, closed."""
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
    s.s.shutdown(socket.SHUT_WR)
    st, _, b = s.response()
    assert (st, b) == (200, b"hello\n")
    assert _read_all(s, timeout=5) == b""
    s.close()

"""RFC 9112 framing through loopsrv and the daemon: chunk extensions and
trailers are bounded, and what llhttp lets through (HTTP/1.0 with
Transfer-Encoding, unknown codings, Expect, Host, versions, methods,
absolute-form targets) gets the answer RFC 9110/9112 asks for."""
import json
import select
import socket
import time

import pytest

from apihelp import Api, Unchanged
from conftest import RawSock

PROBLEM = "https://artifactstored.dev/problems/"


@pytest.fixture
def api(daemon):
    return Api(daemon)


def problem(body, status, slug):
    doc = json.loads(body)
    assert doc["status"] == status
    assert doc["type"] == PROBLEM + slug
    assert doc["title"] and doc["detail"]
    return doc


def still_answers(srv):
    s = RawSock(srv.host, srv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    s.close()
    assert (st, body) == (200, b"hello\n")


def refused(srv, req, status, slug):
    """Sends req; asserts a problem answer with Connection: close and that
    the server closes.  Returns the problem document."""
    s = RawSock(srv.host, srv.port)
    s.send(req)
    st, h, body = s.response()
    assert st == status, (req, st, body)
    doc = problem(body, status, slug)
    assert h.get("connection") == "close", req
    assert s.closed(), req
    s.close()
    return doc


def flood(srv, head, piece, limit, rest=b""):
    """Sends head, then piece repeatedly up to limit bytes, stopping as
    soon as an answer is readable, then rest if none is.  Returns (bytes
    of piece sent, status, body, closed)."""
    s = RawSock(srv.host, srv.port)
    s.send(head)
    sent = 0
    t0 = time.time()
    try:
        while sent < limit and time.time() - t0 < 20:
            r, _, _ = select.select([s.s], [], [], 0.005)
            if r:
                break
            s.send(piece)
            sent += len(piece)
        if rest and not select.select([s.s], [], [], 0.005)[0]:
            s.send(rest)
    except (BrokenPipeError, ConnectionResetError):
        pass
    st, h, body = s.response()
    closed = h.get("connection") == "close" and s.closed()
    s.close()
    return sent, st, body, closed


# --- item 1: chunk extensions and trailers are bounded ---


def test_chunk_extension_is_bounded(loopsrv):
    """17.6 GiB once went into one chunk extension of a size-limited
    upload; now 4 KiB per request is the most."""
    limit = 16 << 20
    sent, st, body, closed = flood(
        loopsrv,
        b"PUT /sink/ext HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1;",
        b"a" * 65536, limit)
    assert st == 400, body
    assert "chunk extensions" in problem(body, 400, "bad-request")["detail"]
    assert closed
    assert sent <= 4 << 20, sent  # refused long before the 16 MiB
    still_answers(loopsrv)


def test_chunk_extensions_add_up_per_request(loopsrv):
    """Many small chunks each with a small extension: the bound is per
    request, so the overhead cannot grow with the number of chunks."""
    ext = b";n=" + b"v" * 100
    req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           + (b"1" + ext + b"\r\nz\r\n") * 100 + b"0\r\n\r\n")
    refused(loopsrv, req, 400, "bad-request")
    # a few small extensions are fine
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;a=b\r\nabc\r\n2;x\r\nde\r\n0;last=1\r\n\r\n")
    assert s.response()[::2] == (200, b"abcde")
    s.close()


def test_trailers_are_bounded_by_bytes(loopsrv):
    """18 GiB of trailers were read while the head is limited to 16 KiB:
    the trailers now count against the head's limit."""
    limit = 16 << 20
    sent, st, body, closed = flood(
        loopsrv,
        b"PUT /sink/trailer HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-T: ",
        b"b" * 65536, limit)
    assert st == 431, body
    problem(body, 431, "headers-too-large")
    assert closed
    assert sent <= 4 << 20, sent
    still_answers(loopsrv)


def test_trailers_are_bounded_by_lines(loopsrv):
    req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"2\r\nab\r\n0\r\n" + b"X-T: 1\r\n" * 70 + b"\r\n")
    refused(loopsrv, req, 431, "headers-too-large")
    # head lines and trailer lines together: 60 + 3 fit in 64
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           + b"X-H: 1\r\n" * 58 + b"\r\n2\r\nab\r\n0\r\n" + b"X-T: 1\r\n" * 3
           + b"\r\n")
    assert s.response()[::2] == (200, b"ab")
    s.close()


def zeros_flood(srv, target):
    """A chunk-size line of 1 MiB of '0' (then 1, a byte and the last
    chunk), sent 1 KiB at a time until an answer is readable."""
    head = (b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    sent, st, body, closed = flood(
        srv, head, b"0" * 1024, 1 << 20,
        rest=b"1\r\nx\r\n0\r\n\r\n")
    assert st == 400, body
    assert "chunk-size line" in problem(body, 400, "bad-request")["detail"]
    assert closed
    assert sent <= 64 << 10, sent  # not the whole MiB
    return sent


def test_chunk_size_line_is_bounded(loopsrv):
    """llhttp reads leading zeros of a chunk size without end and calls
    nothing until the line ends: a MiB of them was read into one size."""
    zeros_flood(loopsrv, b"/sink/zeros")
    # within one read too: 5000 zeros then the size, at once
    refused(loopsrv,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n2\r\nab\r\n" + b"0" * 5000 + b"1\r\nx\r\n0\r\n\r\n",
            400, "bad-request")
    # the last chunk's size line as well
    refused(loopsrv,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n" + b"0" * 5000 + b"\r\n\r\n", 400, "bad-request")
    still_answers(loopsrv)


def test_chunk_size_line_is_bounded_in_the_daemon(api, daemon):
    pid = api.create()["id"]
    with Unchanged(api):
        zeros_flood(daemon, b"/v1/packages/" + pid.encode() + b"/files/z.bin")


def test_body_timer_needs_progress(make_loopsrv):
    """A '0' of a size line every 100 ms is no progress: the 600 ms body
    timer is not restarted by it (it was restarted by every read, so a
    size line kept a request open for 4 KiB times the timeout)."""
    srv = make_loopsrv(100, 5000, 5000, 600)
    s = RawSock(srv.host, srv.port)
    s.send(b"PUT /sink/slow HTTP/1.1\r\nHost: x\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n")
    t0 = time.time()
    try:
        while time.time() - t0 < 5:
            if select.select([s.s], [], [], 0.1)[0]:
                break
            s.send(b"0")
    except (BrokenPipeError, ConnectionResetError):
        pass
    st, h, body = s.response()
    assert st == 408, body
    problem(body, 408, "body-timeout")
    assert time.time() - t0 < 3
    s.close()
    # chunks that do progress keep it alive past the timeout
    s = RawSock(srv.host, srv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(10):
        s.send(b"1\r\nz\r\n")
        time.sleep(0.15)
    s.send(b"0\r\n\r\n")
    assert s.response()[::2] == (200, b"z" * 10)
    s.close()


def many_chunks():
    """2,000 one-byte chunks, some sizes with a few leading zeros, one
    with 4,000 (under the bound)."""
    parts, want = [], b""
    for i in range(2000):
        ch = bytes([97 + i % 26])
        size = b"0" * 4000 + b"1" if i == 1000 else b"0" * (i % 5) + b"1"
        parts.append(size + b"\r\n" + ch + b"\r\n")
        want += ch
    return b"".join(parts) + b"0\r\n\r\n", want


def test_many_small_chunks_still_work(loopsrv):
    chunks, want = many_chunks()
    s = RawSock(loopsrv.host, loopsrv.port)
    head = (b"POST /echo HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    s.send(head + chunks)
    assert s.response()[::2] == (200, want)
    # and in pieces of 7 KiB, split across reads
    for i in range(0, len(head + chunks), 7 * 1024):
        s.send((head + chunks)[i:i + 7 * 1024])
    assert s.response()[::2] == (200, want)
    s.close()


def test_many_small_chunks_in_the_daemon(api, daemon):
    pid = api.create()["id"]
    chunks, want = many_chunks()
    s = RawSock(daemon.host, daemon.port)
    s.send(b"PUT /v1/packages/" + pid.encode() + b"/files/m.bin HTTP/1.1\r\n"
           b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    st, h, body = s.response()
    s.close()
    assert st == 201, body
    st, _, body = api.req("GET", h["location"])
    assert (st, body) == (200, want)


# --- item 2: RFC 9112 framing ---


def test_http10_with_transfer_encoding_is_faulty_framing(loopsrv):
    """RFC 9112 6.1: a server MUST treat it as faulty framing and close
    (llhttp would read it as chunked)."""
    doc = refused(loopsrv,
                  b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\n\r\n",
                  400, "bad-request")
    assert "HTTP/1.0" in doc["detail"]
    still_answers(loopsrv)


def test_unsupported_transfer_coding(loopsrv):
    for te in (b"gzip, chunked", b"deflate,chunked", b"x-custom , chunked"):
        doc = refused(loopsrv,
                      b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                      + te + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                      501, "not-implemented")
        assert "transfer coding" in doc["detail"]
    # two lines joined make the same list
    refused(loopsrv,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            501, "not-implemented")
    # chunked not last, absent or twice: the body's end is unknown
    for te in (b"gzip", b"chunked, gzip", b"chunked, chunked", b","):
        refused(loopsrv,
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                + te + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                400, "bad-request")
    # chunked alone, any case, stays accepted
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
           b"\r\n3\r\nabc\r\n0\r\n\r\n")
    assert s.response()[::2] == (200, b"abc")
    s.close()


def test_unsupported_transfer_coding_is_not_stored(api, daemon):
    """It was stored raw (the gzip bytes as the file) with 201."""
    pid = api.create()["id"]
    with Unchanged(api):
        upload_gzip(daemon, pid)


def upload_gzip(daemon, pid):
    s = RawSock(daemon.host, daemon.port)
    s.send(b"PUT /v1/packages/" + pid.encode() + b"/files/g.bin HTTP/1.1\r\n"
           b"Host: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n")
    st, h, body = s.response()
    assert st == 501, body
    problem(body, 501, "not-implemented")
    s.close()


def test_expect_other_than_100_continue(loopsrv):
    for ex in (b"200-ok", b"100-continue-please", b""):
        refused(loopsrv,
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                b"Expect: " + ex + b"\r\n\r\nabc",
                417, "expectation-failed")
    # case-insensitive 100-continue is still honoured
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
           b"Expect: 100-Continue\r\n\r\n")
    assert s.response()[0] == 100
    s.send(b"abc")
    assert s.response()[::2] == (200, b"abc")
    s.close()


def test_host_is_required_once(loopsrv):
    doc = refused(loopsrv, b"GET /hello HTTP/1.1\r\n\r\n", 400, "bad-request")
    assert "Host" in doc["detail"]
    doc = refused(loopsrv, b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                  400, "bad-request")
    assert "one Host" in doc["detail"]
    refused(loopsrv, b"GET /hello HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
            400, "bad-request")
    for bad in (b"a b", b"user@host", b"host/path", b"h\xc3\xa9"):
        doc = refused(loopsrv, b"GET /hello HTTP/1.1\r\nHost: " + bad
                      + b"\r\n\r\n", 400, "bad-request")
        assert "Host" in doc["detail"]
    # host, port, IP literals and an empty value are fine
    s = RawSock(loopsrv.host, loopsrv.port)
    for good in (b"example.test:8080", b"[::1]:80", b"127.0.0.1", b""):
        s.send(b"GET /hello HTTP/1.1\r\nHost: " + good + b"\r\n\r\n")
        assert s.response()[::2] == (200, b"hello\n"), good
    s.close()
    # HTTP/1.0 may leave it out
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.0\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    s.close()


def test_absolute_form_target(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET http://example.test/hello HTTP/1.1\r\nHost: other\r\n\r\n"
           b"POST HTTPS://example.test:8443/echo?x=1 HTTP/1.1\r\nHost: y\r\n"
           b"Content-Length: 2\r\n\r\nok"
           b"GET http://example.test HTTP/1.1\r\nHost: z\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    assert s.response()[::2] == (200, b"ok")
    assert s.response()[0] == 404  # path "/": routed, no such resource
    s.close()
    for target in (b"http:///hello", b"http://user@example.test/hello"):
        refused(loopsrv, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                400, "bad-request")


def test_http_versions(loopsrv):
    # 1.2 is served as 1.1
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.2\r\nHost: x\r\n\r\n"
           b"GET /hello HTTP/1.9\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert (st, body) == (200, b"hello\n")
    assert h.get("connection") != "close"
    assert s.response()[::2] == (200, b"hello\n")
    s.close()
    for v in (b"2.0", b"3.0", b"0.9"):
        doc = refused(loopsrv, b"GET /hello HTTP/" + v + b"\r\nHost: x\r\n\r\n",
                      505, "http-version-not-supported")
        assert ("HTTP/" + v.decode()) in doc["detail"]
    # an HTTP/2 client with prior knowledge sends the connection preface
    refused(loopsrv, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            505, "http-version-not-supported")
    still_answers(loopsrv)


def test_unknown_method(loopsrv):
    for m in (b"FOO", b"GETX", b"BREW-COFFEE"):
        doc = refused(loopsrv, m + b" /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                      501, "not-implemented")
        assert doc["detail"] == "method %s is not supported" % m.decode()
    # pipelined after a good request: still named
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
           b"FOO /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[0] == 200
    st, h, body = s.response()
    assert problem(body, 501, "not-implemented")["detail"] == \
        "method FOO is not supported"
    s.close()
    # not a token: a malformed request line, not a method
    refused(loopsrv, b"G@T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
            400, "bad-request")
    still_answers(loopsrv)


def test_upgrade_is_ignored(loopsrv):
    # RFC 9110 7.8: a server may ignore Upgrade; the connection stays
    # HTTP/1.1 and what follows is the next request (curl --http2 on an
    # http:// URL sends Upgrade: h2c and reuses the connection)
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
           b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQ\r\n\r\n"
           b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    assert s.response()[::2] == (200, b"hello\n")
    # one more after a pause: no bytes pipelined behind the upgrade
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
           b"Upgrade: websocket\r\nContent-Length: 2\r\n\r\nhi")
    assert s.response()[::2] == (200, b"hi")
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    s.close()
    # CONNECT is not served: answered, and the connection stays usable
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"
           b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[0] in (400, 404, 405)
    assert s.response()[::2] == (200, b"hello\n")
    s.close()

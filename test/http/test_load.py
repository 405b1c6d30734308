"""Many clients at once: 1,000 concurrent keep-alive connections and
2,000 idle long-poll waiters, all answered; one waiter is woken within
100 ms of a commit."""
import json
import socket
import threading
import time

from apihelp import Api


def recv_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    n = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.lower() == "content-length":
            n = int(v)
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed in body")
        rest += d
    return int(lines[0].split()[1]), rest[:n], rest[n:]


def test_thousand_keepalive_connections(daemon):
    socks = []
    try:
        for _ in range(1000):
            socks.append(socket.create_connection((daemon.host, daemon.port), timeout=60))
        for round_ in range(2):
            target = b"/health" if round_ == 0 else b"/v1/events?since=0&limit=1"
            for s in socks:
                s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            for s in socks:
                st, body, rest = recv_response(s)
                assert st == 200 and rest == b""
                json.loads(body)
    finally:
        for s in socks:
            s.close()


def test_two_thousand_idle_waiters(daemon):
    api = Api(daemon)
    last = api.last_sequence()
    socks = []
    try:
        for _ in range(2000):
            s = socket.create_connection((daemon.host, daemon.port), timeout=60)
            s.sendall(b"GET /v1/events?since=%d&wait=50 HTTP/1.1\r\nHost: t\r\n\r\n" % last)
            socks.append(s)
        deadline = time.time() + 30
        while api.json("GET", "/health")["waiters"] < 2000:
            assert time.time() < deadline, api.json("GET", "/health")
            time.sleep(0.05)
        t0 = time.time()
        pkg = api.create(name="wake-them-all")
        for s in socks:
            st, body, _ = recv_response(s)
            assert st == 200
            page = json.loads(body)
            assert [e["subject_id"] for e in page["events"]] == [pkg["id"]]
            assert page["next"] == last + 1
        elapsed = time.time() - t0
        print(f"2000 waiters answered in {elapsed:.3f} s")
        assert elapsed < 10
        assert api.json("GET", "/health")["waiters"] == 0
    finally:
        for s in socks:
            s.close()


def test_waiter_woken_within_100ms(daemon):
    api = Api(daemon)
    last = api.last_sequence()
    got = {}

    def poll():
        s = socket.create_connection((daemon.host, daemon.port), timeout=30)
        s.sendall(b"GET /v1/events?since=%d&wait=20 HTTP/1.1\r\nHost: x\r\n\r\n" % last)
        st, body, _ = recv_response(s)
        got["t"] = time.monotonic()
        got["page"] = json.loads(body)
        s.close()

    t = threading.Thread(target=poll)
    t.start()
    deadline = time.time() + 10
    while api.json("GET", "/health")["waiters"] < 1:
        assert time.time() < deadline
        time.sleep(0.01)
    api2 = Api(daemon)
    api2.conn.connect()
    t_before = time.monotonic()
    pkg = api2.create(name="wake")
    t_commit = time.monotonic()
    t.join(10)
    assert got["page"]["events"][0]["subject_id"] == pkg["id"]
    # answered no later than 100 ms after the commit was acknowledged
    assert got["t"] - t_commit < 0.1, (got["t"] - t_before, t_commit - t_before)


def test_wait_times_out_with_same_cursor(daemon):
    api = Api(daemon)
    api.create()
    t0 = time.monotonic()
    page = api.json("GET", "/v1/events?since=1&wait=1")
    dt = time.monotonic() - t0
    assert page == {"events": [], "next": 1}
    assert 0.9 <= dt < 3
    # a cursor beyond the log's end is an error, not an empty page
    st, _, data = api.req("GET", "/v1/events?since=5&wait=0")
    assert st == 409 and json.loads(data)["last_sequence"] == 1, data

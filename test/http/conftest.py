"""Fixtures that run the real binaries on an ephemeral port.

ARTIFACTSTORED and LOOPSRV (set by test/meson.build) name the binaries.
stderr goes to a file (so a chatty server never blocks on a full pipe);
the fixture reads the {"msg":"listening","address":...} line from it and
stops the process with SIGTERM, asserting exit status 0.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import time

import pytest


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


_raise_nofile()


class Proc:
    def __init__(self, argv, tmp_path, name):
        self.argv = argv
        self.log_path = tmp_path / f"{name}.stderr"
        self.proc = None
        self.host = None
        self.port = None

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        self.offset = self.log.tell()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for rec in self.records(since_start=True):
                if rec.get("msg") == "listening":
                    addr = rec["address"]
                    host, _, port = addr.rpartition(":")
                    self.host = host.strip("[]")
                    self.port = int(port)
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv[0]} exited {self.proc.returncode}: "
                                     + self.stderr_text())
            time.sleep(0.02)
        raise AssertionError("no listening line: " + self.stderr_text())

    def stderr_text(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def records(self, since_start=False):
        data = self.log_path.read_bytes()
        if since_start:
            data = data[self.offset:]
        out = []
        for line in data.decode("utf-8", "replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    def connect(self, timeout=10):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()


@pytest.fixture
def loopsrv(tmp_path):
    exe = os.environ.get("LOOPSRV")
    if not exe:
        pytest.skip("LOOPSRV not set (run through meson test)")
    p = Proc([exe], tmp_path, "loopsrv").start()
    yield p
    rc = p.stop()
    assert rc == 0, p.stderr_text()[-4000:]


@pytest.fixture
def make_loopsrv(tmp_path):
    """A loopsrv with custom limits: make_loopsrv(max_conns, header_ms,
    idle_ms, body_ms)."""
    procs = []

    def make(*args):
        exe = os.environ["LOOPSRV"]
        p = Proc([exe] + [str(a) for a in args], tmp_path, f"loopsrv{len(procs)}")
        procs.append(p)
        return p.start()

    yield make
    for p in procs:
        rc = p.stop()
        assert rc == 0, p.stderr_text()[-4000:]


def daemon_argv(data_dir, extra=()):
    exe = os.environ.get("ARTIFACTSTORED")
    if not exe:
        pytest.skip("ARTIFACTSTORED not set (run through meson test)")
    return [exe, "--listen", "127.0.0.1:0", "--data", str(data_dir), *extra]


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def daemon(tmp_path, data_dir):
    p = Proc(daemon_argv(data_dir), tmp_path, "daemon").start()
    p.data_dir = data_dir
    yield p
    rc = p.stop()
    assert rc == 0, p.stderr_text()[-4000:]


# --- raw HTTP helpers -------------------------------------------------------

def read_response(sock, head_only=False):
    """Reads one HTTP/1.1 response: (status, headers dict lowercased, body).
    1xx interim responses are returned as they come."""
    buf = getattr(sock, "_pending", b"")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head_only or status in (100, 204, 304) else int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed inside a body")
        rest += chunk
    body, sock._pending = rest[:n], rest[n:]
    return status, headers, body


class RawSock:
    """socket wrapper whose reader keeps bytes beyond one response."""

    def __init__(self, host, port, timeout=10):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self._pending = b""

    def send(self, data):
        self.s.sendall(data)

    def recv(self, n):
        return self.s.recv(n)

    def response(self, head_only=False):
        return read_response(self, head_only)

    def closed(self, timeout=5):
        """True when the peer closed (EOF or reset) within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()

"""Helpers for the API tests: a tiny HTTP client over http.client, curl,
b3sum/sha256sum, and a snapshot of what a bad request must not change."""
import http.client
import json
import os
import subprocess
import time

PROBLEM = "https://artifactstored.dev/problems/"


class Api:
    def __init__(self, daemon):
        self.d = daemon
        self.conn = http.client.HTTPConnection(daemon.host, daemon.port, timeout=60)

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self.conn.close()
                if attempt:
                    raise

    def json(self, method, path, body=None, headers=None, expect=200):
        st, h, data = self.req(method, path, body, headers)
        assert st == expect, (st, data)
        return json.loads(data) if data else None

    def create(self, **kw):
        body = {"name": "pkg", "producer": "ci", "subject": "build 1",
                "retention_class": "transient"}
        body.update(kw)
        return self.json("POST", "/v1/packages", body, expect=201)

    def last_sequence(self):
        return self.json("GET", "/health")["last_sequence"]


def problem(data, status, slug):
    doc = json.loads(data)
    assert doc["type"] == PROBLEM + slug, doc
    assert doc["status"] == status, doc
    assert isinstance(doc["title"], str) and isinstance(doc["detail"], str)
    return doc


def blob_files(data_dir):
    out = []
    root = os.path.join(data_dir, "blobs")
    for dirpath, _, files in os.walk(root):
        out += [os.path.join(dirpath, f) for f in files]
    return sorted(out)


def tmp_files(data_dir):
    t = os.path.join(data_dir, "tmp")
    return sorted(os.listdir(t)) if os.path.isdir(t) else []


class Unchanged:
    """with Unchanged(api): ... asserts no new event, blob or temp file."""

    def __init__(self, api):
        self.api = api

    def __enter__(self):
        self.seq = self.api.last_sequence()
        self.blobs = blob_files(self.api.d.data_dir)
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        deadline = time.time() + 5
        while tmp_files(self.api.d.data_dir) and time.time() < deadline:
            time.sleep(0.05)
        assert tmp_files(self.api.d.data_dir) == []
        assert self.api.last_sequence() == self.seq
        assert blob_files(self.api.d.data_dir) == self.blobs
        return False


def b3sum(path):
    return subprocess.run(["b3sum", "--no-names", str(path)], check=True,
                          capture_output=True, text=True).stdout.split()[0]


def b3sum_bytes(data):
    return subprocess.run(["b3sum", "--no-names"], input=data, check=True,
                          capture_output=True).stdout.decode().split()[0]


def sha256sum(path):
    return subprocess.run(["sha256sum", str(path)], check=True,
                          capture_output=True, text=True).stdout.split()[0]


def curl(*args, check=True):
    """Runs curl; returns (http status, body bytes)."""
    r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args],
                       capture_output=True, check=check, timeout=300)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body

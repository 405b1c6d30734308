"""Digests a producer announces with an upload are binding (issue 11):
Repr-Digest and Content-Digest are strict RFC 9651 dictionaries checked
against the body, every X-Content-Address line counts, announcements that
disagree are refused before the body is read, and a refused upload leaves
nothing: no file, no blob, no temp file, no event."""
import base64
import hashlib
import json

import pytest

from apihelp import Api, Unchanged, b3sum_bytes, problem
from conftest import RawSock

BODY = b"the bytes a producer sends\n"
SHA = hashlib.sha256(BODY).digest()
RIGHT = base64.b64encode(SHA).decode()
WRONG = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
B3 = b3sum_bytes(BODY)
WRONG_B3 = b3sum_bytes(b"other bytes")


@pytest.fixture
def api(daemon):
    return Api(daemon)


def put_lines(daemon, pid, path, lines, body=BODY):
    """PUT with header lines given as (name, value) pairs, repeats kept."""
    s = RawSock(daemon.host, daemon.port)
    head = b"".join(b"%s: %s\r\n" % (n.encode(), v.encode()) for n, v in lines)
    s.send(b"PUT /v1/packages/%s/files/%s HTTP/1.1\r\nHost: t\r\n"
           b"Content-Length: %d\r\n" % (pid.encode(), path.encode(), len(body))
           + head + b"\r\n" + body)
    st, h, data = s.response()
    s.close()
    return st, data


def assert_nothing_stored(api, pid, since):
    assert api.json("GET", f"/v1/packages/{pid}/files")["files"] == []
    events = api.json("GET", f"/v1/events?since={since}&limit=1000")["events"]
    assert [e for e in events if e["event_type"] == "v1.file.ingested"] == []


def refused(api, daemon, lines, slug, needle=""):
    pid = api.create()["id"]
    since = api.last_sequence()
    with Unchanged(api):
        st, data = put_lines(daemon, pid, "f.bin", lines)
        assert st == 400, (lines, data)
        doc = problem(data, 400, slug)
        assert needle in doc["detail"], doc
    assert_nothing_stored(api, pid, since)
    return doc


def accepted(api, daemon, lines):
    pid = api.create()["id"]
    st, data = put_lines(daemon, pid, "f.bin", lines)
    assert st == 201, (lines, data)
    f = json.loads(data)
    assert f["size"] == len(BODY)
    return f


# Each of these was taken with 201 and no check before.
@pytest.mark.parametrize("value,needle", [
    ("garbage", "Repr-Digest"),
    ("sha-256=abc", "byte sequence"),
    (f'sha-256="{RIGHT}"', "byte sequence"),
    (f"SHA-256=:{WRONG}:", "lowercase"),
    (f"sha-256=:{RIGHT}:,", "ends with ','"),
    (f"sha-256=:{RIGHT[:-1]}*:", "base64"),
    (f"sha-256=:{RIGHT}:;", "key"),
    ("sha-256=:" + base64.b64encode(SHA[:31]).decode() + ":", "31 bytes"),
    (f"sha-256=:{RIGHT}: ; a=1", "separated"),
    (f"sha-256=:{RIGHT}:, md5=:x", "closing ':'"),
])
def test_malformed_repr_digest(api, daemon, value, needle):
    doc = refused(api, daemon, [("Repr-Digest", value)],
                  "invalid-digest-header", needle)
    assert "Repr-Digest" in doc["detail"]


def test_wrong_repr_digest(api, daemon):
    refused(api, daemon, [("Repr-Digest", f"sha-256=:{WRONG}:")],
            "digest-mismatch", "nothing was stored")


def test_only_unknown_algorithms(api, daemon):
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    for field in ("Repr-Digest", "Content-Digest"):
        refused(api, daemon, [(field, f"md5=:{md5}:")],
                "invalid-digest-header", "sha-256")
    # the old parser read "xsha-256" as no digest at all and took it
    refused(api, daemon, [("Repr-Digest", f"xsha-256=:{WRONG}:")],
            "invalid-digest-header", "sha-256")


def test_unknown_beside_known(api, daemon):
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    accepted(api, daemon,
             [("Repr-Digest", f"sha-512=:{sha512}:, sha-256=:{RIGHT}:")])
    # unknown members of any type, with parameters, are ignored
    accepted(api, daemon,
             [("Repr-Digest", f'sha-256=:{RIGHT}:;p=1, x=(1 "a");q, y')])
    # and a wrong sha-512 is not ours to check
    accepted(api, daemon,
             [("Repr-Digest", f"sha-512=:AAAA:, sha-256=:{RIGHT}:")])


def test_last_member_wins(api, daemon):
    accepted(api, daemon,
             [("Repr-Digest", f"sha-256=:{WRONG}:, sha-256=:{RIGHT}:")])
    refused(api, daemon,
            [("Repr-Digest", f"sha-256=:{RIGHT}:, sha-256=:{WRONG}:")],
            "digest-mismatch")
    # several lines are one field joined with ", " (RFC 9110 5.3)
    accepted(api, daemon, [("Repr-Digest", f"sha-256=:{WRONG}:"),
                           ("Repr-Digest", f"sha-256=:{RIGHT}:")])


def test_content_digest(api, daemon):
    accepted(api, daemon, [("Content-Digest", f"sha-256=:{RIGHT}:")])
    refused(api, daemon, [("Content-Digest", f"sha-256=:{WRONG}:")],
            "digest-mismatch")
    refused(api, daemon, [("Content-Digest", "sha-256=:!!:")],
            "invalid-digest-header", "Content-Digest")
    accepted(api, daemon, [("Repr-Digest", f"sha-256=:{RIGHT}:"),
                           ("Content-Digest", f"sha-256=:{RIGHT}:")])


def test_announcements_disagree(api, daemon):
    doc = refused(api, daemon, [("Repr-Digest", f"sha-256=:{RIGHT}:"),
                                ("Content-Digest", f"sha-256=:{WRONG}:")],
                  "digest-mismatch", "Repr-Digest and Content-Digest")
    assert "SHA-256" in doc["detail"]
    refused(api, daemon, [("X-Content-Address", "sha256:" + SHA.hex()),
                          ("Repr-Digest", f"sha-256=:{WRONG}:")],
            "digest-mismatch", "Repr-Digest and X-Content-Address")
    refused(api, daemon, [("X-Content-Address", "blake3:" + B3),
                          ("X-Content-Address", "blake3:" + WRONG_B3)],
            "digest-mismatch", "two different BLAKE3")


def test_every_content_address_binds(api, daemon):
    # the second line used to be ignored
    refused(api, daemon, [("X-Content-Address", "blake3:" + B3),
                          ("X-Content-Address", "sha256:" + "ab" * 32)],
            "digest-mismatch", "nothing was stored")
    refused(api, daemon, [("X-Content-Address", "blake3:" + B3),
                          ("X-Content-Address", "sha256:nope")],
            "invalid-digest-header", "X-Content-Address")
    refused(api, daemon, [("X-Content-Address", f"blake3:{B3},")],
            "invalid-digest-header", "X-Content-Address")
    f = accepted(api, daemon, [("X-Content-Address", "blake3:" + B3),
                               ("X-Content-Address", "sha256:" + SHA.hex()),
                               ("Repr-Digest", f"sha-256=:{RIGHT}:")])
    assert f["blake3"] == "blake3:" + B3
    assert f["sha256"] == "sha256:" + SHA.hex()
    accepted(api, daemon,
             [("X-Content-Address", f"blake3:{B3}, sha256:{SHA.hex()}")])


def test_empty_field_is_absent(api, daemon):
    accepted(api, daemon, [("Repr-Digest", "")])


def test_partial_upload_refused(api, daemon):
    refused(api, daemon, [("Content-Range", f"bytes 0-{len(BODY) - 1}/100")],
            "bad-request", "Content-Range")


def test_content_encoding_kept(api, daemon):
    # the bytes are stored as sent: both digests describe them
    f = accepted(api, daemon, [("Content-Encoding", "gzip"),
                               ("Repr-Digest", f"sha-256=:{RIGHT}:"),
                               ("Content-Digest", f"sha-256=:{RIGHT}:")])
    st, h, data = api.req("GET", f"/v1/files/{f['id']}")
    assert st == 200 and data == BODY

"""The docs runner itself: which blocks it runs, that a failing example
fails with its text and output, the daemon markers, and that the examples
this issue fixed fail as they were written before."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "run_docs.py")
BUILD = os.environ["DOCS_BUILD"]


def run(tmp_path, text):
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    r = subprocess.run([sys.executable, RUNNER, str(doc), BUILD],
                       capture_output=True, text=True, timeout=200)
    return r.returncode, r.stdout + r.stderr


def test_only_sh_blocks_run(tmp_path):
    rc, out = run(tmp_path, "```text\nfalse\n```\n\n    false\n\n"
                  "```console\n$ false\n```\n\n<!-- docs: skip (why) -->\n"
                  "```sh\nfalse\n```\n\n```sh\ntrue\n```\n")
    assert rc == 0, out
    assert "1 blocks ran" in out


def test_failure_shows_block_and_output(tmp_path):
    rc, out = run(tmp_path, "```sh\nX=1\n```\n\n```sh\necho got $X\n"
                  "curl -s $S/v1/packages/nope\n```\n")
    assert rc == 1
    assert "doc.md:5: FAILED" in out                # the fence line
    assert "curl -s $S/v1/packages/nope" in out     # the block
    assert "got 1" in out                            # its output so far
    assert "(22)" in out                             # curl's HTTP error


def test_unset_variable_fails(tmp_path):
    rc, out = run(tmp_path, "```sh\ncurl -s $S/v1/packages/$P\n```\n")
    assert rc == 1 and "P: unbound variable" in out


def test_stopped_and_restart(tmp_path):
    rc, out = run(tmp_path, "```sh\ncurl -s $S/health\n```\n\n"
                  "<!-- docs: stopped -->\n```sh\n"
                  "artifactstored --verify-log --data \"$DATA\"\n```\n\n"
                  "```sh\ncurl -s $S/health\n```\n")
    assert rc == 0, out
    assert "3 blocks ran" in out
    # Unmarked, the same block meets the running daemon's lock.
    rc, out = run(tmp_path, "```sh\nartifactstored --verify-log --data \"$DATA\"\n```\n")
    assert rc == 1 and "in use by another artifactstored" in out


def test_stop_after_needs_a_loop_that_ends(tmp_path):
    rc, out = run(tmp_path, "<!-- docs: stop-after 1 -->\n```sh\n"
                  "while curl -s \"$S/v1/events?since=0&wait=5\" >/dev/null; do :; done\n"
                  "echo ended\n```\n")
    assert rc == 0, out
    rc, out = run(tmp_path, "<!-- docs: stop-after 2 -->\n```sh\ntrue\n```\n")
    assert rc == 1 and "ended before the daemon was stopped" in out


def test_old_readme_example_fails(tmp_path):
    # README before issue 12: uploads a file that does not exist, then
    # seals the (empty) package anyway.
    old = """```sh
ID=$(curl -s -X POST $S/v1/packages -H 'Content-Type: application/json' \\
  -d '{"name":"web","producer":"ci","subject":"build 1842","retention_class":"release-evidence"}' \\
  | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -T dist/web.tar.gz $S/v1/packages/$ID/files/dist/web.tar.gz
curl -s -X POST $S/v1/packages/$ID/finalize
```
"""
    rc, out = run(tmp_path, old)
    assert rc == 1 and "dist/web.tar.gz" in out, out


def test_missing_cited_file(tmp_path):
    rc, out = run(tmp_path, "The view handlers (`codec/cview.c`) and "
                  "`src/store/codec/cview.c` and `evlog/writer.h`.\n")
    assert rc == 1
    assert "cites codec/cview.c" in out
    assert out.count("cites ") == 1, out


def test_backup_and_running_store_checks_see_the_data(tmp_path):
    # docs/OPERATOR.md, "Backup" and "Checking a running store", on a store
    # with events the daemon has not checkpointed (still in the WAL) and a
    # blob.
    sys.path.insert(0, HERE)
    import run_docs
    doc = os.path.join(HERE, "..", "..", "docs", "OPERATOR.md")
    texts = [t for _, _, t in run_docs.blocks(doc)]
    backup = [t for t in texts if "sqlite3 \"$DATA" in t]
    check = [t for t in texts if "--blobs --data \"$BACKUP\"" in t]
    running = [t for t in texts if ".backup(d)" in t]
    assert len(backup) == len(check) == len(running) == 1
    make = ("P=$(curl -s -X POST $S/v1/packages "
            "-H 'Content-Type: application/json' -d '{\"name\":\"n\","
            "\"producer\":\"p\",\"subject\":\"s\","
            "\"retention_class\":\"transient\"}' | /usr/bin/python3 -c "
            "'import json,sys; print(json.load(sys.stdin)[\"id\"])')\n"
            "echo hello > a.txt\n"
            "curl -s -T a.txt $S/v1/packages/$P/files/a.txt >/dev/null\n")
    text = "".join("```sh\n" + t + "```\n\n"
                   for t in [make, backup[0], check[0], running[0]])
    rc, out = run(tmp_path, text)
    assert rc == 0, out
    assert out.count("verify-log: ok, 2 events verified") == 2, out
    assert "blobs: 1 referenced (6 bytes): 1 ok" in out, out
    assert out.count("views match the log") == 2, out


def test_daemon_that_ignores_sigterm_is_killed(tmp_path):
    # A daemon that does not exit on SIGTERM fails the run and is not left
    # running behind it.
    sys.path.insert(0, HERE)
    import run_docs
    exe = tmp_path / "fake"
    exe.write_text("#!/bin/bash\ntrap '' TERM\n"
                   "echo '{\"msg\":\"listening\",\"address\":\"127.0.0.1:1\"}' >&2\n"
                   "exec sleep 60\n")
    exe.chmod(0o755)
    d = run_docs.Daemon(str(exe), str(tmp_path))
    assert d.start() == "http://127.0.0.1:1"
    proc = d.proc
    old, run_docs.STOP_TIMEOUT = getattr(run_docs, "STOP_TIMEOUT", 30), 1
    try:
        try:
            d.stop()
            raised = None
        except BaseException as e:
            raised = e
    finally:
        run_docs.STOP_TIMEOUT = old
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            assert False, "the daemon was left running"
    assert isinstance(raised, SystemExit), raised
    assert "killed" in str(raised)
    assert not d.running()

#!/usr/bin/python3
"""run_docs.py: runs the shell examples of one Markdown file, in order,
against a live daemon, so the documentation runs as written.

Usage: run_docs.py FILE.md BUILD_DIR

Convention (docs/ARCHITECTURE.md, "Documentation examples", says it too):

- A fenced block opened with ```sh is run.  Every other block (```console,
  ```text, ```json, a bare ``` or a 4-space indented block) is not.
- An HTML comment on a line of its own just before a ```sh fence (blank
  lines between are allowed) changes how that block runs:
    <!-- docs: skip -->          not run (say why after "skip")
    <!-- docs: stopped -->       the daemon is stopped (SIGTERM, exit 0)
                                 before the block; it is started again, on
                                 the same data directory, before the next
                                 block that is not marked stopped
    <!-- docs: stop-after N -->  a block that runs until the daemon goes
                                 away (a tail loop): after N seconds the
                                 daemon is stopped and the block must end
                                 by itself, with status 0, within the
                                 timeout
- All blocks of a file run in one bash, `set -euo pipefail`, so variables
  carry from one block to the next; each block has 60 s.  The working
  directory is a new temp dir holding `build` (a link to the build
  directory) and `var`, the daemon's data directory.  Exported: S (the
  daemon's URL), DATA (the data directory, absolute), BACKUP (an absent
  directory for backups), PATH with the build directory first, and HOME
  (the temp dir) whose .curlrc makes every curl fail on an HTTP error
  (`--fail`; `--fail-with-body` would clash with examples that say
  `-f`), so an example answered 4xx/5xx fails.

A failing block fails the test with its text and its output.

Before the blocks, every file the text cites in backquotes
(`dir/name.c`, .h, .py, .sql, .md, .sh) must exist, relative to the
repository root; a header may also be named as it is included, relative
to src/ or src/store/ (`evlog/writer.h`).
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CITED = re.compile(r"`([A-Za-z0-9_.][A-Za-z0-9_./-]*/[A-Za-z0-9_.-]+"
                   r"\.(?:c|h|py|sql|md|sh))`")
BLOCK_TIMEOUT = 60
STOP_TIMEOUT = 30     # s the daemon has to exit after SIGTERM
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARK = re.compile(r"^\s*<!--\s*docs:\s*(.*?)\s*-->\s*$")


def blocks(path):
    """[(line number, marker words, text)] of the ```sh blocks."""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    mark = []
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        if m:
            mark = m.group(1).split()
            i += 1
            continue
        f = FENCE.match(lines[i])
        if f:
            indent, lang = f.group(1), f.group(2)
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = [l[len(indent):] if l.startswith(indent) else l
                    for l in lines[start:j]]
            if lang == "sh" and (not mark or mark[0] != "skip"):
                out.append((start, mark, "\n".join(body) + "\n"))
            mark = []
            i = j + 1
            continue
        if lines[i].strip():
            mark = []
        i += 1
    return out


def missing_files(path):
    """[(line, name)] of files cited in backquotes that do not exist."""
    out = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        for m in CITED.finditer(line):
            name = m.group(1)
            roots = [ROOT]
            if name.endswith(".h"):
                roots += [os.path.join(ROOT, "src"),
                          os.path.join(ROOT, "src", "store")]
            if not any(os.path.exists(os.path.join(r, name)) for r in roots):
                out.append((n, name))
    return out


class Daemon:
    def __init__(self, exe, cwd):
        self.exe, self.cwd, self.proc = exe, cwd, None
        self.log = open(os.path.join(cwd, "daemon.log"), "ab")

    def start(self):
        self.proc = subprocess.Popen(
            [self.exe, "--listen", "127.0.0.1:0", "--data", "./var"],
            cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.write(line)
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "listening":
                addr = rec["address"]
                # Keep draining stderr so the daemon never blocks on it.
                threading.Thread(target=self._drain, daemon=True).start()
                return "http://" + addr
        raise SystemExit("daemon did not start:\n" + self.tail())

    def _drain(self):
        for line in self.proc.stderr:
            self.log.write(line)
        self.log.flush()

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # never leave a daemon behind: kill it, then fail
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise SystemExit("daemon still running %d s after SIGTERM; "
                             "killed:\n%s" % (STOP_TIMEOUT, self.tail()))
        self.proc = None
        if rc != 0:
            raise SystemExit("daemon exited %d on SIGTERM:\n%s" % (rc, self.tail()))

    def running(self):
        return self.proc is not None

    def tail(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")


class Shell:
    """One bash fed commands on stdin; output read up to a sentinel."""

    def __init__(self, cwd, env):
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.out = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.send("set -euo pipefail\n")

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.out.append(line.decode(errors="replace"))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, script, n, on_start=None, timeout=BLOCK_TIMEOUT):
        """Sources script; returns (ok, output)."""
        with self.lock:
            self.out = []
        done = "__docs_block_%d_done__" % n
        self.send("source %s </dev/null\necho %s\n" % (script, done))
        self.done = done
        if on_start:
            on_start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                text = "".join(self.out)
            if done + "\n" in text:
                return True, text.replace(done + "\n", "")
            if self.proc.poll() is not None:
                time.sleep(0.2)        # let the reader take the last lines
                with self.lock:
                    return False, "".join(self.out) + \
                        "[bash exited %d]\n" % self.proc.returncode
            time.sleep(0.05)
        with self.lock:
            return False, "".join(self.out) + "[timed out after %d s]\n" % timeout

    def finished(self):
        """Whether the block being run has ended."""
        with self.lock:
            return self.done + "\n" in "".join(self.out)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def main():
    doc, build = sys.argv[1], os.path.abspath(sys.argv[2])
    exe = os.path.join(build, "artifactstored")
    missing = missing_files(doc)
    for line, name in missing:
        print("%s:%d: cites %s, which is not in the repository"
              % (doc, line, name))
    if missing:
        return 1
    todo = blocks(doc)
    with tempfile.TemporaryDirectory(prefix="docs-") as tmp:
        os.symlink(build, os.path.join(tmp, "build"))
        # Every curl fails on an error answer, so an
        # example that gets a 4xx or 5xx fails its block.
        with open(os.path.join(tmp, ".curlrc"), "w") as f:
            f.write("fail\nshow-error\n")
        env = dict(os.environ)
        env.update(PATH=build + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
                   DATA=os.path.join(tmp, "var"),
                   BACKUP=os.path.join(tmp, "backup"), HOME=tmp,
                   TMPDIR=tmp)
        d = Daemon(exe, tmp)
        sh = Shell(tmp, env)
        failed = None
        try:
            for n, (line, mark, text) in enumerate(todo):
                kind = mark[0] if mark else ""
                if kind == "stopped":
                    d.stop()
                elif not d.running():
                    sh.send("export S=%s\n" % d.start())
                script = os.path.join(tmp, ".block%d.sh" % n)
                with open(script, "w") as f:
                    f.write(text)
                on_start = None
                if kind == "stop-after":
                    wait = float(mark[1])

                    def on_start(wait=wait):
                        time.sleep(wait)
                        sh.early = sh.finished() or sh.proc.poll() is not None
                        d.stop()
                ok, out = sh.run(script, n, on_start)
                if ok and kind == "stop-after" and sh.early:
                    ok, out = False, out + "[ended before the daemon was stopped]\n"
                if not ok:
                    failed = (line, text, out)
                    break
                print("%s:%d: ok" % (doc, line))
                sys.stdout.write("".join("    " + l for l in
                                         out.splitlines(True)[-40:]))
                if out and not out.endswith("\n"):
                    print()
        finally:
            sh.close()
            try:
                d.stop()
            except SystemExit as e:
                if failed is None:
                    failed = (0, "(daemon stop at the end)", str(e))
        if failed:
            line, text, out = failed
            print("%s:%d: FAILED\n--- block ---\n%s--- output ---\n%s"
                  "--- daemon log (tail) ---\n%s"
                  % (doc, line, text, out, d.tail()))
            return 1
        print("%s: %d blocks ran" % (doc, len(todo)))
        return 0


if __name__ == "__main__":
    sys.exit(main())

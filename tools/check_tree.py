#!/usr/bin/python3
"""tools/check_tree.py: keep the rules of docs/ARCHITECTURE.md true.

Checks the source tree against the rooms and their rules, and fails
naming every file and line that breaks one:

  - each room includes only the rooms below it (the table ROOMS);
  - a backend's private headers (*_impl.h) are included only inside the
    folder that owns them and its backends; *_int.h and internal.h only
    inside their own folder;
  - sqlite3.h only in src/store/evlog/sqlite/, llhttp.h only in
    src/loop/ and src/handlers/;
  - the event-log engine (src/store/evlog/) names nothing of the domain
    above it in its code (comments aside);
  - no source file of src/ or tools/ is longer than MAX_LINES.

  tools/check_tree.py [SOURCE_ROOT]
"""

import os
import re
import sys

MAX_LINES = 700

# room (a path prefix under src/) -> what its files may include (prefixes
# of our own headers).  The longest matching room applies.
ROOMS = {
    "util/": ["util/"],
    "store/codec/": ["util/", "store/codec/"],
    "store/datadir": ["util/", "store/codec/", "store/datadir"],
    "store/blob/": ["util/", "store/codec/", "store/blob/"],
    "store/evlog/": ["util/", "store/codec/", "store/evlog/"],
    "store/registry/": ["util/", "store/codec/", "store/blob/",
                        "store/evlog/", "store/registry/"],
    "retention/": ["util/", "store/codec/", "store/blob/", "store/evlog/",
                   "store/registry/", "retention/"],
    "loop/": ["util/", "loop/"],
    "handlers/": ["util/", "loop/", "store/codec/", "store/blob/",
                  "store/evlog/", "store/registry/", "handlers/",
                  "retention/retention.h"],
    "cmd/": ["util/", "loop/", "store/", "retention/retention.h",
             "handlers/", "cmd/"],
    "main.c": ["util/", "cmd/", "store/codec/"],
}

# Outside the engine, only these engine headers may be named: the rest
# is the engine's own business.
ENGINE_PUBLIC = {"store/evlog/evlog.h", "store/evlog/event.h",
                 "store/evlog/domain.h", "store/evlog/writer.h",
                 "store/evlog/reader.h", "store/evlog/evring.h",
                 "store/evlog/log.h", "store/evlog/replay.h",
                 "store/evlog/verify.h", "store/evlog/chain.h"}

LIBRARY_ROOMS = {
    "sqlite3.h": ["store/evlog/sqlite/"],
    "llhttp.h": ["loop/", "handlers/"],
}

DOMAIN_WORDS = re.compile(
    r"\b(package|packages|pkg|file_rec|manifest|retention\w*|reg_\w+|"
    r"registry\w*|views_\w+|blob_\w+)\b", re.I)

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def strip_comments(text):
    """C text with comments and string literals blanked (lines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def room_of(rel):
    best = None
    for room in ROOMS:
        if rel.startswith(room) and (best is None or len(room) > len(best)):
            best = room
    return best


def check_include(rel, lineno, name, quoted, problems):
    where = "src/%s:%d" % (rel, lineno)
    if not quoted:
        for lib, rooms in LIBRARY_ROOMS.items():
            if name == lib and not any(rel.startswith(r) for r in rooms):
                problems.append("%s: includes <%s>, allowed only in %s" %
                                (where, lib, ", ".join(rooms)))
        return
    if name in ("as_config.h", "blake3.h", "llhttp.h"):
        return
    for lib, rooms in LIBRARY_ROOMS.items():
        if name == lib and not any(rel.startswith(r) for r in rooms):
            problems.append("%s: includes %s, allowed only in %s" %
                            (where, lib, ", ".join(rooms)))
    room = room_of(rel)
    if room is None:
        problems.append("%s: file is in no room (see ROOMS)" % where)
        return
    if not any(name.startswith(p) for p in ROOMS[room]):
        problems.append("%s: room %s may not include %s (allowed: %s)" %
                        (where, room, name, ", ".join(ROOMS[room])))
    base = os.path.basename(name)
    here = os.path.dirname(rel) + "/"
    there = os.path.dirname(name) + "/"
    if base.endswith("_impl.h") and not here.startswith(there):
        problems.append("%s: %s is private to %s and its backends" %
                        (where, name, there))
    if (base.endswith("_int.h") or base == "internal.h") and here != there:
        problems.append("%s: %s is private to %s" % (where, name, there))
    if (name.startswith("store/evlog/") and not rel.startswith("store/evlog/")
            and name not in ENGINE_PUBLIC):
        problems.append("%s: %s is internal to the event-log engine" %
                        (where, name))


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(root, "src")
    problems = []
    files = 0
    for top in ("src", "tools"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for fn in sorted(names):
                if not fn.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, fn)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                files += 1
                lines = text.count("\n")
                relroot = os.path.relpath(path, root)
                if lines > MAX_LINES:
                    problems.append("%s: %d lines, more than %d: split it "
                                    "along a seam" %
                                    (relroot, lines, MAX_LINES))
                if top != "src":
                    continue
                rel = os.path.relpath(path, src)
                for no, line in enumerate(text.splitlines(), 1):
                    m = INCLUDE.match(line)
                    if m:
                        check_include(rel, no, m.group(2), m.group(1) == '"',
                                      problems)
                if rel.startswith("store/evlog/"):
                    code = strip_comments(text)
                    for no, line in enumerate(code.splitlines(), 1):
                        m = DOMAIN_WORDS.search(line)
                        if m:
                            problems.append(
                                "src/%s:%d: the event-log engine names the "
                                "domain (%s): it belongs in the domain's "
                                "room" % (rel, no, m.group(0)))
    for p in problems:
        print(p)
    print("check_tree: %d files, %d problems" % (files, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

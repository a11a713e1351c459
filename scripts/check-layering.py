#!/usr/bin/env python3
"""Checks the include graph against the floors in the README's layout section.

The README (section "Layout", the fenced block after the `floors:` marker) lists the floors, lowest
first, one a line: a floor number and the folders on it. A folder may include its own headers and
those of folders on lower floors; an `#include "..."` from a folder to one on a higher floor
(upward) or on the same floor (sideways) is a violation, as is a source file in a folder that no
floor names.

  scripts/check-layering.py           lists every violation with file:line; exits 0
  scripts/check-layering.py --check   the same, and exits 1 if there is any (CI: scripts/test.sh)
  --root DIR                          another tree (its README.md and sources; tests use it)

Reads the sources under core/, ipc/, mono/, split/ and bench/ (tests/ may include anything).
Python 3 standard library only.
"""

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("core", "ipc", "mono", "split", "bench")
SOURCE_SUFFIXES = {".h", ".hpp", ".hh", ".c", ".cc", ".cpp", ".cxx"}
MARKER = "floors:"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_floors(readme):
    """{folder: floor} from the README's floor list; exits with a message if it is malformed."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if MARKER in line and "<!--" in line), None)
    if start is None:
        sys.exit(f"{readme}: no '<!-- {MARKER} ... -->' marker (the floor list of the layout)")
    i = start + 1
    while i < len(lines) and not lines[i].startswith("```"):
        i += 1
    floors = {}
    for n, line in enumerate(lines[i + 1:], start=i + 2):
        if line.startswith("```"):
            break
        if not line.strip():
            continue
        number, *folders = line.split()
        if not number.isdigit() or not folders:
            sys.exit(f"{readme}:{n}: expected 'FLOOR folder...', got {line!r}")
        for folder in folders:
            folder = folder.rstrip("/")
            if folder in floors:
                sys.exit(f"{readme}:{n}: {folder} is on two floors")
            floors[folder] = int(number)
    else:
        sys.exit(f"{readme}: the floor list after line {start + 1} is not a closed ``` block")
    if not floors:
        sys.exit(f"{readme}: the floor list is empty")
    return floors


def folder_of(path, floors):
    """The listed folder that holds `path` (the longest prefix), or None."""
    parts = Path(path).parts
    for k in range(len(parts) - 1, 0, -1):
        folder = "/".join(parts[:k])
        if folder in floors:
            return folder
    return None


def scan(root, floors):
    """(violations, unplaced): violations are (file, line, include, kind, from, to)."""
    violations, unplaced = [], set()
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            src = folder_of(rel, floors)
            if src is None:
                unplaced.add(str(Path(rel).parent))
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for n, line in enumerate(text.splitlines(), start=1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                dst = folder_of(m.group(1), floors)
                if dst is None or dst == src:
                    continue  # a header beside the file, or outside the scanned tree
                if floors[dst] > floors[src]:
                    kind = "upward"
                elif floors[dst] == floors[src]:
                    kind = "sideways"
                else:
                    continue
                violations.append((rel, n, m.group(1), kind, src, dst))
    return violations, sorted(unplaced)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if any include points upward or sideways")
    parser.add_argument("--root", type=Path, default=REPO, help="the tree to check")
    args = parser.parse_args()

    root = args.root.resolve()
    floors = read_floors(root / "README.md")
    violations, unplaced = scan(root, floors)
    for rel, n, inc, kind, src, dst in violations:
        print(f"{rel}:{n}: {kind}: {src} (floor {floors[src]}) includes \"{inc}\" "
              f"({dst}, floor {floors[dst]})")
    for folder in unplaced:
        print(f"{folder}: not on any floor: add it to the floor list in README.md (Layout)")
    upward = sum(1 for v in violations if v[3] == "upward")
    sideways = len(violations) - upward
    print(f"check-layering: {upward} upward, {sideways} sideways, "
          f"{len(unplaced)} unplaced folder(s); {len(floors)} folders on "
          f"{len(set(floors.values()))} floors (README.md, Layout)")
    if args.check and (violations or unplaced):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

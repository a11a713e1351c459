#!/usr/bin/env python3
"""scripts/check-layering.py on small trees made for each case, and on this repository."""

import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "scripts" / "check-layering.py"

README = textwrap.dedent("""\
    # A tree

    ## Layout

    <!-- floors: scripts/check-layering.py reads this block; one floor a line, lowest first -->
    ```text
    0  core/common
    1  core/storage core/auth
    2  core/vault
    3  mono
    ```
    """)


def run(root, *args):
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args],
                          capture_output=True, text=True, check=False)


class CheckLayeringTest(unittest.TestCase):
    def tree(self, files, readme=README):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        (root / "README.md").write_text(readme)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return root

    def test_includes_that_only_point_down_pass(self):
        root = self.tree({
            "core/common/status.h": "#pragma once\n",
            "core/storage/storage.h": '#include "core/common/status.h"\n#include <vector>\n',
            "core/storage/storage.cpp": '#include "core/storage/storage.h"\n',
            "core/vault/vault.h": '#include "core/storage/storage.h"\n',
            "mono/seamd.cpp": '#include "core/vault/vault.h"\n#include "core/common/status.h"\n',
        })
        r = run(root, "--check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 upward, 0 sideways, 0 unplaced", r.stdout)

    def test_an_include_of_a_higher_floor_is_listed_and_fails_the_check(self):
        root = self.tree({
            "core/vault/vault.h": "#pragma once\n",
            "core/storage/storage.h": '#pragma once\n\n#include "core/vault/vault.h"  // FileAttr\n',
        })
        listed = run(root)
        self.assertEqual(listed.returncode, 0)
        self.assertIn('core/storage/storage.h:3: upward: core/storage (floor 1) includes '
                      '"core/vault/vault.h" (core/vault, floor 2)', listed.stdout)
        self.assertIn("1 upward, 0 sideways", listed.stdout)
        self.assertEqual(run(root, "--check").returncode, 1)

    def test_an_include_of_a_folder_on_the_same_floor_fails_the_check(self):
        root = self.tree({
            "core/storage/storage.h": "#pragma once\n",
            "core/auth/auth.cpp": '  #  include "core/storage/storage.h"\n',
        })
        r = run(root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("core/auth/auth.cpp:1: sideways: core/auth (floor 1)", r.stdout)

    def test_a_source_folder_on_no_floor_fails_the_check(self):
        root = self.tree({"core/roots/root.cpp": '#include "core/common/status.h"\n'})
        r = run(root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("core/roots: not on any floor", r.stdout)

    def test_a_readme_without_the_floor_list_is_an_error_that_says_so(self):
        root = self.tree({}, readme="# A tree\n\n## Layout\n")
        r = run(root, "--check")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no '<!-- floors:", r.stderr)

    def test_a_malformed_floor_line_is_an_error_that_names_it(self):
        root = self.tree({}, readme=README.replace("2  core/vault", "two core/vault"))
        r = run(root)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("expected 'FLOOR folder...'", r.stderr)

    def test_this_repository_has_no_include_that_points_up_or_sideways(self):
        r = run(REPO, "--check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

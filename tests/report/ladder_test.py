#!/usr/bin/env python3
"""Tests of the IPC ladder: scripts/ladder.py's arithmetic and seam-report's "IPC ladder" section,
on the hand-written fixture fixtures/ladder/seam-ladder.json.

  ladder_test.py [unittest args, e.g. LadderSectionTest]

LadderSectionTest: every cell of the section comes from the document's figures: ratios to the
                   floor of the same op and mode, a missing mode, rung or floor is a dash, a rung
                   the document does not list in `rungs` still shows, and the report includes the
                   section exactly when a seam-ladder document is among its inputs.
LadderScriptTest:  scripts/ladder.py reads `strace -c` summaries (with and without an errors
                   column) and turns two runs' counts into syscalls per call.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
REPORT = os.path.join(ROOT, "bench", "report", "seam-report.py")
LADDER_SCRIPT = os.path.join(ROOT, "scripts", "ladder.py")
FIXTURE = os.path.join(HERE, "fixtures", "ladder", "seam-ladder.json")
RUN = os.path.join(HERE, "fixtures", "run")


def seam_report(*args):
    return subprocess.run([sys.executable, REPORT, *args], capture_output=True, text=True)


def load_script():
    spec = importlib.util.spec_from_file_location("ladder_script", LADDER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def op_rows(md, op):
    """{rung: [cells]} of the table under **op** in the section's Markdown."""
    lines = md.split("\n")
    start = lines.index(f"**{op}**")
    rows = {}
    for line in lines[start + 1:]:
        if line.startswith("**") or line.startswith("#"):
            break
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


# Columns of a row: rung, pinned p50 (p99), ÷ floor, unpinned p50 (p99), ÷ floor, CPU-µs,
# syscalls per call, top syscalls.
PINNED, PINNED_RATIO, UNPINNED, UNPINNED_RATIO, CPU, SYSCALLS, TOP = range(1, 8)


class LadderSectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p = seam_report("ladder", FIXTURE)
        assert p.returncode == 0, p.stderr
        cls.md = p.stdout

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="seam-ladder-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_ratios_are_p50_over_the_floor_of_the_same_op_and_mode(self):
        rows = op_rows(self.md, "stat")
        capnp = rows["capnp_socket"]
        self.assertEqual(capnp[PINNED], "30.0 (61.0)")
        self.assertEqual(capnp[PINNED_RATIO], "3.00×")  # 30 / 10
        self.assertEqual(capnp[UNPINNED], "40.0 (90.0)")
        self.assertEqual(capnp[UNPINNED_RATIO], "2.50×")  # 40 / 16, the unpinned floor
        self.assertEqual(rows["floor_raw_socket"][PINNED_RATIO], "1.00×")
        self.assertEqual(rows["direct"][PINNED_RATIO], "0.01×")  # 0.06 / 10

    def test_cpu_and_syscalls_come_from_each_mode(self):
        capnp = op_rows(self.md, "stat")["capnp_socket"]
        self.assertEqual(capnp[CPU], "33.0 · 36.0")
        self.assertEqual(capnp[SYSCALLS], "12.5 · 12.8")
        # Largest first, ties by name, four at most (futex 0.5 is the fifth), then the failures.
        self.assertEqual(capnp[TOP],
                         "epoll_wait 4.25, read 4.25, writev 3.00, poll 1.00 (2.00 failed)")
        self.assertEqual(op_rows(self.md, "stat")["floor_raw_socket"][TOP],
                         "recvfrom 2.00, sendto 2.00")

    def test_a_rung_missing_in_one_mode_is_dashes_there_not_a_guess(self):
        grpc = op_rows(self.md, "stat")["grpc_socket"]
        self.assertEqual(grpc[PINNED], "55.0 (80.0)")
        self.assertEqual(grpc[PINNED_RATIO], "5.50×")
        self.assertEqual(grpc[UNPINNED], "–")
        self.assertEqual(grpc[UNPINNED_RATIO], "–")
        self.assertEqual(grpc[CPU], "70.0 · –")
        self.assertEqual(grpc[SYSCALLS], "20.0 · –")
        # Measured nowhere: no syscalls at all is one dash.
        self.assertEqual(op_rows(self.md, "stat")["direct"][SYSCALLS], "–")

    def test_a_missing_floor_leaves_the_ratio_undefined(self):
        rows = op_rows(self.md, "read4k")
        self.assertEqual(rows["capnp_socket"][PINNED], "33.0 (70.0)")
        self.assertEqual(rows["capnp_socket"][PINNED_RATIO], "–")  # the pinned floor failed
        self.assertEqual(rows["capnp_socket"][UNPINNED_RATIO], "2.50×")  # 35 / 14
        self.assertEqual(rows["floor_raw_socket"][PINNED], "–")
        self.assertNotIn("direct", rows)  # not measured for this op: no row
        self.assertIn("- timing read4k pinned: floor_raw_socket: a call failed", self.md)

    def test_a_rung_the_document_does_not_list_still_shows(self):
        rows = op_rows(self.md, "stat")
        self.assertEqual(rows["protobuf_socket"][PINNED_RATIO], "1.20×")
        # Listed rungs keep the document's order; the unlisted one comes after them.
        self.assertEqual(list(rows), ["direct", "capnp_socket", "grpc_socket",
                                      "floor_raw_socket", "protobuf_socket"])

    def test_the_report_has_the_section_only_with_a_ladder_document(self):
        p = seam_report(RUN, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            self.assertNotIn("## IPC ladder", fh.read())
        both = os.path.join(self.tmp, "in")
        shutil.copytree(RUN, both)
        shutil.copy(FIXTURE, both)
        p = seam_report(both, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            report = fh.read()
        self.assertIn("## IPC ladder", report)
        self.assertEqual(op_rows(report, "stat"), op_rows(self.md, "stat"))
        # Named as a file beside a seam-bench folder, it is the ladder's, not a bench run.
        p = seam_report(RUN, FIXTURE, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            self.assertIn("## IPC ladder", fh.read())

    def test_a_document_of_another_schema_is_refused(self):
        bad = os.path.join(self.tmp, "seam-ladder.json")
        with open(FIXTURE) as fh:
            doc = json.load(fh)
        doc["schema"] = "seam-bench/1"
        with open(bad, "w") as fh:
            json.dump(doc, fh)
        p = seam_report("ladder", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a seam-ladder/1 document", p.stderr)
        with open(bad, "w") as fh:
            fh.write("{ not json")
        p = seam_report("ladder", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("skipping", p.stderr)


STRACE_SUMMARY = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 20.21    0.001782          59      1125           epoll_wait
 11.11    0.000980          51       510      1132 read
  4.96    0.000437           8       752           writev
  0.00    0.000000           0         2           sched_getaffinity
------ ----------- ----------- --------- --------- ------------------
100.00    0.041903           9      2389      1132 total
"""


class LadderScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ladder = load_script()

    def test_the_strace_summary_is_read_with_and_without_an_errors_column(self):
        counts = self.ladder.parse_strace_summary(STRACE_SUMMARY)
        self.assertEqual(counts["epoll_wait"], (1125, 0))
        self.assertEqual(counts["read"], (510, 1132))
        self.assertEqual(counts["sched_getaffinity"], (2, 0))
        self.assertNotIn("total", counts)
        self.assertEqual(len(counts), 4)

    def test_syscalls_per_call_are_the_difference_of_two_runs(self):
        small = {"epoll_wait": (230, 0), "read": (108, 33), "openat": (52, 2), "clone3": (12, 0)}
        large = {"epoll_wait": (1125, 0), "read": (510, 133), "openat": (52, 2),
                 "clone3": (12, 0), "writev": (600, 0)}
        total, errors, by_name = self.ladder.per_call(small, large, 100, 600)
        # (1125-230 + 510-108 + 600) / 500; setup-only syscalls (openat, clone3) cancel out.
        self.assertEqual(total, 3.79)
        self.assertEqual(errors, 0.2)  # (133 - 33) / 500 failed reads
        self.assertEqual(by_name, {"epoll_wait": 1.79, "writev": 1.2, "read": 0.8})
        self.assertEqual(list(by_name), ["epoll_wait", "writev", "read"])

    def test_a_fixed_count_suffix_is_not_part_of_the_rung(self):
        self.assertEqual(self.ladder.bench_name("ladder/stat/capnp_socket/iterations:600"),
                         "ladder/stat/capnp_socket")
        self.assertEqual(self.ladder.bench_name("ladder/stat/grpc_socket"),
                         "ladder/stat/grpc_socket")


if __name__ == "__main__":
    unittest.main(verbosity=2)

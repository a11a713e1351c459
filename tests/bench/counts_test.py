#!/usr/bin/env python3
"""seam-counts and `seam-report counts`: the counts are stable, and growth is flagged and failed.

  counts_test.py SEAM_COUNTS SEAM_REPORT_PY WORK_DIR

Each seam-counts run is a real run under callgrind of a few operations (about a second each).
"""
import json
import os
import subprocess
import sys
import unittest

SEAM_COUNTS, REPORT, WORK = sys.argv[1:4]
del sys.argv[1:4]


def counts(name, *args):
    out = os.path.join(WORK, name + ".json")
    subprocess.run([SEAM_COUNTS, "--out", out, *args], check=True)
    with open(out, encoding="utf-8") as f:
        return out, json.load(f)


def report(base, new):
    return subprocess.run([sys.executable, REPORT, "counts", base, new], capture_output=True,
                          text=True)


class CountsTest(unittest.TestCase):
    def test_two_runs_give_the_same_totals(self):
        ops = "vault/read_cached,auth/token_validation,cache/fill_evict,fuse/read_cached"
        _, a = counts("stable-a", "--only", ops, "--iterations", "200")
        _, b = counts("stable-b", "--only", ops, "--iterations", "200")
        self.assertEqual([o["op"] for o in a["ops"]], ops.split(","))
        for x, y in zip(a["ops"], b["ops"]):
            self.assertGreater(x["instructions"], 200 * 100, x["op"])  # really counted
            # Equal in practice; 0.5% allows for the stack's alignment, which moves with the
            # environment's size and changes a few instructions of libc's string functions.
            self.assertLessEqual(abs(x["instructions"] - y["instructions"]),
                                 0.005 * x["instructions"], x["op"])
            self.assertEqual(x["allocations_per_op"], y["allocations_per_op"], x["op"])

    def test_a_loop_added_to_an_operation_is_flagged_and_a_larger_one_fails(self):
        base, b = counts("spin-base", "--only", "selftest/spin", "--spin", "2000",
                         "--iterations", "50")
        same, _ = counts("spin-same", "--only", "selftest/spin", "--spin", "2000",
                         "--iterations", "50")
        plus10, _ = counts("spin-plus10", "--only", "selftest/spin", "--spin", "2200",
                           "--iterations", "50")
        plus50, _ = counts("spin-plus50", "--only", "selftest/spin", "--spin", "3000",
                           "--iterations", "50")
        self.assertGreater(b["ops"][0]["instructions_per_op"], 2000)

        r = report(base, same)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("| ok |", r.stdout)

        r = report(base, plus10)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # flagged, not failed
        self.assertIn("flagged: +", r.stdout)
        self.assertIn("`selftest/spin`", r.stdout)

        r = report(base, plus50)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAIL: +", r.stdout)

    def test_an_operation_missing_from_the_new_run_fails(self):
        base, b = counts("missing-base", "--only", "selftest/spin", "--spin", "10",
                         "--iterations", "10")
        b["ops"] = []
        new = os.path.join(WORK, "missing-new.json")
        with open(new, "w", encoding="utf-8") as f:
            json.dump(b, f)
        r = report(base, new)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missing from NEW", r.stdout)

    def test_the_codec_versions_are_recorded_and_reported(self):
        base, b = counts("codecs-base", "--only", "selftest/spin", "--spin", "10",
                         "--iterations", "10")
        self.assertRegex(b["codecs"]["capnp"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(b["codecs"]["protobuf"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(b["codecs"]["grpc"], r"^\d+\.\d+\.\d+$")
        self.assertIn(b["capnp_source"], ("bundled", "system"))
        if b["capnp_source"] == "bundled":  # scripts/capnp.sh's version
            self.assertEqual(b["codecs"]["capnp"], "1.1.0")
        # A baseline from before the versions were recorded says so instead of guessing.
        old = dict(b)
        del old["codecs"], old["capnp_source"]
        old_path = os.path.join(WORK, "codecs-old.json")
        with open(old_path, "w", encoding="utf-8") as f:
            json.dump(old, f)
        r = report(old_path, base)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Base: codec versions not recorded. New: codecs capnp "
                      f"{b['codecs']['capnp']} ({b['capnp_source']}), grpc "
                      f"{b['codecs']['grpc']}, protobuf {b['codecs']['protobuf']}.", r.stdout)


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    unittest.main()

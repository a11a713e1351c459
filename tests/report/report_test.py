#!/usr/bin/env python3
"""Tests of seam-report (bench/report/seam-report.py, package seam_report/) on hand-written
fixture JSON.

  report_test.py BUILD_DIR [unittest args, e.g. GoldenTest]

GoldenTest:  the tables of report.md / headline.md equal the golden files in expected/.
             (SEAMS_UPDATE_GOLDEN=1 rewrites them instead; review the diff before committing.)
CompareTest: compare passes an unchanged run and flags a planted regression (exit 1).
HtmlTest:    the page opened in headless Chromium renders every chart (non-empty inline SVG),
             logs no console error, and leaves a screenshot in BUILD_DIR.
BimodalTest: the two-mode detector on synthetic histograms (bucketed as core/stats/histogram.h
             does) with two modes, one mode, and one mode with a long tail.
SpreadTest:  `spread` puts runs side by side and judges each deployment against the goal.
FloorTest:   the floor section flags a run whose floor moved > 25% (crafted figures), and
             pinned / no-PM-QoS runs sit beside the default ones instead of pooling with them.
Exit code 77 (CTest's SKIP_RETURN_CODE) when the machine lacks chromium or gnuplot.
"""
import copy
import glob
import gzip
import importlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "report", "seam-report.py")
FIXTURES = os.path.join(HERE, "fixtures")
EXPECTED = os.path.join(HERE, "expected")
BUILD_DIR = tempfile.gettempdir()
SKIP = 77


def seam_report(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def report_module():
    """seam_report.load, where the statistics (detect_modes) live."""
    package_dir = os.path.dirname(os.path.abspath(SCRIPT))
    if package_dir not in sys.path:
        sys.path.insert(0, package_dir)
    return importlib.import_module("seam_report.load")


def bucketed(samples_ns):
    """A histogram snapshot as seam-bench writes it: exact buckets below 256 ns, then 128 equal
    sub-buckets per power of two (core/stats/histogram.h)."""
    counts = {}
    for v in samples_ns:
        v = max(0, int(v))
        if v < 256:
            low, high = v, v
        else:
            width = 2 ** (v.bit_length() - 1 - 7)
            low = v // width * width
            high = low + width - 1
        counts[(low, high)] = counts.get((low, high), 0) + 1
    buckets = [[lo, hi, n] for (lo, hi), n in sorted(counts.items())]
    return {"count": len(samples_ns), "buckets": buckets}


def lognormal_us(rng, n, median_us, sigma=0.08):
    return [median_us * 1000 * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def fixture_doc():
    (path,) = glob.glob(os.path.join(FIXTURES, "run", "seam-bench-*.json"))
    with open(path) as fh:
        return json.load(fh)


class Scratch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="seam-report-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class GoldenTest(Scratch):
    def check_golden(self, out_dir, name, golden):
        with open(os.path.join(out_dir, name)) as fh:
            actual = fh.read()
        path = os.path.join(EXPECTED, golden)
        if os.environ.get("SEAMS_UPDATE_GOLDEN") == "1":
            with open(path, "w") as fh:
                fh.write(actual)
        with open(path) as fh:
            self.assertEqual(fh.read(), actual, f"{name} differs from {path}")

    def test_the_fixture_run_produces_the_golden_tables(self):
        p = seam_report(os.path.join(FIXTURES, "run"), "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_golden(self.tmp, "report.md", "run.report.md")
        self.check_golden(self.tmp, "headline.md", "run.headline.md")

    def test_a_gzipped_document_reads_like_the_plain_one(self):
        src = glob.glob(os.path.join(FIXTURES, "run", "seam-bench-*.json"))[0]
        folder = os.path.join(self.tmp, "gz")
        os.makedirs(folder)
        with open(src, "rb") as fin, gzip.open(
                os.path.join(folder, os.path.basename(src) + ".gz"), "wb") as fout:
            fout.write(fin.read())
        p = seam_report(folder, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_golden(self.tmp, "report.md", "run.report.md")

    def test_a_path_that_failed_nothing_reads_no_failure_not_unmeasured(self):
        doc = fixture_doc()
        split = next(r for r in doc["runs"] if r["deployment"] == "split/capnp/push")
        auth = next(f for f in split["fault"]["soft"] if f.get("service") == "auth")
        auth["fuse"]["failed"] = 7
        doc["summary"].append({"deployment": "split/capnp/push", "unit": "ms",
                               "metric": "fault soft auth fuse recovery", "median": 150.0,
                               "ci95_low": 150.0, "ci95_high": 150.0, "values": [150.0]})
        folder = os.path.join(self.tmp, "in")
        os.makedirs(folder)
        with open(os.path.join(folder, "seam-bench-2026-11-26T12-00-00Z.json"), "w") as fh:
            json.dump(doc, fh)
        p = seam_report(folder, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            rows = [l for l in fh if l.startswith("| fault soft auth fuse recovery |")]
        # The fault table is split by family: mono's table first, then the split deployments'.
        self.assertEqual(len(rows), 2, rows)
        mono, split = ([c.strip() for c in r.strip().strip("|").split("|")] for r in rows)
        # metric, unit, mono: mono's FUSE path failed nothing after the auth fault (the fixture
        # says failed 0), so it is not "not measured".
        self.assertEqual(mono[2:], ["no failure"])
        self.assertEqual(split[2], "150")

    def test_a_failed_fio_verify_is_a_loud_failure_with_fios_words(self):
        doc = fixture_doc()
        mono = next(r for r in doc["runs"] if r["deployment"] == "mono")
        why = ("fio verify FAILED (the data read back is not the data written): verify: bad "
               "magic header 93a7, wanted acca at file /m/seam-bench-fio/seams-fio.0 offset 0")
        mono["error"] = "fio verify failed: randrw-4k-verify: " + why
        mono["fio"] = {"error": "randrw-4k-verify: " + why, "verify_failed": True, "jobs": {
            "randread-4k": {"ok": True},
            "randrw-4k-verify": {"ok": False, "verify_failed": True, "failure": why,
                                 "output": "verify: bad magic header 93a7, wanted acca\n"
                                           "fio: pid=1, err=84/file:io_u.c:2152\n"}}}
        folder = os.path.join(self.tmp, "in")
        os.makedirs(folder)
        with open(os.path.join(folder, "seam-bench-2026-11-26T12-00-00Z.json"), "w") as fh:
            json.dump(doc, fh)
        p = seam_report(folder, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            md = fh.read()
        # Before the headline: the section, the count of verify failures, fio's own words.
        failed = md.index("## FAILED: 2 fio job(s) or git step(s)")
        self.assertLess(failed, md.index("## Headline"))
        self.assertIn("**1 fio verify failure(s)", md)
        self.assertIn("- **FAILED** `mono #1` fio randrw-4k-verify: fio verify FAILED", md)
        self.assertIn("\nfio: pid=1, err=84/file:io_u.c:2152\n```", md)
        # The verify failure comes before the git failure, and the run is listed as failed.
        self.assertLess(md.index("`mono #1` fio randrw-4k-verify"),
                        md.index("`split/capnp/push #1` git workload"))
        self.assertIn("- `mono`: failed: fio verify failed: randrw-4k-verify", md)
        with open(os.path.join(self.tmp, "report.html")) as fh:
            page = fh.read()
        self.assertIn("<pre>verify: bad magic header 93a7, wanted acca", page)

    def test_missing_scenarios_and_deployments_become_not_measured_cells(self):
        p = seam_report(os.path.join(FIXTURES, "partial"), "--out", self.tmp, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_golden(self.tmp, "report.md", "partial.report.md")

    def test_two_folders_are_read_together(self):
        p = seam_report(os.path.join(FIXTURES, "run"), os.path.join(FIXTURES, "partial"),
                        "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            md = fh.read()
        self.assertIn("seam-bench-2026-11-26T12-00-00Z.json", md)
        self.assertIn("seam-bench-2026-11-26T13-00-00Z.json", md)

    def test_no_json_is_a_usage_error(self):
        p = seam_report(self.tmp, "--out", self.tmp)
        self.assertEqual(p.returncode, 2)


class CompareTest(Scratch):
    def write(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            json.dump(doc, fh)
        return path

    def planted(self, metric, factor, ci=None):
        doc = copy.deepcopy(fixture_doc())
        for s in doc["summary"]:
            if s["deployment"] == "mono" and s["metric"] == metric:
                s["values"] = [v * factor for v in s["values"]]
                s["median"] *= factor
                s["ci95_low"], s["ci95_high"] = ci or (s["ci95_low"] * factor,
                                                       s["ci95_high"] * factor)
        return doc

    def test_an_unchanged_run_passes(self):
        base = self.write("base.json", fixture_doc())
        new = self.write("new.json", fixture_doc())
        p = seam_report("compare", base, new)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("No figure moved beyond its noise", p.stdout)

    def test_a_planted_latency_regression_fails_and_is_named(self):
        base = self.write("base.json", fixture_doc())
        new = self.write("new.json", self.planted("http get_cached c1 p50", 1.5))
        p = seam_report("compare", base, new, "--threshold", "10")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        line = next(l for l in p.stdout.splitlines() if "http get_cached c1 p50" in l)
        self.assertIn("REGRESSION", line)
        self.assertIn("+50.0%", line)

    def test_a_throughput_drop_is_a_regression_and_a_rise_is_not(self):
        base = self.write("base.json", fixture_doc())
        drop = self.write("drop.json", self.planted("fuse stat t4 throughput", 0.5))
        rise = self.write("rise.json", self.planted("fuse stat t4 throughput", 2.0))
        self.assertEqual(seam_report("compare", base, drop).returncode, 1)
        p = seam_report("compare", base, rise)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("better", p.stdout)

    def test_a_move_inside_the_threshold_is_flagged_but_passes(self):
        base = self.write("base.json", fixture_doc())
        new = self.write("new.json", self.planted("http get_cached c1 p50", 1.05))
        p = seam_report("compare", base, new, "--threshold", "3")
        self.assertEqual(p.returncode, 1, p.stdout)
        p = seam_report("compare", base, new, "--threshold", "10")
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_overlapping_confidence_intervals_are_noise_not_a_move(self):
        # startup has two samples in the fixture: a CI of [450, 495] ms. A new median of 470 ms
        # with an overlapping CI is within the measured noise, whatever the threshold says.
        doc = fixture_doc()
        for s in doc["summary"]:
            if s["deployment"] == "mono" and s["metric"] == "startup spawn->READY=1":
                s["median"], s["ci95_low"], s["ci95_high"] = 470.0, 460.0, 520.0
                s["values"] = [460.0, 520.0]
        base = self.write("base.json", fixture_doc())
        new = self.write("new.json", doc)
        p = seam_report("compare", base, new, "--threshold", "1")
        self.assertEqual(p.returncode, 0, p.stdout)


class BimodalTest(unittest.TestCase):
    def setUp(self):
        self.r = report_module()
        self.rng = random.Random(7)

    def test_two_modes_are_found_where_they_are(self):
        h = bucketed(lognormal_us(self.rng, 6000, 20) + lognormal_us(self.rng, 4000, 80))
        modes = self.r.detect_modes(h)
        self.assertIsNotNone(modes)
        (fast, fast_share), (slow, slow_share) = modes
        self.assertAlmostEqual(fast, 20, delta=20 * 0.15)
        self.assertAlmostEqual(slow, 80, delta=80 * 0.15)
        self.assertAlmostEqual(fast_share, 0.6, delta=0.05)
        self.assertAlmostEqual(slow_share, 0.4, delta=0.05)

    def test_one_mode_is_one_mode(self):
        h = bucketed(lognormal_us(self.rng, 10000, 30, sigma=0.15))
        self.assertIsNone(self.r.detect_modes(h))

    def test_a_long_tail_without_a_second_peak_is_one_mode(self):
        # 30 us, and a tail falling off exponentially to the milliseconds.
        tail = [30000 + self.rng.expovariate(1 / 40000.0) for _ in range(3000)]
        h = bucketed(lognormal_us(self.rng, 7000, 30, sigma=0.1) + tail)
        self.assertIsNone(self.r.detect_modes(h))

    def test_a_second_peak_with_under_five_percent_of_requests_is_not_a_mode(self):
        h = bucketed(lognormal_us(self.rng, 9800, 20) + lognormal_us(self.rng, 200, 90))
        self.assertIsNone(self.r.detect_modes(h))

    def test_two_peaks_closer_than_one_and_a_half_times_are_one_mode(self):
        h = bucketed(lognormal_us(self.rng, 5000, 20, sigma=0.03) +
                     lognormal_us(self.rng, 5000, 26, sigma=0.03))
        self.assertIsNone(self.r.detect_modes(h))

    def test_an_empty_histogram_has_no_modes(self):
        self.assertIsNone(self.r.detect_modes({"count": 0, "buckets": []}))
        self.assertIsNone(self.r.detect_modes(None))


class FloorTest(Scratch):
    def floor(self, unix_before, unix_after, tcp_before, tcp_after, moved):
        p = lambda us: {"latency": {"unit": "us", "p50": us}}
        return {"before": {"unix": p(unix_before), "tcp": p(tcp_before)},
                "after": {"unix": p(unix_after), "tcp": p(tcp_after)},
                "shift": {"unix": {"moved": abs(unix_after / unix_before - 1) > 0.25},
                          "tcp": {"moved": abs(tcp_after / tcp_before - 1) > 0.25}},
                "moved": moved, "threshold": 0.25}

    def report(self, *docs):
        folder = os.path.join(self.tmp, "in")
        os.makedirs(folder, exist_ok=True)
        for i, doc in enumerate(docs):
            with open(os.path.join(folder, f"seam-bench-2026-12-01T1{i}-00-00Z.json"), "w") as fh:
                json.dump(doc, fh)
        p = seam_report(folder, "--out", self.tmp, "--no-charts", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "report.md")) as fh:
            return fh.read()

    def test_a_run_whose_floor_moved_is_flagged_and_a_steady_one_is_not(self):
        doc = fixture_doc()
        mono = next(r for r in doc["runs"] if r["deployment"] == "mono")
        split = next(r for r in doc["runs"] if r["deployment"] == "split/capnp/push")
        mono["floor"] = self.floor(10.0, 10.5, 20.0, 21.0, False)
        split["floor"] = self.floor(10.0, 14.0, 20.0, 20.0, True)
        md = self.report(doc)
        rows = {l.split("|")[1].strip(): l for l in md.splitlines()
                if l.startswith("| `") and " → " in l}
        self.assertIn("| no |", rows["`mono`"])
        self.assertIn("10.0 → 14.0 **moved**", rows["`split/capnp/push`"])
        self.assertIn("| **yes** |", rows["`split/capnp/push`"])
        self.assertIn("1 of 2 runs had a floor that moved by more than 25%", md)
        self.assertIn("`split/capnp/push` #1", md)

    def test_pinned_and_unpinned_runs_sit_side_by_side(self):
        plain = fixture_doc()
        plain["pm_qos"] = {"requested": True, "held": True, "status": "held at 0 us"}
        pinned = copy.deepcopy(plain)
        pinned["pinning"] = {"pinned": True, "cpu": 1}
        for s in pinned["summary"]:
            s["values"] = [v / 2 for v in s["values"]]
            s["median"] /= 2
        off = copy.deepcopy(plain)
        off["pm_qos"] = {"requested": False, "held": False, "status": "disabled (--no-pm-qos)"}
        md = self.report(plain, pinned, off)
        header = next(l for l in md.splitlines() if l.startswith("| metric | unit | `mono`"))
        # The default run first, then the other modes of the same deployment.
        self.assertIn("| `mono` | `mono [no PM QoS]` | `mono [pinned]` | `split/capnp/push` |",
                      header)
        row = next(l for l in md.splitlines() if l.startswith("| http get_cached c1 p50 |"))
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        self.assertEqual(cells[2:5], ["50.0", "50.0", "25.0"])
        self.assertIn("pinned to CPU 1", md)
        self.assertIn("PM QoS not held (disabled (--no-pm-qos))", md)

    def test_overlapping_intervals_are_not_called_a_win(self):
        doc = fixture_doc()
        for s in doc["summary"]:
            if s["metric"] == "http get_cached c1 p50":
                lo, hi = (40.0, 120.0) if s["deployment"] == "mono" else (45.0, 130.0)
                s["values"], s["ci95_low"], s["ci95_high"] = [lo, hi], lo, hi
                s["median"] = (lo + hi) / 2
        md = self.report(doc)
        http = md[md.index("## HTTP hot path"):]
        http = http[:http.index("\n## ", 3)]
        self.assertIn("http get_cached c1 p50 (`mono` and `split/capnp/push` overlap)", http)
        self.assertNotIn("http get_cached c1 p50: `", http)


class SpreadTest(Scratch):
    def write(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            json.dump(doc, fh)
        return path

    def test_the_spread_of_two_runs_is_largest_over_smallest_and_judged_against_the_goal(self):
        a = fixture_doc()
        b = copy.deepcopy(a)
        for s in b["summary"]:
            if s["metric"] == "http get_cached c1 p50" and s["deployment"] == "mono":
                s["values"], s["median"] = [60.0], 60.0  # 50 -> 60: 20%
        p = seam_report("spread", self.write("a.json", a), self.write("b.json", b))
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [l for l in p.stdout.splitlines() if l.startswith("| http get_cached c1 p50 |")]
        mono = next(l for l in rows if "`mono`" in l)
        split = next(l for l in rows if "`split/capnp/push`" in l)
        self.assertIn("| 50.0 | 60.0 | 20% | **no** |", mono)
        self.assertIn("| 0% | yes |", split)
        self.assertIn("outside: `mono` http get_cached c1 p50", p.stdout)

    def test_no_json_is_a_usage_error(self):
        self.assertEqual(seam_report("spread", self.tmp).returncode, 2)


class HtmlTest(Scratch):
    def test_every_chart_renders_in_headless_chromium(self):
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        if not os.path.exists(chromium) or not shutil.which("gnuplot"):
            print("skipped: chromium or gnuplot is not installed (scripts/deps.sh installs both)")
            sys.exit(SKIP)
        p = seam_report(os.path.join(FIXTURES, "run"), "--out", self.tmp, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        page = os.path.join(self.tmp, "report.html")
        with open(page) as fh:
            source = fh.read()
        self.assertNotRegex(source, r"(src|href)=['\"]https?:", "the page must need no network")
        figures = source.count("<figure class='chart'>")
        # The fixture has data for every chart kind: 1 floor chart, 4 CDFs (2 HTTP, 2 FUSE
        # levels), 1 sweep, 2 startup timelines, 2 drift distributions, 1 memory chart, 2 fault
        # outcome charts and 1 fault timeline (mono's).
        self.assertEqual(figures, 14)

        def chromium_run(*extra):
            profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
            return subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--enable-logging=stderr", "--v=0", *extra, "file://" + page],
                capture_output=True, text=True, timeout=180)

        dom = chromium_run("--dump-dom")
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        svgs = re.findall(r"<svg\b.*?</svg>", dom.stdout, re.S)
        self.assertEqual(len(svgs), figures, "every chart is an SVG element in the DOM")
        for svg in svgs:
            self.assertRegex(svg, r"<path\b[^>]*\bd=['\"][^'\"]+", "an SVG with nothing drawn")
        # The page has no script, so any console line at all (Chromium logs console.error and
        # uncaught exceptions as "...:CONSOLE:<line>] ...") is a fault.
        self.assertNotIn("Uncaught", dom.stderr)
        self.assertNotRegex(dom.stderr, r":CONSOLE[:(]")

        shot = os.path.join(BUILD_DIR, "report-screenshot.png")
        if os.path.exists(shot):
            os.remove(shot)
        pic = chromium_run("--window-size=1400,6000", f"--screenshot={shot}")
        self.assertEqual(pic.returncode, 0, pic.stderr[-2000:])
        self.assertGreater(os.path.getsize(shot), 10000, "the screenshot is not empty")
        self.assertNotRegex(pic.stderr, r"Uncaught|:CONSOLE[:(]")
        shutil.copy(page, os.path.join(BUILD_DIR, "report-fixture.html"))


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-") and os.path.isdir(sys.argv[1]):
        BUILD_DIR = sys.argv.pop(1)
    unittest.main(verbosity=2)

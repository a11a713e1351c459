#!/usr/bin/env python3
"""Tests of seam-report's Verdict section, its sweep and model sections, `--out`, and the rules of
`seam-report compare`, on crafted inputs.

  verdict_test.py BUILD_DIR [unittest args, e.g. VerdictTest]

VerdictTest:      the decision (decide) on crafted figures: a clear win, a tie, overlapping
                  intervals, one sample, a missing deployment ("not measured", no crash), "not
                  recovered" losing to a number; the sentences only from figures present.
ReportTest:       the report opens with the Verdict before any table, has a table of contents,
                  the sweep and model sections from a document with the contract's `sweep` and
                  `model` keys (and says "not run" without them); nothing is written without --out.
CompareRulesTest: a quick run against a full one is refused (and warned about with
                  --allow-mixed); a moved floor is never a regression; "not recovered" is a state;
                  figures in one run only are listed apart.
VerdictHtmlTest:  report.html of a document with a model, in headless Chromium: the verdict
                  section is the first section, the break-even chart is drawn (one more chart
                  than without a model), and the page is no wider than 1400 px. Exit 77 without
                  chromium or gnuplot.
"""
import copy
import glob
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "report", "seam-report.py")
FIXTURES = os.path.join(HERE, "fixtures")
BUILD_DIR = tempfile.gettempdir()
SKIP = 77


def seam_report(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def module(name):
    package_dir = os.path.dirname(os.path.abspath(SCRIPT))
    if package_dir not in sys.path:
        sys.path.insert(0, package_dir)
    return importlib.import_module(f"seam_report.{name}")


def fixture_doc():
    (path,) = glob.glob(os.path.join(FIXTURES, "run", "seam-bench-*.json"))
    with open(path) as fh:
        return json.load(fh)


def with_sweep_and_model(doc):
    """The fixture with `sweep` and `model` keys shaped as issue 14's contract says."""
    doc = copy.deepcopy(doc)
    cells = []
    splits = []
    for r in doc.get("runs") or []:
        if str(r.get("deployment", "")).startswith("split/") and r["deployment"] not in splits:
            splits.append(r["deployment"])
    for dep, extra in [("mono", 0.0)] + [(d, 30.0) for d in splits]:
        for k in (1, 4):
            for w in (0, 100):
                mono = k * (5.0 + w)
                p50 = mono + k * extra
                cells.append({"deployment": dep, "calls": k, "work_us": w, "payload_bytes": 64,
                              "connections": 1, "repeats": 2, "p50_us": p50, "p99_us": p50 * 2,
                              "throughput_rps": 1e6 / p50, "cpu_us_per_req": p50 * 1.5,
                              "ctx_switches_per_req": 2.0 * k,
                              "p50_us_samples": [p50, p50], "cpu_us_per_req_samples": [p50, p50],
                              "tax_latency": None if dep == "mono" else p50 / mono - 1,
                              "tax_cpu": None if dep == "mono" else p50 / mono - 1,
                              "delta_latency_us": None if dep == "mono" else p50 - mono,
                              "delta_cpu_us": None if dep == "mono" else (p50 - mono) * 1.5})
    grid = {"calls": [1, 4], "work_us": [0, 100], "payload_bytes": [64], "connections": [1],
            "quick_subset": True}
    doc["sweep"] = {"reference": "mono", "grid": grid, "cells": cells}
    works = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    calls = [1, 2, 4, 8, 16]
    # tax = a / (5 + w) with a = 30 us: below 10% above 295 us of work, below 1% never here.
    tax = [[30.0 / (5.0 + w) for w in works] for _ in calls]
    fit = lambda a, unit: {
        "form": "dt = K*(a + b*B)", "unit": unit,
        "params": [{"name": "a", "value": a, "unit": "us", "ci95": [a * 0.9, a * 1.1]},
                   {"name": "b", "value": 0.0012, "unit": "us/byte", "ci95": [0.001, 0.0014]}],
        "r2": 0.97, "n_fit": 20,
        "holdout": {"cells": [{"calls": 8, "work_us": 10, "payload_bytes": 4096,
                               "measured": 250.0, "predicted": 240.0, "error_pct": -4.0}],
                    "median_abs_error_pct": 4.0, "worst_abs_error_pct": 9.0}}
    doc["model"] = {"fitted_on": "connections=1", "deployments": {"split/capnp/push": {
        "latency": fit(30.1, "us"), "cpu": fit(45.5, "us"),
        "range": {"calls": [1, 16], "work_us": [0, 1000], "payload_bytes": [64, 1048576]},
        "breakeven": {"payload_bytes": 4096, "calls": calls, "work_us": works,
                      "tax_latency": tax, "work_us_at_10pct": [295.0] * len(calls),
                      "work_us_at_1pct": [None] * len(calls)}}}}
    return doc


class Scratch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="seam-verdict-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_dir(self, *docs):
        folder = os.path.join(self.tmp, "in")
        os.makedirs(folder, exist_ok=True)
        for i, doc in enumerate(docs):
            with open(os.path.join(folder, f"seam-bench-2026-12-08T0{i}-00-00Z.json"), "w") as fh:
                json.dump(doc, fh)
        return folder


class VerdictTest(unittest.TestCase):
    def setUp(self):
        self.v = module("verdict")
        self.load = module("load")

    def fig(self, values, unit="us"):
        lo, hi = self.load.bootstrap_ci(values)
        import statistics
        return self.load.Figure(statistics.median(values), lo, hi, unit, len(values))

    def decide(self, figs, deps, runs=None):
        ctx = self.v.Context([], figs, runs or {})
        return {r.dim.key: r for r in self.v.decide(self.v.DIMENSIONS, ctx, deps)}

    def test_a_clear_win_names_the_winner_with_its_margin(self):
        figs = {("mono", "http get_cached c1 p50"): self.fig([20.0, 21.0, 22.0]),
                ("split/capnp/push", "http get_cached c1 p50"): self.fig([40.0, 41.0, 42.0]),
                ("split/capnp/off", "http get_cached c1 p50"): self.fig([140.0, 150.0])}
        r = self.decide(figs, ["mono", "split/capnp/push", "split/capnp/off"])["hot_read"]
        self.assertEqual(r.winner, "mono")
        self.assertEqual(r.split_dep, "split/capnp/push")  # the best split, not the first
        self.assertEqual(r.clear, "yes")
        self.assertEqual(r.margin, "20.0 us less (1.95×)")

    def test_throughput_is_won_by_the_higher_figure(self):
        figs = {("mono", "http get_cached c8 throughput"): self.fig([100.0, 110.0], "req/s"),
                ("mono", "http get_cached c1 throughput"): self.fig([900.0, 990.0], "req/s"),
                ("split/capnp/push", "http get_cached c8 throughput"):
                    self.fig([300.0, 310.0], "req/s")}
        r = self.decide(figs, ["mono", "split/capnp/push"])["throughput"]
        # The figure at the largest load (c8), not c1's.
        self.assertEqual(r.mono.median, 105.0)
        self.assertEqual(r.winner, "split/capnp/push")
        self.assertEqual(r.clear, "yes")

    def test_equal_medians_are_a_tie(self):
        figs = {("mono", "memory cache held twice"): self.fig([0.0, 0.0], "KiB"),
                ("split/capnp/off", "memory cache held twice"): self.fig([0.0, 0.0], "KiB")}
        r = self.decide(figs, ["mono", "split/capnp/off"])["twice"]
        self.assertEqual(r.winner, "tie")
        self.assertEqual(r.clear, "–")

    def test_overlapping_intervals_and_single_samples_are_not_clear(self):
        figs = {("mono", "http put c1 p50"): self.fig([800.0, 1200.0]),
                ("split/capnp/push", "http put c1 p50"): self.fig([900.0, 1300.0]),
                ("mono", "startup spawn->READY=1"): self.fig([10.0], "ms"),
                ("split/capnp/push", "startup spawn->READY=1"): self.fig([50.0], "ms")}
        rows = self.decide(figs, ["mono", "split/capnp/push"])
        self.assertEqual(rows["write"].winner, "mono")
        self.assertEqual(rows["write"].clear, "no: intervals overlap")
        self.assertEqual(rows["startup"].clear, "no: one sample, no interval")

    def test_a_missing_deployment_reads_not_measured_and_does_not_crash(self):
        figs = {("split/capnp/push", "http get_cached c1 p50"): self.fig([40.0, 41.0])}
        rows = self.decide(figs, ["split/capnp/push"])
        self.assertIsNone(rows["hot_read"].mono)
        table = self.v.decision_table(list(rows.values()))
        line = next(l for l in table.splitlines() if l.startswith("| hot read latency"))
        self.assertIn("| not measured | 40.5 [40.0–41.0] (`split/capnp/push`) | – | – | – |", line)
        line = next(l for l in table.splitlines() if l.startswith("| memory"))
        self.assertEqual(line.count("not measured"), 1, line)
        self.assertIn("| not measured | – | – | – | – |", line)
        # Sentences only from figures present: none of these can be said.
        says = " ".join(self.v.sentences(list(rows.values()), [], ["split/capnp/push"]))
        self.assertNotIn("memory", says)
        self.assertNotIn("cached 4 KiB read", says)

    def test_not_recovered_is_a_state_that_loses_to_a_number(self):
        fault = lambda rec: {"fault": {"hard": [{"http": {"requests": 10, "failed": 5,
                                                          "recovery": {"value": rec}}}]}}
        runs = {"mono": [fault(-1.0), fault(200.0)],
                "split/capnp/push": [fault(300.0), fault(320.0)]}
        r = self.decide({}, ["mono", "split/capnp/push"], runs)["recovery"]
        self.assertEqual(r.mono.state, "not recovered")
        self.assertEqual(r.winner, "split/capnp/push")
        self.assertEqual(r.margin, "the other: not recovered")
        self.assertEqual(r.clear, "yes")
        # From one run each, the same outcome is not called clear.
        one = {d: v[:1] for d, v in runs.items()}
        self.assertEqual(self.decide({}, ["mono", "split/capnp/push"], one)["recovery"].clear,
                         "no: one sample, no interval")
        table = self.v.decision_table([r])
        self.assertIn("| not recovered |", table)
        blast = self.decide({}, ["mono", "split/capnp/push"], runs)["blast"]
        self.assertEqual(blast.mono.median, 50.0)  # 5 of 10 failed in each run

    def test_the_model_gives_the_cost_of_a_call_and_the_break_even_sentence(self):
        doc = with_sweep_and_model(fixture_doc())
        says = self.v.sentences([], [doc], ["mono", "split/capnp/push"])
        self.assertIn("a call across the seam costs 30.1 µs (95% interval 27.1–33.1) and 45.5 "
                      "CPU-µs with Cap'n Proto", says[0])
        self.assertIn("less than 10% of latency once each call carries more than 295 µs of work",
                      says[1])
        self.assertNotIn("1%", says[1])  # work_us_at_1pct is null: not reached, not said


class ReportTest(Scratch):
    def report(self, doc, *extra):
        folder = self.write_dir(doc)
        out = os.path.join(self.tmp, "out")
        p = seam_report(folder, "--out", out, "--no-charts", "--quiet", *extra)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "report.md")) as fh:
            return fh.read()

    def test_the_verdict_comes_first_then_the_tables(self):
        md = self.report(with_sweep_and_model(fixture_doc()))
        verdict = md.index("## Verdict")
        first_table = md.index("\n| ")
        self.assertLess(verdict, first_table)
        self.assertLess(verdict, md.index("## Headline"))
        self.assertIn("**Contents:** [Verdict](#verdict)", md)
        head = md[verdict:md.index("\n| ", verdict)]
        # The fixture's mono reads 50 us for a cached GET and split/capnp/push 100 us.
        self.assertIn("takes 50.0 µs in one daemon and 100 µs in the best split deployment", head)
        self.assertIn("| dimension (unit) | one daemon | best split deployment | winner |", md)

    def test_the_sweep_and_model_sections_show_the_contracts_figures(self):
        md = self.report(with_sweep_and_model(fixture_doc()))
        sweep = md[md.index("## Sweep"):md.index("## Model")]
        # K=4, W=0: mono 20 us, split 140 us: a tax of +600%.
        # Every split deployment of the fixture has a column (the crafted sweep gives each one
        # the same figures).
        self.assertIn("| 1 | 64 | 4 | 0 | 20.0 | 30.0 | 140 (+600.0% / +600.0%) | "
                      "140 (+600.0% / +600.0%) |", sweep)
        model = md[md.index("## Model"):]
        self.assertIn("a = 30.1 us [27.1–33.1]", model)
        self.assertIn("| 0.97 | 20 | 1 | 4.00 | 9.00 |", model)
        self.assertIn("| `split/capnp/push` | 295 / > 1,000 | 295 / > 1,000 |", md)

    def test_without_sweep_or_model_the_sections_say_not_run(self):
        md = self.report(fixture_doc())
        self.assertIn("Break-even chart: the sweep was not run", md)
        self.assertIn("## Sweep: the boundary tax per cell\n\nNot run in these documents", md)
        self.assertIn("## Model: the cost of the boundary\n\nNot fitted", md)

    def test_the_workload_is_shown_in_the_header_when_recorded(self):
        doc = fixture_doc()
        doc["workload"] = {"name": "crafted", "hot_files": 64}
        md = self.report(doc)
        self.assertIn("- workload of `seam-bench-2026-12-08T00-00-00Z.json`: name `crafted`, "
                      "hot_files `64`", md[:md.index("## Verdict")])

    def test_fault_tables_are_split_by_family(self):
        md = self.report(fixture_doc())
        fault = md[md.index("## Fault recovery"):md.index("## Sweep")]
        mono = fault[fault.index("### One daemon"):fault.index("### Split deployments")]
        split = fault[fault.index("### Split deployments"):]
        self.assertIn("| metric | unit | `mono` |\n", mono)
        self.assertNotIn("`split/", mono)
        self.assertNotIn("`mono`", split.split("\n\n**What")[0])

    def test_nothing_is_written_into_the_folder_without_out(self):
        folder = self.write_dir(fixture_doc())
        before = sorted(os.listdir(folder))
        p = seam_report(folder, "--no-charts")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(folder)), before)
        self.assertTrue(p.stdout.startswith("# Seams bench report"))
        self.assertIn("## Verdict", p.stdout)


class CompareRulesTest(Scratch):
    def write(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            json.dump(doc, fh)
        return path

    def scaled(self, doc, dep, metric, factor=None, value=None):
        doc = copy.deepcopy(doc)
        for s in doc["summary"]:
            if s["deployment"] == dep and s["metric"] == metric:
                vals = [value] * len(s["values"]) if value is not None else [
                    v * factor for v in s["values"]]
                s["values"], s["median"] = vals, sorted(vals)[len(vals) // 2]
                s["ci95_low"], s["ci95_high"] = min(vals), max(vals)
        return doc

    def test_a_quick_run_against_a_full_one_is_refused_or_warned_about(self):
        full = fixture_doc()
        full["options"]["quick"] = False
        base, new = self.write("base.json", fixture_doc()), self.write("new.json", full)
        p = seam_report("compare", base, new)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("refused", p.stderr)
        self.assertIn("quick run and NEW a full run", p.stderr)
        p = seam_report("compare", base, new, "--allow-mixed")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(p.stdout.startswith("**WARNING: BASE is a quick run"))
        self.assertTrue(p.stdout.rstrip().endswith("not a regression of the code.**"))

    def test_a_floor_that_moved_is_listed_but_never_a_regression(self):
        doc = fixture_doc()
        base = self.write("base.json", doc)
        new = self.write("new.json", self.scaled(doc, "baseline", "nginx GET 4K c1 p50", 3.0))
        p = seam_report("compare", base, new)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("Floors (the machine, not the code; never a regression)", p.stdout)
        line = next(l for l in p.stdout.splitlines() if "nginx GET 4K c1 p50" in l)
        self.assertIn("floor moved", line)
        self.assertNotIn("REGRESSION", p.stdout)

    def test_not_recovered_is_a_state_not_minus_one(self):
        doc = fixture_doc()
        metric = next(s["metric"] for s in doc["summary"]
                      if s["deployment"] == "mono" and "recovery" in s["metric"])
        base = self.write("base.json", doc)
        new = self.write("new.json", self.scaled(doc, "mono", metric, value=-1.0))
        p = seam_report("compare", base, new)
        self.assertEqual(p.returncode, 1, p.stdout)
        line = next(l for l in p.stdout.splitlines() if metric in l)
        self.assertIn("REGRESSION", line)
        self.assertIn("| not recovered |", line)
        self.assertNotIn("-1", line)
        # And back: not recovered -> recovered is better, not a -100% move.
        p = seam_report("compare", new, base)
        self.assertEqual(p.returncode, 0, p.stdout)
        line = next(l for l in p.stdout.splitlines() if metric in l)
        self.assertIn("better", line)
        self.assertIn("not recovered -> recovered", line)

    def test_figures_in_one_run_only_are_listed_apart(self):
        doc = fixture_doc()
        new = copy.deepcopy(doc)
        new["summary"] = [s for s in new["summary"] if s["metric"] != "http get_cached c1 p50"]
        p = seam_report("compare", self.write("base.json", doc), self.write("new.json", new))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("Only in BASE (2; not compared):", p.stdout)
        self.assertIn("- `mono` http get_cached c1 p50", p.stdout)
        self.assertIn("- `split/capnp/push` http get_cached c1 p50", p.stdout)
        self.assertNotIn("| http get_cached c1 p50 |", p.stdout)


# A real quick run (five deployments, committed with issue 13): wide enough to test the layout.
REAL_RUN = os.path.join(HERE, "..", "..", "results", "2026-12-07-issue13", "bench-quick")

# Written into a copy of the page so that --dump-dom can tell the page's width and every table
# wider than the element holding it (the report itself has no script).
PROBE = ("<script>document.body.setAttribute('data-width', document.documentElement.scrollWidth);"
         "var w = []; document.querySelectorAll('table').forEach(function (t) {"
         " if (t.scrollWidth > t.parentElement.clientWidth + 1)"
         " w.push(t.rows[0].cells[0].textContent + ':' + t.scrollWidth); });"
         "document.body.setAttribute('data-wide', w.join('|'));</script></body>")


class VerdictHtmlTest(Scratch):
    def setUp(self):
        super().setUp()
        self.chromium = shutil.which("chromium") or "/usr/bin/chromium"
        if not os.path.exists(self.chromium) or not shutil.which("gnuplot"):
            print("skipped: chromium or gnuplot is not installed (scripts/deps.sh installs both)")
            sys.exit(SKIP)

    def chromium_run(self, path, *extra):
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        return subprocess.run(
            [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,3000",
             "--enable-logging=stderr", "--v=0", *extra, "file://" + path],
            capture_output=True, text=True, timeout=180)

    def render(self, doc, name):
        folder = self.write_dir(doc)
        out = os.path.join(self.tmp, name)
        p = seam_report(folder, "--out", out, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        page = os.path.join(out, "report.html")
        with open(page) as fh:
            source = fh.read()
        probe = os.path.join(out, "probe.html")
        with open(probe, "w") as fh:
            fh.write(source.replace("</body>", PROBE))
        dom = self.chromium_run(probe, "--dump-dom")
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        return page, source, dom

    def test_a_real_run_of_five_deployments_fits_1400_px(self):
        files = glob.glob(os.path.join(REAL_RUN, "seam-bench-*.json.gz"))
        if not files:
            self.skipTest("the committed quick run is not in this tree")
        import gzip
        with gzip.open(files[0], "rt") as fh:
            doc = with_sweep_and_model(json.load(fh))
        _, _, dom = self.render(doc, "real")
        width = int(re.search(r"data-width=\"(\d+)\"", dom.stdout).group(1))
        self.assertLessEqual(width, 1400, "the page fits 1400 px")
        wide = re.search(r"data-wide=\"([^\"]*)\"", dom.stdout).group(1)
        self.assertEqual(wide, "", "tables wider than their place: " + wide)

    def test_the_verdict_is_first_and_the_break_even_chart_is_drawn(self):
        page, source, dom = self.render(with_sweep_and_model(fixture_doc()), "fixture")
        self.assertNotRegex(source, r"(src|href)=['\"]https?:", "the page must need no network")
        # 14 charts without a model (report_test.py's HtmlTest) and the break-even chart.
        self.assertEqual(source.count("<figure class='chart'>"), 15)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        sections = re.findall(r"<section\b[^>]*>\s*<h2[^>]*>([^<]+)</h2>", dom.stdout)
        self.assertEqual(sections[0], "Verdict", sections[:3])
        body = dom.stdout[dom.stdout.index("<body"):]
        self.assertLess(body.index(">Verdict</h2>"), body.index("<table"))
        verdict = body[body.index(">Verdict</h2>"):body.index("</section>")]
        self.assertEqual(len(re.findall(r"<svg\b", verdict)), 1, "the break-even chart")
        self.assertIn("split/<wbr>capnp/<wbr>push", source[source.index(">Verdict</h2>"):])
        svgs = re.findall(r"<svg\b.*?</svg>", dom.stdout, re.S)
        self.assertEqual(len(svgs), 15)
        width = int(re.search(r"data-width=\"(\d+)\"", dom.stdout).group(1))
        self.assertLessEqual(width, 1400, "the page fits 1400 px")
        self.assertNotRegex(dom.stderr, r"Uncaught|:CONSOLE[:(]")
        shot = os.path.join(BUILD_DIR, "verdict-screenshot.png")
        pic = self.chromium_run(page, f"--screenshot={shot}")
        self.assertEqual(pic.returncode, 0, pic.stderr[-2000:])
        self.assertGreater(os.path.getsize(shot), 10000)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-") and os.path.isdir(sys.argv[1]):
        BUILD_DIR = sys.argv.pop(1)
    unittest.main(verbosity=2)

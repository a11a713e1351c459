#!/usr/bin/env python3
"""seam-report: turns seam-bench JSON documents into report.md and report.html, and compares runs.

  seam-report DIR|FILE... [--out DIR] [--no-charts]
      reads every seam-bench-*.json (or .json.gz, as committed reference runs are kept) under each
      DIR (or the FILEs), writes OUT/report.md (tables),
      OUT/report.html (self-contained, charts rendered by gnuplot as inline SVG) and
      OUT/headline.md (the headline table, also printed on stdout).
  seam-report compare BASE NEW [--threshold PCT]
      flags every figure that moved beyond its noise; exits 1 on a regression past PCT percent.
  seam-report spread RUN RUN... [--metric M]... [--goal PCT]
      the same figures of several runs side by side (each with its load average and PM QoS),
      and per deployment the spread between the runs that have it (largest over smallest, minus
      1; a run of another mode names the deployment apart); says which are within PCT percent
      (default 15). Reproducibility, not regression.
  seam-report counts BASE NEW [--warn PCT] [--fail PCT] [--out FILE]
      compares two seam-counts documents (bench/counts/): a table of every operation with its
      instructions and allocations per operation in each and the change; an operation that grew by
      more than --warn percent of instructions (default 5) is flagged, one that grew by more than
      --fail percent (default 15) fails, as does an operation of BASE missing from NEW (exit 1).
      Allocation growth is flagged, never failed. Instruction counts are not noisy, so there is no
      noise band: the thresholds are the whole rule.

Written in Python (standard library only) rather than C++: it is a text-and-plot tool with no hot
path, it needs no compile step on a 2-core machine, and reading loosely shaped JSON tolerantly is
shorter and clearer with dicts than with typed accessors. The schema it reads is the one
`seam-bench --help` prints ("seam-bench/1").
"""
import argparse
import glob
import gzip
import html
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

DEPLOYMENT_ORDER = ["mono", "split/capnp/push", "split/capnp/off", "split/capnp/ttl",
                    "split/protobuf/push"]
SCENARIOS = [  # (key, title, metric prefixes of the summary)
    ("startup", "Startup and shutdown", ("startup ", "shutdown ")),
    ("http", "HTTP hot path", ("http ", "wrk check")),
    ("fuse", "FUSE hot path", ("fuse ",)),
    ("fio", "fio on the mount (4k random read, write, read/write with verify=crc32c; 1 MiB "
     "sequential read)", ("fio ",)),
    ("git", "git on the mount: extract the project's core/, git init, add -A, commit, fsck",
     ("git ",)),
    ("ipc", "IPC calls per FUSE operation (split: seam-fused to seam-fsd)", ("ipc ",)),
    ("drift", "Drift: visibility, staleness, revocation", ("drift ",)),
    ("memory", "Memory", ("memory ",)),
    ("fault", "Fault recovery", ("fault ",)),
]
HEADLINE = [
    "startup spawn->READY=1",
    "startup spawn->READY=1 spread (p90-p50)",
    "http get_cached c1 p50",
    "floor tcp ping-pong GET-sized p50",
    "floor unix ping-pong 64B p50",
    "http get_cached c4 throughput",
    "http put c1 p50",
    "fuse stat t1 p50",
    "fuse read4k t1 p50",
    "fuse read4k t4 throughput",
    "drift visibility HTTP->FUSE (median)",
    "drift revocation lag HTTP (median)",
    "memory PSS under load",
]
NOT_MEASURED = "not measured"
SCENARIO_NOTES = {
    "fio": "fio 2 jobs (one file each), psync, no O_DIRECT, time-based; the run's `fio.settings` "
           "gives the seconds per job and the file size (a quick run: 2 s over 8 MiB files, in "
           "its first repeat only). IOPS and bandwidth are the two jobs' sum; clat is fio's "
           "completion latency. The verify job's read figures include fio's verify reads. A job "
           "that failed has no figures here: see the FAILED section.",
    "git": "Seconds per step, on a copy of the project's `core/` (a tar made at bench time) in a "
           "fresh directory of the mount; git with no system or user configuration. A step that "
           "failed stops the rest and leaves no figures here: see the FAILED section.",
    "ipc": "seam-fused's calls to seam-fsd (its stub's `seams_ipc_round_trips{owner=\"fsd\"}`) "
           "over a phase, divided by the phase's operations (FUSE rows) or I/Os (fio rows). "
           "mono makes no IPC calls.",
}


# --- reading ----------------------------------------------------------------------------------

def bench_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "seam-bench-*.json")) +
                            glob.glob(os.path.join(p, "seam-bench-*.json.gz")))
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit(f"seam-report: no such file or directory: {p}")
    return files


def load_docs(paths):
    docs = []
    for f in bench_files(paths):
        try:
            opener = gzip.open if f.endswith(".gz") else open
            with opener(f, "rt") as fh:
                d = json.load(fh)
        except (OSError, ValueError, EOFError) as e:
            print(f"seam-report: skipping {f}: {e}", file=sys.stderr)
            continue
        if isinstance(d, dict):
            d["_file"] = os.path.basename(f).removesuffix(".gz")
            docs.append(d)
    return docs


def num(x):
    """A figure as a float: {"value": v, "unit": u}, a bare number, or None."""
    if isinstance(x, dict):
        x = x.get("value")
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def dig(obj, *keys):
    for k in keys:
        if isinstance(obj, dict):
            obj = obj.get(k)
        elif isinstance(obj, list) and isinstance(k, int) and -len(obj) <= k < len(obj):
            obj = obj[k]
        else:
            return None
    return obj


# --- measurement modes ------------------------------------------------------------------------

def doc_mode(d):
    """The mode a document was measured in, as a suffix of its deployments' names (" [pinned]",
    " [no PM QoS]"), so pinned runs and runs without PM QoS sit beside the default ones instead
    of pooling with them. Documents from before seam-bench recorded PM QoS get no suffix."""
    parts = []
    if dig(d, "pinning", "pinned") is True:
        parts.append("pinned")
    qos = d.get("pm_qos")
    if isinstance(qos, dict) and not qos.get("held"):
        parts.append("no PM QoS")
    return f" [{', '.join(parts)}]" if parts else ""


def base_name(dep):
    return dep.split(" [", 1)[0]


def mode_of(dep):
    return dep[len(base_name(dep)):]


def is_baseline(dep):
    return base_name(dep) == "baseline"


def deployment_key(dep):
    base = base_name(dep)
    rank = DEPLOYMENT_ORDER.index(base) if base in DEPLOYMENT_ORDER else len(DEPLOYMENT_ORDER)
    return (rank, base, mode_of(dep))


def bootstrap_ci(values, seed=1, resamples=2000):
    if len(values) < 2:
        return values[0], values[0]
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return meds[int(0.025 * resamples)], meds[int(0.975 * resamples) - 1]


class Figure:
    def __init__(self, median, low, high, unit, n):
        self.median, self.low, self.high, self.unit, self.n = median, low, high, unit, n

    def has_ci(self):
        return self.n > 1 and self.high > self.low


def summary_figures(docs):
    """{(deployment, metric): Figure} pooled over every document's summary."""
    pooled = {}
    for d in docs:
        mode = doc_mode(d)
        for s in d.get("summary") or []:
            if not isinstance(s, dict) or "deployment" not in s or "metric" not in s:
                continue
            key = (str(s["deployment"]) + mode, s["metric"])
            vals = [float(v) for v in (s.get("values") or []) if num(v) is not None]
            if not vals and num(s.get("median")) is not None:
                vals = [num(s["median"])]
            entry = pooled.setdefault(key, {"unit": s.get("unit", ""), "values": [], "docs": []})
            entry["values"] += vals
            entry["docs"].append(s)
    out = {}
    for key, e in pooled.items():
        if not e["values"]:
            continue
        if len(e["docs"]) == 1 and num(e["docs"][0].get("ci95_low")) is not None:
            s = e["docs"][0]
            med = num(s.get("median"))
            med = statistics.median(e["values"]) if med is None else med
            out[key] = Figure(med, num(s["ci95_low"]), num(s.get("ci95_high")) or med, e["unit"],
                              len(e["values"]))
        else:
            lo, hi = bootstrap_ci(e["values"])
            out[key] = Figure(statistics.median(e["values"]), lo, hi, e["unit"], len(e["values"]))
    return out


def deployments_of(docs, figs):
    seen = []
    for d in docs:
        for r in d.get("runs") or []:
            name = r.get("deployment") if isinstance(r, dict) else None
            if name and name + doc_mode(d) not in seen:
                seen.append(name + doc_mode(d))
    for dep, _ in figs:
        if not is_baseline(dep) and dep not in seen:
            seen.append(dep)
    # Known deployments in their order, each mode right after the default one; others after.
    return sorted(seen, key=deployment_key)


def run_notes(docs):
    notes = {}
    for d in docs:
        for r in d.get("runs") or []:
            if not isinstance(r, dict):
                continue
            dep = str(r.get("deployment", "?")) + doc_mode(d)
            if "skipped" in r:
                notes.setdefault(dep, set()).add("skipped: " + str(r["skipped"]))
            if "error" in r:
                notes.setdefault(dep, set()).add("failed: " + str(r["error"]))
            for sc, _, _ in SCENARIOS:
                if isinstance(r.get(sc), dict) and "error" in r[sc]:
                    first_line = str(r[sc]["error"]).split("\n", 1)[0]
                    notes.setdefault(dep, set()).add(f"{sc} failed: {first_line}")
    return notes


def tool_failures(docs):
    """Every failed fio job and git step, of the deployments and of the floors: (who, what,
    message, output), fio verify failures first."""
    found = []
    for d in docs:
        mode = doc_mode(d)
        places = []
        for r in d.get("runs") or []:
            if isinstance(r, dict):
                who = f"{r.get('deployment', '?')}{mode} #{r.get('repeat', '?')}"
                places.append((who, r.get("fio"), r.get("git")))
        for b in d.get("baselines") or []:
            if isinstance(b, dict):
                for floor in ("direct", "passthrough_ll"):
                    places.append((f"floor {floor}{mode} #{b.get('repeat', '?')}",
                                   dig(b, "fio", floor), dig(b, "git", floor)))
        for who, fio, git in places:
            if isinstance(fio, dict):
                for job, j in (fio.get("jobs") or {}).items():
                    if isinstance(j, dict) and j.get("ok") is False:
                        found.append((not j.get("verify_failed"), who, f"fio {job}",
                                      str(j.get("failure", "failed")), str(j.get("output", ""))))
                if "error" in fio and not fio.get("jobs"):
                    found.append((True, who, "fio", str(fio["error"]),
                                  str(dig(fio, "layout", "output") or "")))
            if isinstance(git, dict) and git.get("ok") is False:
                step = git.get("failed_step", "?")
                out = next((str(st.get("output", "")) for st in git.get("steps") or []
                            if isinstance(st, dict) and st.get("name") == step), "")
                cmd = next((str(st.get("command", "")) for st in git.get("steps") or []
                            if isinstance(st, dict) and st.get("name") == step), "")
                code = next((st.get("exit_code") for st in git.get("steps") or []
                             if isinstance(st, dict) and st.get("name") == step), "?")
                not_run = ", ".join(git.get("not_run") or []) or "none"
                found.append((True, who, f"git workload, step `{step}`",
                              f"`{cmd}` exited {code}; not run after it: {not_run}", out))
            elif isinstance(git, dict) and "error" in git and "steps" not in git:
                found.append((True, who, "git", str(git["error"]), ""))
    found.sort(key=lambda x: x[0])
    return [(who, what, msg, out) for _, who, what, msg, out in found]


def tool_failure_section(docs):
    failures = tool_failures(docs)
    if not failures:
        return []
    verify = sum(1 for _, what, msg, _ in failures if "verify" in msg and what.startswith("fio"))
    out = [f"## FAILED: {len(failures)} fio job(s) or git step(s) on the mounts", ""]
    if verify:
        out += [f"**{verify} fio verify failure(s): the data read back was not the data written. "
                "These runs failed.**", ""]
    for who, what, msg, text in failures:
        out.append(f"- **FAILED** `{who}` {what}: {msg.splitlines()[0] if msg else ''}")
        if text.strip():
            out += ["", "```"] + text.rstrip().splitlines()[-20:] + ["```", ""]
    if out[-1] != "":
        out.append("")
    return out


# --- formatting -------------------------------------------------------------------------------

def higher_is_better(unit):
    return unit.endswith("/s")


def comparable(unit):
    return unit not in ("ratio",)


def fmt(x):
    if x is None:
        return "–"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.2g}"


def fmt_ratio(r):
    if r is None or math.isinf(r) or math.isnan(r):
        return "–"
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def never_recovered(metric, fig):
    # The bench records -1 ms when a path had not recovered by the end of the fault window.
    return fig is not None and "recovery" in metric and fig.median < 0


NO_FAILURE = "no failure"


def faults_without_failure(docs):
    """{(deployment, 'fault KIND UNIT PATH recovery')} for every fault a run injected whose path
    failed no request: the bench records a recovery only for a path that failed, so the cell would
    otherwise read "not measured" though the fault was injected and measured."""
    quiet, failed = set(), set()
    for d in docs:
        for r in d.get("runs") or []:
            dep, fault = r.get("deployment"), r.get("fault")
            if not isinstance(fault, dict):
                continue
            mono = r.get("launcher") == "seamd" or dep == "mono"
            for kind in ("soft", "hard"):
                for f in fault.get(kind) or []:
                    if not isinstance(f, dict):
                        continue
                    unit = f.get("service") or f.get("host") or "?"
                    if kind == "hard" and mono:
                        unit = "seamd"
                    for path in ("http", "fuse"):
                        p = f.get(path)
                        if isinstance(p, dict):
                            key = (dep, f"fault {kind} {unit} {path} recovery")
                            (failed if (num(p.get("failed")) or 0) > 0 else quiet).add(key)
    return quiet - failed


def cell(fig, metric="", absent=NOT_MEASURED):
    if fig is None:
        return absent
    if never_recovered(metric, fig):
        return "no recovery in window"
    text = fmt(fig.median)
    if fig.has_ci():
        text += f" [{fmt(fig.low)}–{fmt(fig.high)}]"
    return text


def floors_for(metric, figs, mode=""):
    """The baseline figures (of the runs measured in `mode`) that floor a deployment metric:
    [(label, Figure)]."""
    baseline = "baseline" + mode
    m = re.match(r"fuse (\S+) (t\d+) (.+)$", metric)
    if m:
        op, t, what = m.groups()
        return [(name, figs.get((baseline, f"{base} {op} {t} {what}")))
                for name, base in (("direct", "direct"), ("peer FUSE", "passthrough_ll"))]
    m = re.match(r"(fio|git) (.+)$", metric)
    if m:
        tool, rest = m.groups()
        return [(name, figs.get((baseline, f"{base} {tool} {rest}")))
                for name, base in (("direct", "direct"), ("peer FUSE", "passthrough_ll"))]
    m = re.match(r"http get_(?:cached|uncached) (c\d+) (.+)$", metric)
    if m:
        c, what = m.groups()
        return [("nginx", figs.get((baseline, f"nginx GET 4K {c} {what}")))]
    return []


def table_mode(deps, figs):
    """The mode whose baselines fill a table's floor columns: the default one when it was
    measured, else the first deployment's (when its mode has baselines)."""
    modes = {mode_of(d) for d, _ in figs if is_baseline(d)}
    if "" in modes or not modes:
        return ""
    first_mode = mode_of(deps[0]) if deps else ""
    return first_mode if first_mode in modes else sorted(modes)[0]


def md_table(header, rows, align=None):
    align = align or ["---"] * len(header)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def scenario_metrics(figs, prefixes):
    metrics = []
    for dep, metric in figs:
        if not is_baseline(dep) and metric.startswith(prefixes) and metric not in metrics:
            metrics.append(metric)
    return metrics


def winners(metrics, deps, figs):
    """Per metric: (winner, runner-up, margin text) among measured deployments. A best figure
    whose 95% interval overlaps the runner-up's is no win: (metric, None, None, text)."""
    result = []
    for metric in metrics:
        have = [(d, figs[(d, metric)]) for d in deps
                if (d, metric) in figs and not never_recovered(metric, figs[(d, metric)])]
        if len(have) < 2 or not comparable(have[0][1].unit):
            continue
        hib = higher_is_better(have[0][1].unit)
        have.sort(key=lambda x: -x[1].median if hib else x[1].median)
        (w, wf), (r, rf) = have[0], have[1]
        if wf.median == rf.median:
            result.append((metric, None, None, "tie"))
            continue
        if wf.has_ci() and rf.has_ci() and wf.low <= rf.high and rf.low <= wf.high:
            result.append((metric, None, None, f"`{w}` and `{r}` overlap"))
            continue
        if hib:
            margin = f"{(wf.median / rf.median - 1) * 100:.0f}% more" if rf.median else "more"
        else:
            margin = (f"{(1 - wf.median / rf.median) * 100:.0f}% less" if rf.median else "less")
        margin += f" than `{r}`"
        if not (wf.has_ci() and rf.has_ci()):
            margin += " (no interval to compare: one run)"
        result.append((metric, w, r, margin))
    return result


def meaning(title, metrics, deps, figs):
    measured = [d for d in deps if any((d, m) in figs for m in metrics)]
    if not measured:
        return "Nothing was measured for this scenario."
    parts = []
    modes = []
    for d in measured:
        if mode_of(d) not in modes:
            modes.append(mode_of(d))
    # Deployments compete only with those measured the same way (pinned with pinned, ...).
    for mode in modes:
        group = [d for d in measured if mode_of(d) == mode]
        lead = f"Among the{mode} runs: " if len(modes) > 1 else ""
        if len(group) == 1:
            parts.append(f"{lead}Only `{group[0]}` was measured, so there is no deployment to "
                         f"compare it with.")
            continue
        wins = winners(metrics, group, figs)
        tally = {}
        for _, w, _, _ in wins:
            if w:
                tally[w] = tally.get(w, 0) + 1
        if tally:
            order = sorted(tally.items(), key=lambda x: -x[1])
            parts.append(f"{lead}Wins per deployment (best figure of each metric, its interval "
                         f"clear of the runner-up's): " +
                         ", ".join(f"`{d}` {n} of {len(wins)}" for d, n in order) + ".")
        elif wins:
            parts.append(f"{lead}No deployment wins any metric clear of the intervals.")
        details = [f"{m}: `{w}` by {mg}" for m, w, r, mg in wins if w]
        if details:
            parts.append("; ".join(details) + ".")
        unclear = [f"{m} ({mg})" for m, w, _, mg in wins if not w and mg != "tie"]
        if unclear:
            parts.append("No clear winner, the 95% intervals overlap: " + "; ".join(unclear) + ".")
    floor_ratios = []
    for m in metrics:
        for d in measured:
            fl = floors_for(m, figs, mode_of(d))
            f = figs.get((d, m))
            if fl and f and fl[0][1] and comparable(f.unit):
                r = ratio(f.median, fl[0][1].median)
                if r:
                    floor_ratios.append((r if not higher_is_better(f.unit) else 1 / r, d, m,
                                         fl[0][0]))
    if floor_ratios:
        floor_ratios.sort()
        best, worst = floor_ratios[0], floor_ratios[-1]
        parts.append(f"Against the floors (cost relative to the baseline, lower is closer): "
                     f"closest {fmt_ratio(best[0])} ({best[1]}, {best[2]} vs {best[3]}), "
                     f"farthest {fmt_ratio(worst[0])} ({worst[1]}, {worst[2]} vs {worst[3]}).")
    return " ".join(parts)


# --- bimodality -------------------------------------------------------------------------------

BINS_PER_OCTAVE = 8   # ~9% wide bins on a log scale: latency modes are multiplicative
MODE_MIN_SHARE = 0.05  # each mode holds at least 5% of the requests
MODE_MAX_VALLEY = 0.5  # the dip between two modes is at most half the smaller peak
MODE_MIN_RATIO = 1.5   # and the modes are at least 1.5x apart
MODE_MIN_COUNT = 200   # fewer requests than this say nothing about modes


def log_density(hist):
    """A histogram's buckets ([low, high, count], ns) regrouped into BINS_PER_OCTAVE bins per
    octave and smoothed with a [1 2 1] kernel: (first bin index, counts, smoothed)."""
    bins = {}
    for b in dig(hist, "buckets") or []:
        if not (isinstance(b, list) and len(b) == 3 and all(num(x) is not None for x in b)):
            continue
        low, high, count = (float(x) for x in b)
        if count <= 0:
            continue
        mid = max((low + high) / 2, 1.0)
        k = int(math.floor(math.log2(mid) * BINS_PER_OCTAVE))
        bins[k] = bins.get(k, 0.0) + count
    if not bins:
        return 0, [], []
    lo, hi = min(bins), max(bins)
    counts = [bins.get(k, 0.0) for k in range(lo, hi + 1)]
    padded = [0.0] + counts + [0.0]
    smooth = [(padded[i - 1] + 2 * padded[i] + padded[i + 1]) / 4 for i in range(1, len(padded) - 1)]
    return lo, counts, smooth


def detect_modes(hist):
    """Two modes of a latency histogram (the signature of requests that sometimes wait for a
    sleeping CPU to wake), or None for one mode. Returns ((mode_us, share), (mode_us, share)),
    the faster mode first. Two local maxima of the smoothed log-scale density count as two modes
    when they are at least MODE_MIN_RATIO apart, the lowest point between them is at most
    MODE_MAX_VALLEY of the smaller peak, and each side of that point holds at least
    MODE_MIN_SHARE of the requests. Of several candidates, the pair with the deepest relative
    valley wins. A long tail without a second peak is one mode; a histogram of fewer than
    MODE_MIN_COUNT requests is not judged."""
    lo, counts, smooth = log_density(hist)
    total = sum(counts)
    if total < MODE_MIN_COUNT or len(smooth) < 3:
        return None
    peaks = [i for i in range(len(smooth))
             if smooth[i] > 0 and (i == 0 or smooth[i] > smooth[i - 1])
             and (i == len(smooth) - 1 or smooth[i] >= smooth[i + 1])]
    min_sep = math.log2(MODE_MIN_RATIO) * BINS_PER_OCTAVE
    best = None
    for a in range(len(peaks)):
        for b in range(a + 1, len(peaks)):
            p, q = peaks[a], peaks[b]
            if q - p < min_sep:
                continue
            v = min(range(p, q + 1), key=lambda i: smooth[i])
            depth = smooth[v] / min(smooth[p], smooth[q])
            left, right = sum(counts[:v + 1]), sum(counts[v + 1:])
            if depth > MODE_MAX_VALLEY or min(left, right) < MODE_MIN_SHARE * total:
                continue
            if best is None or depth < best[0]:
                best = (depth, p, q, left / total, right / total)
    if best is None:
        return None
    _, p, q, left, right = best
    at_us = lambda i: 2 ** ((lo + i + 0.5) / BINS_PER_OCTAVE) / 1000.0
    return (at_us(p), left), (at_us(q), right)


def metric_histograms(run, metric):
    """The latency histograms one run recorded behind a summary metric (several for the
    floors: before and after)."""
    m = re.match(r"http (\S+) (c\d+) p(?:50|99)$", metric)
    if m:
        return [dig(run, "http", "closed_loop", m.group(1), m.group(2), "histogram_ns")]
    m = re.match(r"fuse (\S+) (t\d+) p50$", metric)
    if m:
        return [dig(run, "fuse", "ops", m.group(1), m.group(2), "histogram_ns")]
    m = re.match(r"floor (unix|tcp) ", metric)
    if m:
        return [dig(run, "floor", when, m.group(1), "histogram_ns") for when in ("before", "after")]
    return []


def bimodal_note(runs, dep, metric):
    """"bimodal in k/n runs: a and b us" when some of the histograms behind a figure have two
    modes; "" otherwise."""
    found, seen = [], 0
    for r in runs.get(dep, []):
        for h in metric_histograms(r, metric):
            if not isinstance(h, dict) or not h.get("buckets"):
                continue
            seen += 1
            modes = detect_modes(h)
            if modes:
                found.append(modes)
    if not found:
        return ""
    fast = statistics.median(m[0][0] for m in found)
    slow = statistics.median(m[1][0] for m in found)
    return f"bimodal in {len(found)}/{seen}: {fmt(fast)} and {fmt(slow)} us"


def cell_with_note(fig, metric, absent, runs, dep):
    text = cell(fig, metric, absent)
    note = bimodal_note(runs, dep, metric) if fig is not None and runs else ""
    return f"{text} ({note})" if note else text


def scenario_table(metrics, deps, figs, quiet=frozenset(), runs=None):
    mode = table_mode(deps, figs)
    floor_labels = []
    for m in metrics:
        for label, _ in floors_for(m, figs, mode):
            if label not in floor_labels:
                floor_labels.append(label)
    header = ["metric", "unit"] + [f"`{d}`" for d in deps] + [f"floor: {l}{mode}"
                                                            for l in floor_labels]
    # Ratio columns only for the deployments this scenario measured.
    measured = [d for d in deps if any((d, m) in figs for m in metrics)]
    if "mono" in measured and len(measured) > 1:
        header += [f"`{d}` ÷ mono" for d in measured if d != "mono"]
    if floor_labels:
        header += [f"`{d}` ÷ {floor_labels[0]}" for d in measured]
    rows = []
    for m in metrics:
        unit = next((figs[(d, m)].unit for d in deps if (d, m) in figs), "")
        row = [m, unit] + [cell_with_note(figs.get((d, m)), m, NO_FAILURE if (d, m) in quiet
                                          else NOT_MEASURED, runs, d) for d in deps]
        fl = dict(floors_for(m, figs, mode))
        row += [cell(fl.get(l)) if l in fl else "–" for l in floor_labels]
        if "mono" in measured and len(measured) > 1:
            mono = figs.get(("mono", m))
            for d in measured:
                if d != "mono":
                    f = figs.get((d, m))
                    usable = f and mono and not never_recovered(m, f) and not never_recovered(m, mono)
                    row.append(fmt_ratio(ratio(f.median, mono.median)) if usable else "–")
        if floor_labels:
            for d in measured:
                # Each deployment against the floor measured the same way it was.
                base = dict(floors_for(m, figs, mode_of(d))).get(floor_labels[0])
                f = figs.get((d, m))
                row.append(fmt_ratio(ratio(f.median, base.median)) if f and base else "–")
        rows.append(row)
    return md_table(header, rows)


def start_interval_table(deps, figs):
    """Each service's or daemon's own start interval (seam-bench's "startup interval UNIT p50"
    and "... spread (p90-p50)" figures): a row per unit, a column per deployment."""
    units = []
    for _, metric in figs:
        m = re.match(r"startup interval (.+) p50$", metric)
        if m and m.group(1) not in units:
            units.append(m.group(1))
    if not units:
        return None
    rows = []
    for u in units:
        row = [u]
        for d in deps:
            p50 = figs.get((d, f"startup interval {u} p50"))
            sp = figs.get((d, f"startup interval {u} spread (p90-p50)"))
            if p50 is None:
                row.append("–")
            else:
                row.append(fmt(p50.median) + (f" (+{fmt(sp.median)})" if sp else ""))
        rows.append(row)
    return md_table(["unit (process: service, or launcher: daemon)"] + [f"`{d}`" for d in deps],
                    rows)


def headline_table(deps, figs, runs=None):
    mode = table_mode(deps, figs)
    rows = []
    for m in HEADLINE:
        unit = next((figs[(d, m)].unit for d in deps if (d, m) in figs), None)
        if unit is None:
            continue
        fl = floors_for(m, figs, mode)
        floor = next((f"{fmt(f.median)} ({l}{mode})" for l, f in fl if f), "–")
        rows.append([m, unit] + [cell_with_note(figs.get((d, m)), m, NOT_MEASURED, runs, d)
                                 for d in deps] + [floor])
    if not rows:
        return "(no figures measured)"
    return md_table(["metric", "unit"] + [f"`{d}`" for d in deps] + ["floor"], rows)


# --- the floor beside each deployment ----------------------------------------------------------

def floor_runs(docs):
    """Every run that measured its floor before and after: (deployment with mode, run). With
    several documents a run's "repeat" also names its document's start (HH:MM UTC)."""
    out = []
    for d in docs:
        for r in d.get("runs") or []:
            if isinstance(r, dict) and isinstance(dig(r, "floor", "after"), dict):
                r = dict(r)
                if len(docs) > 1:
                    r["repeat"] = f"{r.get('repeat', '?')} ({str(d.get('started_at', '?'))[11:16]})"
                out.append((str(r.get("deployment", "?")) + doc_mode(d), r))
    out.sort(key=lambda x: (deployment_key(x[0]), str(x[1].get("repeat"))))
    return out


def floor_section(docs):
    runs = floor_runs(docs)
    if not runs:
        return [f"{NOT_MEASURED.capitalize()} in these runs (documents from before seam-bench "
                "measured a floor beside each deployment).", ""]
    rows, moved = [], []

    def p50(r, when, kind):
        return num(dig(r, "floor", when, kind, "latency", "p50"))

    def before_after(r, kind):
        b, a = p50(r, "before", kind), p50(r, "after", kind)
        text = f"{fmt(b)} → {fmt(a)}"
        if dig(r, "floor", "shift", kind, "moved") is True:
            text += " **moved**"
        return text

    for dep, r in runs:
        rep = r.get("repeat", "?")
        flag = dig(r, "floor", "moved") is True
        if flag:
            moved.append(f"`{dep}` #{rep}")
        c1 = num(dig(r, "http", "closed_loop", "get_cached", "c1", "latency", "p50"))
        tcp = [x for x in (p50(r, "before", "tcp"), p50(r, "after", "tcp")) if x]
        own = statistics.mean(tcp) if tcp else None
        load = [dig(r, "loadavg", w, 0) for w in ("before", "after")]
        rows.append([f"`{dep}`", str(rep), before_after(r, "unix"), before_after(r, "tcp"),
                     "**yes**" if flag else "no", fmt(c1), fmt_ratio(ratio(c1, own)),
                     " → ".join(fmt(num(x)) for x in load) if all(num(x) is not None
                                                                  for x in load) else "–"])
    out = [md_table(["deployment", "repeat", "UNIX ping-pong p50 (us) before → after",
                     "TCP GET-sized ping-pong p50 (us) before → after", "floor moved > 25%",
                     "http get_cached c1 p50 (us)", "÷ own TCP floor", "load average (1 min)"],
                    rows), ""]
    if moved:
        out += [f"**{len(moved)} of {len(runs)} runs had a floor that moved by more than 25% "
                f"between before and after:** {', '.join(moved)}. The machine changed under "
                "them; their figures are not comparable with their neighbours'.", ""]
    else:
        out += [f"No run's floor moved by more than 25% ({len(runs)} runs).", ""]
    return out


def measurement_mode(d):
    """How the machine was held during a document's run: PM QoS, pinning, load, duration."""
    qos = d.get("pm_qos")
    if isinstance(qos, dict):
        text = ("PM QoS " + str(qos.get("status", "?")) if qos.get("held") else
                "PM QoS not held (" + str(qos.get("status", "?")) + ")")
    else:
        text = "PM QoS not recorded"
    pin = d.get("pinning")
    if isinstance(pin, dict):
        text += f", pinned to CPU {pin.get('cpu', '?')}" if pin.get("pinned") else ", not pinned"
    load = [num(dig(d, "loadavg", w, 0)) for w in ("start", "end")]
    if all(x is not None for x in load):
        text += f", load average {fmt(load[0])} → {fmt(load[1])}"
    if num(d.get("duration_s")) is not None:
        text += f", {fmt(num(d['duration_s']))} s"
    return text


def machine_lines(docs):
    lines = []
    for d in docs:
        m, b, o = d.get("machine") or {}, d.get("build") or {}, d.get("options") or {}
        rev = str(b.get("git_revision", "unknown"))[:12] + (" (dirty)" if b.get("git_dirty") else "")
        lines.append(
            f"- `{d['_file']}`: started {d.get('started_at', '?')}, "
            f"{ {True: 'quick', False: 'full'}.get(o.get('quick'), 'unknown-length')} run, "
            f"repeat {o.get('repeat', 1)}; "
            f"machine {m.get('hostname', '?')} ({m.get('cpu_model', '?')}, {m.get('cores', '?')} "
            f"cores, {m.get('arch', '?')}), kernel {m.get('kernel', '?')}; "
            f"{b.get('compiler', '?')}, {b.get('build_type', '?')} build, revision {rev}; "
            f"{measurement_mode(d)}")
    return lines


def baseline_table(figs):
    rows = [[m + mode_of(d), f.unit, cell(f)]
            for (d, m), f in sorted(figs.items(), key=lambda x: (mode_of(x[0][0]), x[0][1]))
            if is_baseline(d)]
    return md_table(["baseline", "unit", "value"], rows) if rows else None


def render_markdown(docs, figs, deps):
    out = ["# Seams bench report", ""]
    out += machine_lines(docs) + [""]
    out += ["Cells are medians; `[low–high]` is the 95% bootstrap interval of the median when the "
            "run was repeated. `÷ mono` and `÷ floor` are ratios of medians (for throughput a "
            "ratio above 1 is better, for every other unit below 1 is better). A best figure "
            "whose interval overlaps the runner-up's is not called a win. "
            "\"bimodal in k/n\" beside a figure: k of the n latency histograms behind it have "
            "two modes (the signature of requests that wait for a sleeping CPU), at the two "
            "latencies given. A deployment named `… [pinned]` or `… [no PM QoS]` was measured "
            "that way and is kept apart from the default runs (PM QoS held, not pinned). "
            f"\"{NOT_MEASURED}\" means the deployment or scenario did not run; \"{NO_FAILURE}\" in "
            "a recovery row, that the fault was injected and that path failed no request.", ""]
    notes = run_notes(docs)
    if notes:
        out += ["Runs that did not complete:", ""]
        for dep in sorted(notes):
            for n in sorted(notes[dep]):
                out.append(f"- `{dep}`: {n}")
        out.append("")
    out += tool_failure_section(docs)
    runs = runs_by_dep(docs)
    out += ["## Headline", "", headline_table(deps, figs, runs), ""]
    out += ["## The floor beside each deployment", "",
            "Each deployment's run has the machine's own round-trip floor measured right before "
            "it starts and right after it stops: a 64-byte UNIX-socket ping-pong and a GET-sized "
            "TCP loopback ping-pong (160 bytes out, 4,296 back), each between two processes. A "
            "run whose floor moved by more than 25% (the larger p50 over the smaller) ran on a "
            "machine that changed under it.", ""]
    out += floor_section(docs)
    for key, title, prefixes in SCENARIOS:
        metrics = [m for m in scenario_metrics(figs, prefixes)
                   if not m.startswith("startup interval ")]
        out += [f"## {title}", ""]
        if not metrics:
            out += [f"{NOT_MEASURED.capitalize()} in these runs.", ""]
            continue
        if key in SCENARIO_NOTES:
            out += [SCENARIO_NOTES[key], ""]
        out += [scenario_table(metrics, deps, figs, faults_without_failure(docs), runs), "",
                "**What this means.** " + meaning(title, metrics, deps, figs), ""]
        intervals = start_interval_table(deps, figs) if key == "startup" else None
        if intervals:
            out += ["Each unit's own start, ms: the median over the starts, and in brackets its "
                    "spread (p90 − p50). A service's interval runs from its process's previous "
                    "start event (seamd's first from the spawn; a daemon's first from the "
                    "launcher's spawn of it) to its `started` line; a daemon's (`launcher: "
                    "NAME`) from its spawn to its READY=1.", "", intervals, ""]
    out += ["## Baselines (floors)", ""]
    bt = baseline_table(figs)
    out += [bt if bt else f"{NOT_MEASURED.capitalize()} in these runs.", ""]
    return "\n".join(out)


# --- charts -----------------------------------------------------------------------------------

def runs_by_dep(docs):
    runs = {}
    for d in docs:
        for r in d.get("runs") or []:
            if isinstance(r, dict) and "skipped" not in r and r.get("deployment"):
                runs.setdefault(str(r["deployment"]) + doc_mode(d), []).append(r)
    return runs


def first(runs, dep, *path):
    for r in runs.get(dep, []):
        v = dig(r, *path)
        if v is not None:
            return v
    return None


def cdf_points(hist):
    buckets = dig(hist, "buckets") or []
    total = sum(b[2] for b in buckets if isinstance(b, list) and len(b) == 3)
    pts, acc = [], 0
    for b in buckets:
        if isinstance(b, list) and len(b) == 3 and b[2] > 0:
            acc += b[2]
            pts.append((max(b[1], 1) / 1000.0, acc / total))
    return pts


def gp_quote(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Charts:
    """Writes gnuplot data and scripts under a temporary directory and renders SVG strings."""

    def __init__(self, tmp):
        self.tmp, self.n = tmp, 0
        self.gnuplot = shutil.which("gnuplot")

    def render(self, script_body, datasets, width=760, height=380):
        """datasets: {name: [rows]}; the script refers to them as '$name.dat' files."""
        if not self.gnuplot:
            return None
        self.n += 1
        base = os.path.join(self.tmp, f"c{self.n}")
        for name, rows in datasets.items():
            with open(f"{base}-{name}.dat", "w") as fh:
                for row in rows:
                    fh.write(" ".join(gp_quote(x) if isinstance(x, str) else repr(x)
                                      for x in row) + "\n")
        script = (f"set terminal svg size {width},{height} noenhanced font 'sans,10' background '#ffffff'\n"
                  f"set output '{base}.svg'\nset grid\nset key outside right top\n" +
                  script_body.replace("$DAT(", f"'{base}-").replace(".dat)", ".dat'") + "\n")
        with open(base + ".gp", "w") as fh:
            fh.write(script)
        p = subprocess.run([self.gnuplot, base + ".gp"], capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(base + ".svg"):
            print(f"seam-report: gnuplot failed: {p.stderr.strip()}", file=sys.stderr)
            return None
        with open(base + ".svg") as fh:
            svg = fh.read()
        svg = svg[svg.find("<svg"):]
        # Inline SVGs share one id space: give each chart's ids a prefix of its own.
        prefix = f"c{self.n}_"
        for ident in set(re.findall(r"id=['\"]([^'\"]+)['\"]", svg)):
            svg = re.sub(r"(id=['\"]|#)" + re.escape(ident) + r"(?=['\")])",
                         lambda m: m.group(1) + prefix + ident, svg)
        return svg


def plot_lines(series):
    return ", ".join(series)


def latency_cdf_charts(ch, runs, deps, docs):
    out = []
    ops = []
    for dep in deps:
        for kind, path in (("http", ("http", "closed_loop")), ("fuse", ("fuse", "ops"))):
            for op, levels in (first(runs, dep, *path) or {}).items():
                for level in (levels or {}):
                    if (kind, op, level) not in ops:
                        ops.append((kind, op, level))
    baselines = [b for d in docs for b in (d.get("baselines") or []) if isinstance(b, dict)]
    for kind, op, level in ops:
        data, series = {}, []
        for i, dep in enumerate(deps):
            path = ("http", "closed_loop", op, level) if kind == "http" else ("fuse", "ops", op, level)
            pts = cdf_points(dig(first(runs, dep, *path), "histogram_ns"))
            if pts:
                data[f"d{i}"] = pts
                series.append(f"$DAT(d{i}.dat) using 1:2 with steps lw 2 title {gp_quote(dep)}")
        floors = []
        if kind == "fuse":
            floors = [("direct", ("direct", op, level)), ("peer FUSE", ("passthrough_ll", op, level))]
        elif op.startswith("get_"):
            floors = [("nginx", ("nginx", "get_4k", level))]
        for j, (label, path) in enumerate(floors):
            b = next((dig(x, *path) for x in baselines if dig(x, *path)), None)
            pts = cdf_points(dig(b, "histogram_ns"))
            if pts:
                data[f"b{j}"] = pts
                series.append(f"$DAT(b{j}.dat) using 1:2 with steps lw 1 dt 2 "
                              f"title {gp_quote('floor: ' + label)}")
        if not series:
            continue
        svg = ch.render(
            f"set title {gp_quote(f'{kind} {op} {level}: latency CDF')}\n"
            "set logscale x\nset xlabel 'latency (us, log scale)'\nset ylabel 'fraction of "
            "requests at or below'\nset yrange [0:1.02]\nplot " + plot_lines(series), data)
        out.append((f"{kind} {op} ({level}): latency CDF", svg))
    return out


def sweep_charts(ch, runs, deps):
    out = []
    ops = []
    for dep in deps:
        for op in (first(runs, dep, "http", "open_loop") or {}):
            if op not in ops:
                ops.append(op)
    for op in ops:
        data, series = {}, []
        for i, dep in enumerate(deps):
            pts = []
            for p in dig(first(runs, dep, "http", "open_loop", op), "points") or []:
                x = num(p.get("achieved_rate"))
                p50, p99 = dig(p, "latency", "p50"), dig(p, "latency", "p99")
                if x is not None and num(p50) and num(p99):
                    pts.append((x, num(p50), num(p99)))
            if pts:
                data[f"d{i}"] = sorted(pts)
                series.append(f"$DAT(d{i}.dat) using 1:3 with linespoints lw 2 "
                              f"title {gp_quote(dep + ' p99')}")
                series.append(f"$DAT(d{i}.dat) using 1:2 with linespoints dt 2 "
                              f"title {gp_quote(dep + ' p50')}")
        if not series:
            continue
        svg = ch.render(
            f"set title {gp_quote(f'http {op}: open-loop rate sweep')}\n"
            "set logscale y\nset xlabel 'achieved rate (req/s)'\nset ylabel 'latency from the "
            "scheduled send (us, log scale)'\nplot " + plot_lines(series), data)
        out.append((f"http {op}: throughput vs latency (open loop)", svg))
    return out


def startup_marks(runs, dep):
    """(label, start_ms, end_ms) bars of one deployment's startup, in time order."""
    tl = first(runs, dep, "startup", "timeline")
    # The timeline is {"notify": [...], "services": [{"event", "ms", "who"}]}; older documents
    # wrote the notify list alone.
    notify = tl.get("notify") if isinstance(tl, dict) else tl
    services = tl.get("services") if isinstance(tl, dict) else None
    bars = []
    spans = {}
    opened = {}  # (who, unit) -> ms of its "starting" or "spawned" line
    for e in services if isinstance(services, list) else []:
        ms = num(e.get("ms")) if isinstance(e, dict) else None
        if ms is None:
            continue
        who = str(e.get("who", "?"))
        # Label by process, not pid or thread: "seamd", "split", "seam-fsd".
        proc = "seamd" if who.isdigit() else who.split(" ")[0]
        event = str(e.get("event", ""))
        lo, hi = spans.get(proc, (ms, ms))
        spans[proc] = (min(lo, ms), max(hi, ms))
        # A service's bar: "NAME starting" to "NAME started"; a daemon's: the launcher's
        # "NAME: spawned ..." to its "NAME: ready".
        m = re.match(r"([A-Za-z][\w-]*) (starting|started)$", event)
        d = re.match(r"(\S+): (spawned|ready)\b", event)
        if m and proc != "split":
            key, is_open, label = (proc, m.group(1)), m.group(2) == "starting", m.group(1)
        elif d:
            key, is_open, label = (proc, d.group(1)), d.group(2) == "spawned", "daemon " + d.group(1)
        else:
            continue
        if is_open:
            opened[key] = ms
        elif key in opened:
            bars.append((f"{proc}: {label}", opened.pop(key), ms))
    for proc, (lo, hi) in spans.items():
        bars.append((f"{proc}: process (first to last event)", lo, hi))
    for e in notify if isinstance(notify, list) else []:
        ms = num(e.get("ms")) if isinstance(e, dict) else None
        if ms is None:
            continue
        fields = e.get("fields") or {}
        what = "READY=1" if fields.get("READY") == "1" else ",".join(sorted(fields)) or "notify"
        bars.append((f"pid {e.get('pid', '?')}: {what} received", 0.0, ms))
    for name, key in (("first HTTP GET", "first_http_get"), ("first FUSE stat", "first_fuse_stat")):
        ms = num(dig(first(runs, dep, "startup", key), "median"))
        if ms is not None:
            bars.append((f"client: {name} (median)", 0.0, ms))
    bars.sort(key=lambda b: (b[2], b[1]))
    return bars


def startup_chart(ch, runs, deps):
    out = []
    for dep in deps:
        bars = startup_marks(runs, dep)
        if not bars:
            continue
        rows, tics = [], []
        for y, (label, lo, hi) in enumerate(reversed(bars)):
            hi = max(hi, lo + 0.5)  # an instant event still gets a visible sliver
            rows.append(((lo + hi) / 2, y, (hi - lo) / 2, 0.35, y % 8 + 1))
            tics.append(f"{gp_quote(label)} {y}")
        svg = ch.render(
            f"set title {gp_quote(dep + ': startup, ms after spawn (one bar per service/daemon)')}\n"
            f"set ytics ({', '.join(tics)})\nset yrange [-1:{len(rows)}]\n"
            "set xlabel 'ms after spawn'\nunset key\nset style fill solid 0.6\nset xrange [0:*]\n"
            "plot $DAT(t.dat) using 1:2:3:4:5 with boxxyerror lc variable",
            {"t": rows}, height=max(220, 70 + 18 * len(rows)), width=1000)
        out.append((f"{dep}: startup timeline", svg))
    return out


DRIFT = [("visibility_lag_http_to_fuse", "visibility lag HTTP → FUSE"),
         ("visibility_lag_fuse_to_http", "visibility lag FUSE → HTTP"),
         ("revocation_lag_http", "revocation lag HTTP"),
         ("revocation_lag_fuse", "revocation lag FUSE"),
         ("logout_lag_http", "logout lag HTTP")]


def drift_charts(ch, runs, deps):
    out = []
    for key, title in DRIFT:
        data, series = {}, []
        for i, dep in enumerate(deps):
            samples = []
            for r in runs.get(dep, []):
                samples += [float(s) for s in (dig(r, "drift", key, "samples_ms") or [])
                            if num(s) is not None]
            if samples:
                samples.sort()
                n = len(samples)
                data[f"d{i}"] = [(max(s, 1e-4), (k + 1) / n) for k, s in enumerate(samples)]
                series.append(f"$DAT(d{i}.dat) using 1:2 with steps lw 2 "
                              f"title {gp_quote(f'{dep} (n={n})')}")
        if not series:
            continue
        svg = ch.render(
            f"set title {gp_quote(title + ': distribution over trials')}\nset logscale x\n"
            "set xlabel 'lag (ms, log scale; 0 drawn at 1e-4)'\nset ylabel 'fraction of trials "
            "at or below'\nset yrange [0:1.02]\nplot " + plot_lines(series), data)
        out.append((title, svg))
    return out


def memory_chart(ch, runs, deps):
    rows = []
    for dep in deps:
        vals = [num(first(runs, dep, "memory", *p)) for p in
                (("after_warmup", "pss"), ("under_load", "pss"), ("under_load", "uss"),
                 ("under_load", "rss"))]
        if any(v is not None for v in vals):
            rows.append([dep] + [v if v is not None else 0 for v in vals])
    if not rows:
        return []
    svg = ch.render(
        "set title 'memory of the whole deployment (all its processes)'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.7 border -1\nset ylabel 'MiB'\nset yrange [0:*]\n"
        "set xtics rotate by -20\n"
        "plot $DAT(m.dat) using 2:xtic(1) title 'PSS after warm-up', '' using 3 title 'PSS under "
        "load', '' using 4 title 'USS under load', '' using 5 title 'RSS under load'",
        {"m": rows})
    return [("memory per deployment", svg)]


def floor_chart(ch, docs):
    """Each deployment run's floors before and after it, beside its cached-GET c1 p50."""
    rows = []
    for dep, r in floor_runs(docs):
        vals = [num(dig(r, "floor", w, k, "latency", "p50"))
                for k in ("unix", "tcp") for w in ("before", "after")]
        vals.append(num(dig(r, "http", "closed_loop", "get_cached", "c1", "latency", "p50")))
        label = f"{dep} #{r.get('repeat', '?')}" + (" (moved)" if dig(r, "floor", "moved") is True
                                                    else "")
        rows.append([label] + [v if v is not None else math.nan for v in vals])
    if not rows:
        return []
    svg = ch.render(
        "set title 'the floor before and after each deployment run, beside its cached GET c1 p50'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.7 border -1\nset ylabel 'p50 (us, log scale)'\nset logscale y\n"
        "set yrange [1:*]\nset xtics rotate by -30\n"
        "plot $DAT(f.dat) using 2:xtic(1) title 'UNIX ping-pong before', '' using 3 title "
        "'UNIX ping-pong after', '' using 4 title 'TCP GET-sized before', '' using 5 title "
        "'TCP GET-sized after', '' using 6 title 'http get_cached c1 p50'",
        {"f": rows}, width=max(760, 60 * len(rows) + 300), height=420)
    return [("the floor beside each deployment run", svg)]


def fault_charts(ch, runs, deps):
    out = []
    for dep in deps:
        rows = []
        for kind in ("soft", "hard"):
            for f in first(runs, dep, "fault", kind) or []:
                if not isinstance(f, dict):
                    continue
                who = f.get("service") or f.get("host") or f.get("daemon") or "?"
                for path in ("http", "fuse"):
                    p = f.get(path)
                    if not isinstance(p, dict):
                        continue
                    req, failed = num(p.get("requests")) or 0, num(p.get("failed")) or 0
                    slow = num(p.get("slow")) or 0
                    rec = num(p.get("recovery"))
                    # recovery < 0: the path had not recovered by the end of the window.
                    rows.append([f"{kind} {who} / {path}", max(req - failed - slow, 0), slow,
                                 failed, rec if rec is not None and rec >= 0 else math.nan])
        if not rows:
            continue
        svg = ch.render(
            f"set title {gp_quote(dep + ': requests during each injected fault (errors in red)')}\n"
            "set style data histograms\nset style histogram rowstacked\nset boxwidth 0.7\n"
            "set style fill solid 0.7 border -1\nset ylabel 'requests in the fault window'\n"
            "set y2label 'recovery (ms)'\nset y2tics\nset ytics nomirror\nset yrange [0:*]\n"
            "set y2range [0:*]\nset xtics rotate by -30\n"
            "plot $DAT(f.dat) using 2:xtic(1) lc rgb '#4c9a2a' title 'served', '' using 3 "
            "lc rgb '#e0a030' title 'slow', '' using 4 lc rgb '#d62728' title 'failed', "
            "'' using 0:5 axes x1y2 with points pt 7 ps 1.2 lc rgb 'black' title 'recovery (ms)'",
            {"f": rows}, width=900, height=420)
        out.append((f"{dep}: fault outcomes", svg))
    return out


def fault_timeline_charts(ch, runs, deps):
    """Per deployment, the whole fault scenario as a time series: requests served per 100 ms on
    each path, failures as red/orange spikes, the caches' hit ratio on the right axis, and a
    numbered dashed line at each injected fault."""
    out = []
    for dep in deps:
        tl = first(runs, dep, "fault", "timeline")
        if not isinstance(tl, dict) or not tl.get("http_ok"):
            continue
        bin_s = (num(tl.get("bin_ms")) or 100) / 1000.0
        cols = [tl.get(k) or [] for k in ("http_ok", "http_failed", "fuse_ok", "fuse_failed",
                                           "cache_hit_ratio")]
        n = max(len(c) for c in cols)
        rows = []
        for i in range(n):
            vals = [num(c[i]) if i < len(c) else None for c in cols]
            rows.append([i * bin_s] + [v if v is not None else (math.nan if k == 4 else 0)
                                       for k, v in enumerate(vals)])
        marks, legend = [], []
        for k, f in enumerate(tl.get("faults") or [], 1):
            t = num(f.get("t_s")) if isinstance(f, dict) else None
            if t is None:
                continue
            marks.append(f"set arrow from {t},graph 0 to {t},graph 1 nohead dt 3 lc rgb '#555555'\n"
                         f"set label {gp_quote(str(k))} at {t},graph 1.03 center\n")
            legend.append(f"{k}: {f.get('fault', '?')}")
        svg = ch.render(
            f"set title {gp_quote(dep + ': fault scenario over time (100 ms bins; numbered lines = faults)')}\n"
            + "".join(marks) +
            "set xlabel 'seconds since the load started'\nset ylabel 'requests per bin'\n"
            "set y2label 'cache hit ratio'\nset y2range [0:1.05]\nset y2tics\nset ytics nomirror\n"
            "set yrange [0:*]\nset offsets 0, 0, graph 0.08, 0\nset tmargin 4\n"
            "plot $DAT(t.dat) using 1:2 with steps lw 2 lc rgb '#4c9a2a' title 'HTTP served', "
            "'' using 1:4 with steps lw 2 lc rgb '#1f77b4' title 'FUSE served', "
            "'' using 1:3 with impulses lw 3 lc rgb '#d62728' title 'HTTP failed', "
            "'' using 1:5 with impulses lw 3 lc rgb '#ff7f0e' title 'FUSE failed', "
            "'' using 1:6 axes x1y2 with lines dt 2 lc rgb '#888888' title 'cache hit ratio'",
            {"t": rows}, width=1000, height=420)
        if svg:
            svg += "<p class=\"legend\">" + html.escape("; ".join(legend)) + "</p>"
        out.append((f"{dep}: fault timeline", svg))
    return out


def render_html(docs, figs, deps, md_text, with_charts=True):
    sections = []
    if with_charts:
        runs = runs_by_dep(docs)
        with tempfile.TemporaryDirectory(prefix="seam-report-") as tmp:
            ch = Charts(tmp)
            groups = [
                ("The floor beside each deployment", floor_chart(ch, docs)),
                ("Latency CDFs (closed loop, per operation)", latency_cdf_charts(ch, runs, deps, docs)),
                ("Throughput vs latency (open-loop rate sweep)", sweep_charts(ch, runs, deps)),
                ("Startup timeline", startup_chart(ch, runs, deps)),
                ("Visibility and revocation lag", drift_charts(ch, runs, deps)),
                ("Memory", memory_chart(ch, runs, deps)),
                ("Fault recovery", fault_timeline_charts(ch, runs, deps)
                 + fault_charts(ch, runs, deps)),
            ]
            for title, charts in groups:
                body = [f"<h2>{html.escape(title)}</h2>"]
                drawn = [(t, s) for t, s in charts if s]
                if not drawn:
                    body.append(f"<p class='nm'>{NOT_MEASURED} in these runs.</p>")
                for t, svg in drawn:
                    body.append(f"<figure class='chart'><figcaption>{html.escape(t)}</figcaption>"
                                f"{svg}</figure>")
                sections.append("\n".join(body))
    tables = md_to_html(md_text)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>Seams bench report</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:1400px}"
            "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
            "td:first-child,th:first-child{text-align:left}th{background:#f0f0f0}"
            "figure.chart svg{max-width:100%;height:auto}figcaption{font-weight:bold}"
            ".nm{color:#888}</style></head><body>\n" + tables + "\n" + "\n".join(sections) +
            "\n</body></html>\n")


def md_inline(s):
    s = html.escape(s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", s)


def md_to_html(md):
    """The small Markdown subset render_markdown writes: headings, lists, tables, paragraphs."""
    out, lines, i = [], md.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            i += 1
            block = []
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(html.escape(lines[i]))
                i += 1
            out.append("<pre>" + "\n".join(block) + "</pre>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{md_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("| "):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            cells = [[c.strip() for c in r.strip().strip("|").split(" | ")] for r in rows]
            out.append("<table><tr>" + "".join(f"<th>{md_inline(c)}</th>" for c in cells[0]) +
                       "</tr>" + "".join("<tr>" + "".join(f"<td>{md_inline(c)}</td>" for c in r) +
                                         "</tr>" for r in cells[2:]) + "</table>")
            continue
        elif line.startswith("- "):
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                out.append(f"<li>{md_inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        elif line.strip():
            out.append(f"<p>{md_inline(line)}</p>")
        i += 1
    return "\n".join(out)


def report_command(args):
    docs = load_docs(args.inputs)
    if not docs:
        print("seam-report: no seam-bench JSON found in " + " ".join(args.inputs), file=sys.stderr)
        return 2
    figs = summary_figures(docs)
    deps = deployments_of(docs, figs)
    out = args.out or (args.inputs[0] if os.path.isdir(args.inputs[0]) else
                       os.path.dirname(os.path.abspath(args.inputs[0])))
    os.makedirs(out, exist_ok=True)
    md = render_markdown(docs, figs, deps)
    head = headline_table(deps, figs, runs_by_dep(docs))
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(out, "headline.md"), "w") as fh:
        fh.write(head + "\n")
    with open(os.path.join(out, "report.html"), "w") as fh:
        fh.write(render_html(docs, figs, deps, md, with_charts=not args.no_charts))
    if not args.quiet:
        print(head)
        print(f"\nseam-report: wrote {out}/report.md, {out}/report.html")
    return 0


# --- compare ----------------------------------------------------------------------------------

def compare_command(args):
    base_docs, new_docs = load_docs([args.base]), load_docs([args.new])
    if not base_docs or not new_docs:
        print("seam-report compare: no seam-bench JSON in BASE or NEW", file=sys.stderr)
        return 2
    # A directory means its newest document.
    base, new = summary_figures(base_docs[-1:]), summary_figures(new_docs[-1:])
    threshold = args.threshold
    flagged, regressions = [], 0
    for key in sorted(set(base) | set(new)):
        b, n = base.get(key), new.get(key)
        if b is None or n is None:
            flagged.append((key, "only in " + ("NEW" if b is None else "BASE"), "", "", "", ""))
            continue
        if not comparable(b.unit):
            continue
        if b.median == 0:
            change = 0.0 if n.median == 0 else math.inf
        else:
            change = (n.median - b.median) / abs(b.median) * 100
        worse = change < 0 if higher_is_better(b.unit) else change > 0
        if b.has_ci() or n.has_ci():
            moved = n.low > b.high or n.high < b.low
            basis = "95% CIs do not overlap" if moved else ""
        else:
            moved = abs(change) > threshold
            basis = f"beyond ±{threshold:g}% (no CI)" if moved else ""
        if not moved:
            continue
        if worse and abs(change) > threshold:
            verdict = "REGRESSION"
            regressions += 1
        elif worse:
            verdict = "worse (within threshold)"
        else:
            verdict = "better"
        flagged.append((key, verdict, f"{fmt(b.median)} {b.unit}", f"{fmt(n.median)} {n.unit}",
                        f"{change:+.1f}%", basis))
    rows = [[f"`{d}`", m, v, bm, nm, c, basis] for (d, m), v, bm, nm, c, basis in flagged]
    if rows:
        print(md_table(["deployment", "metric", "verdict", "base", "new", "change", "why flagged"],
                       rows))
    else:
        print("No figure moved beyond its noise.")
    print(f"\n{len([r for r in flagged if r[1] not in ('',)])} figure(s) flagged, "
          f"{regressions} regression(s) past {threshold:g}%.")
    return 1 if regressions else 0


SPREAD_METRICS = ["http get_cached c1 p50", "floor tcp ping-pong GET-sized p50",
                  "floor unix ping-pong 64B p50", "nginx GET 4K c1 p50"]


def spread_command(args):
    runs = []
    for path in args.runs:
        docs = load_docs([path])
        if not docs:
            print(f"seam-report spread: no seam-bench JSON in {path}", file=sys.stderr)
            return 2
        runs.append((path, docs[-1], summary_figures(docs[-1:])))
    metrics = args.metric or SPREAD_METRICS
    header = ["metric", "deployment"] + [f"run {i + 1}" for i in range(len(runs))] + [
        "spread", f"within {args.goal:g}%"]
    rows, outside = [], []
    for metric in metrics:
        deps = []
        for _, _, figs in runs:
            for d, m in figs:
                if m == metric and d not in deps:
                    deps.append(d)
        for dep in sorted(deps, key=deployment_key):
            vals = [figs.get((dep, metric)) for _, _, figs in runs]
            # Over the runs that have the figure: runs of another mode name it differently.
            meds = [v.median for v in vals if v is not None]
            if len(meds) >= 2 and min(meds) > 0:
                spread = max(meds) / min(meds) - 1
                ok = spread * 100 <= args.goal
                if not ok:
                    outside.append(f"`{dep}` {metric}")
                tail = [f"{spread * 100:.0f}%", "yes" if ok else "**no**"]
            else:
                tail = ["–", "–"]
            rows.append([metric, f"`{dep}`"] + [cell(v, absent="–") for v in vals] + tail)
    for i, (path, doc, _) in enumerate(runs):
        print(f"- run {i + 1}: `{path}`, started {doc.get('started_at', '?')}; "
              f"{measurement_mode(doc)}")
    print()
    print(md_table(header, rows))
    compared = len([r for r in rows if r[-1] != "–"])
    print(f"\n{compared - len(outside)} of {compared} figures within {args.goal:g}% across the "
          f"runs" + (f"; outside: {', '.join(outside)}." if outside else "."))
    return 0


def load_counts(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("tool") != "seam-counts":
        raise ValueError(f"{path}: not a seam-counts document")
    return {op["op"]: op for op in doc.get("ops", [])}, doc


def counts_rows(base, new, warn, fail):
    """(rows, failures, flagged) for the counts table; rows are lists of cells."""
    rows, failures, flagged = [], [], []
    for name in list(base) + [n for n in new if n not in base]:
        b, n = base.get(name), new.get(name)
        if n is None:
            rows.append([f"`{name}`", fmt_count(b["instructions_per_op"]), "–", "–",
                         fmt_count(b["allocations_per_op"]), "–", "FAIL: missing from NEW"])
            failures.append(name)
            continue
        if b is None:
            rows.append([f"`{name}`", "–", fmt_count(n["instructions_per_op"]), "–", "–",
                         fmt_count(n["allocations_per_op"]), "new (not in the baseline)"])
            continue
        bi, ni = b["instructions_per_op"], n["instructions_per_op"]
        change = (ni / bi - 1) * 100 if bi else (0.0 if ni == 0 else math.inf)
        ba, na = b["allocations_per_op"], n["allocations_per_op"]
        notes = []
        if change > fail:
            notes.append(f"FAIL: +{change:.1f}% > +{fail:g}%")
            failures.append(name)
        elif change > warn:
            notes.append(f"flagged: +{change:.1f}% > +{warn:g}%")
            flagged.append(name)
        if na > ba * (1 + warn / 100) and na - ba >= 0.005:
            notes.append(f"flagged: allocations {fmt_count(ba)} -> {fmt_count(na)}")
            if name not in flagged and name not in failures:
                flagged.append(name)
        rows.append([f"`{name}`", fmt_count(bi), fmt_count(ni), f"{change:+.2f}%", fmt_count(ba),
                     fmt_count(na), "; ".join(notes) or "ok"])
    return rows, failures, flagged


def fmt_count(v):
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def counts_command(args):
    try:
        base, base_doc = load_counts(args.base)
        new, new_doc = load_counts(args.new)
    except (OSError, ValueError) as e:
        print(f"seam-report counts: {e}", file=sys.stderr)
        return 2
    rows, failures, flagged = counts_rows(base, new, args.warn, args.fail)
    header = ["op", "base Ir/op", "new Ir/op", "change", "base allocs/op", "new allocs/op",
              "verdict"]
    label = lambda d, p: d.get("label") or os.path.basename(p)
    text = (f"Instructions (callgrind Ir) and allocations per operation: "
            f"{label(base_doc, args.base)} -> {label(new_doc, args.new)} "
            f"({new_doc.get('iterations', '?')} iterations per op)\n\n" + md_table(header, rows))
    if failures:
        text += (f"\n\nFAIL: {', '.join(failures)} grew by more than {args.fail:g}% (or went "
                 f"missing). If the growth is intended, update the baseline in the same commit "
                 f"(scripts/counts.sh --update) and say why in its message.")
    elif flagged:
        text += f"\n\nflagged (more than {args.warn:g}%, not failing): {', '.join(flagged)}."
    else:
        text += f"\n\nevery operation within +{args.warn:g}%."
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 1 if failures else 0


def main(argv):
    if argv and argv[0] == "counts":
        p = argparse.ArgumentParser(prog="seam-report counts",
                                    description="compare two seam-counts documents")
        p.add_argument("base", help="BASE.json (e.g. bench/counts/baseline.json)")
        p.add_argument("new", help="NEW.json (seam-counts --out)")
        p.add_argument("--warn", type=float, default=5.0, help="percent flagged (default 5)")
        p.add_argument("--fail", type=float, default=15.0, help="percent failed (default 15)")
        p.add_argument("--out", help="also write the table (Markdown) to this file")
        return counts_command(p.parse_args(argv[1:]))
    if argv and argv[0] == "spread":
        p = argparse.ArgumentParser(prog="seam-report spread",
                                    description="the same figures of several runs, and their spread")
        p.add_argument("runs", nargs="+", help="RUN.json or a directory (its newest seam-bench JSON)")
        p.add_argument("--metric", action="append",
                       help="a summary metric (repeatable; default: c1 cached GET p50, the floors, "
                            "nginx c1 p50)")
        p.add_argument("--goal", type=float, default=15.0, help="percent (default 15)")
        return spread_command(p.parse_args(argv[1:]))
    if argv and argv[0] == "compare":
        p = argparse.ArgumentParser(prog="seam-report compare",
                                    description="flag figures that moved beyond their noise")
        p.add_argument("base", help="BASE.json (or a directory: its newest seam-bench JSON)")
        p.add_argument("new", help="NEW.json (or a directory)")
        p.add_argument("--threshold", type=float, default=10.0,
                       help="percent: a worse move past it is a regression (exit 1); also the "
                            "noise bound for figures without a confidence interval (default 10)")
        return compare_command(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser(
        prog="seam-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="DIR|FILE", help="seam-bench JSON, or folders of it")
    p.add_argument("--out", help="output folder (default: the first DIR)")
    p.add_argument("--no-charts", action="store_true", help="skip gnuplot (tables only)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return report_command(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

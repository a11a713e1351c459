"""Reading seam-bench documents, and the statistics over them: summary figures with bootstrap
confidence intervals, deployments and modes of measurement, latency histograms and their modes."""
import glob
import gzip
import json
import math
import os
import random
import re
import statistics
import sys


DEPLOYMENT_ORDER = ["mono", "split/capnp/push", "split/capnp/off", "split/capnp/ttl",
                    "split/protobuf/push", "split/protobuf/off", "split/protobuf/ttl",
                    "split/grpc/push", "split/grpc/off", "split/grpc/ttl"]


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


def higher_is_better(unit):
    return unit.endswith("/s")


def comparable(unit):
    return unit not in ("ratio",)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


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


# Per-request CPU time and context switches, recorded in each run's HTTP and FUSE load points but
# not in the summary: (scenario path, per-request key, metric suffix, unit).
PER_REQUEST = [
    (("http", "closed_loop"), "cpu_per_request", "CPU-us per request", "CPU-us"),
    (("http", "closed_loop"), "ctx_switches_per_request", "context switches per request", "1"),
    (("fuse", "ops"), "cpu_per_op", "CPU-us per op", "CPU-us"),
    (("fuse", "ops"), "ctx_switches_per_op", "context switches per op", "1"),
]


def derived_figures(docs, figs):
    """{(deployment, metric): Figure} of the per-request CPU-µs and context switches of every
    HTTP and FUSE load point ("http get_cached c1 CPU-us per request", ...), the median over the
    runs with its bootstrap interval, for the keys `figs` does not already have."""
    values = {}
    for d in docs:
        mode = doc_mode(d)
        for r in d.get("runs") or []:
            if not isinstance(r, dict) or "skipped" in r or not r.get("deployment"):
                continue
            dep = str(r["deployment"]) + mode
            for path, key, suffix, unit in PER_REQUEST:
                for op, levels in (dig(r, *path) or {}).items():
                    for level, load in (levels or {}).items() if isinstance(levels, dict) else []:
                        v = num(dig(load, key))
                        if v is not None:
                            metric = f"{path[0]} {op} {level} {suffix}"
                            values.setdefault((dep, metric), (unit, []))[1].append(v)
    out = {}
    for k, (unit, vals) in values.items():
        if k not in figs:
            lo, hi = bootstrap_ci(vals)
            out[k] = Figure(statistics.median(vals), lo, hi, unit, len(vals))
    return out

"""The Verdict section: one daemon against the best split deployment, dimension by dimension, the
break-even of the boundary tax (from the model's `breakeven`), and sentences in plain words.

Every number printed here comes from the documents: a dimension whose figure is missing on either
side reads "not measured" and is not counted; a sentence whose figures are missing is not written.

"Clear" means the two 95% intervals do not overlap. The interval of a figure is the bootstrap 95%
interval of the median over its repeats (seam-bench's own for summary figures, load.bootstrap_ci
for the figures derived here from the runs). With two repeats that interval is the range of the
two values: wide, so a difference must be large to be called clear; with one sample there is no
interval and nothing is called clear.

The table is built from DIMENSIONS, a list of Dimension: a later issue adds a row (security,
corruption, upgrade) by appending one with a function that reads its figure.
"""
import math
import re
import statistics

from .load import base_name, bootstrap_ci, dig, mode_of, num


NOT_MEASURED = "not measured"


class Estimate:
    """One deployment's figure for a dimension: a median with its 95% interval over n samples, or
    a state that is not a number ("not recovered")."""

    def __init__(self, median, low=None, high=None, n=1, state=None):
        self.median = median
        self.low = median if low is None else low
        self.high = median if high is None else high
        self.n, self.state = n, state

    @classmethod
    def of_values(cls, values):
        values = [v for v in values if v is not None]
        if not values:
            return None
        lo, hi = bootstrap_ci(values)
        return cls(statistics.median(values), lo, hi, len(values))

    @classmethod
    def of_figure(cls, fig):
        return None if fig is None else cls(fig.median, fig.low, fig.high, fig.n)

    def has_interval(self):
        return self.state is None and self.n > 1


class Dimension:
    """A row of the decision table. `read(ctx, dep)` returns an Estimate or None (not measured);
    `unit` is printed after the figures; lower is better unless `higher_is_better`."""

    def __init__(self, key, title, unit, read, higher_is_better=False, what="", diff_unit=None):
        self.key, self.title, self.unit, self.read = key, title, unit, read
        self.higher_is_better, self.what = higher_is_better, what
        # The unit of a difference (a difference of percentages is in points).
        self.diff_unit = diff_unit or unit


class Context:
    """What a dimension reads: the pooled summary figures and the runs per deployment (with the
    documents' mode suffix, as load.runs_by_dep names them)."""

    def __init__(self, docs, figs, runs):
        self.docs, self.figs, self.runs = docs, figs, runs


def summary_metric(metric):
    def read(ctx, dep):
        return Estimate.of_figure(ctx.figs.get((dep, metric)))
    return read


def summary_metric_like(pattern):
    """The summary metric matching `pattern` with the largest load (cN/tN): throughput at the
    run's N connections, whatever N was."""
    rx = re.compile(pattern)

    def read(ctx, dep):
        best = None
        for (d, m), fig in ctx.figs.items():
            mm = rx.match(m)
            if d == dep and mm:
                level = int(mm.group(1))
                if best is None or level > best[0]:
                    best = (level, fig)
        return Estimate.of_figure(best[1]) if best else None
    return read


def per_run(path, key):
    """A per-request figure recorded in each run (e.g. CPU-µs of the cached GET at c1): the
    median over the runs with its bootstrap interval."""
    def read(ctx, dep):
        return Estimate.of_values([num(dig(r, *path, key)) for r in ctx.runs.get(dep, [])])
    return read


def fault_entries(run):
    fault = run.get("fault") if isinstance(run, dict) else None
    if not isinstance(fault, dict):
        return []
    return [f for kind in ("soft", "hard") for f in (fault.get(kind) or []) if isinstance(f, dict)]


def blast_radius(ctx, dep):
    """Per run, the mean over its injected faults of the share of requests (HTTP and FUSE
    together) that failed in the fault's window, in percent; then the median over runs."""
    values = []
    for r in ctx.runs.get(dep, []):
        shares = []
        for f in fault_entries(r):
            req = sum(num(dig(f, p, "requests")) or 0 for p in ("http", "fuse"))
            failed = sum(num(dig(f, p, "failed")) or 0 for p in ("http", "fuse"))
            if req > 0:
                shares.append(100.0 * failed / req)
        if shares:
            values.append(statistics.mean(shares))
    return Estimate.of_values(values)


def worst_recovery(ctx, dep):
    """Per run, the longest recovery (ms) of any path after any fault; a path that had not
    recovered by the end of its window (the bench records a negative recovery) makes the run's
    figure the state "not recovered", which loses to every number."""
    values, never, measured = [], 0, 0
    for r in ctx.runs.get(dep, []):
        recs, before = [], never
        for f in fault_entries(r):
            for p in ("http", "fuse"):
                rec = num(dig(f, p, "recovery"))
                if rec is None or not isinstance(f.get(p), dict):
                    continue
                if rec < 0:
                    never += 1
                else:
                    recs.append(rec)
        if recs:
            values.append(max(recs))
        measured += bool(recs) or never > before
    if never:
        return Estimate(math.inf, n=measured, state="not recovered")
    return Estimate.of_values(values)


DIMENSIONS = [
    Dimension("hot_read", "hot read latency", "us", summary_metric("http get_cached c1 p50"),
              what="HTTP GET of a cached 4 KiB file, 1 connection, p50"),
    Dimension("cold_read", "cold read latency", "us", summary_metric("http get_uncached c1 p50"),
              what="HTTP GET of a file not in the cache, 1 connection, p50"),
    Dimension("write", "write latency", "us", summary_metric("http put c1 p50"),
              what="HTTP PUT of 4 KiB (fsynced), 1 connection, p50"),
    Dimension("throughput", "throughput", "req/s",
              summary_metric_like(r"http get_cached c(\d+) throughput$"), higher_is_better=True,
              what="cached GETs per second at N connections"),
    Dimension("cpu", "CPU per request", "CPU-us",
              per_run(("http", "closed_loop", "get_cached", "c1"), "cpu_per_request"),
              what="CPU time of the deployment's processes per cached GET, 1 connection"),
    Dimension("ctx", "context switches per request", "switches",
              per_run(("http", "closed_loop", "get_cached", "c1"), "ctx_switches_per_request"),
              what="per cached GET, 1 connection"),
    Dimension("memory", "memory", "MiB", summary_metric("memory PSS under load"),
              what="PSS of all the deployment's processes under load"),
    Dimension("twice", "cache bytes held twice", "KiB", summary_metric("memory cache held twice"),
              what="FS-cache bytes held by more than one process's cache"),
    Dimension("startup", "startup", "ms", summary_metric("startup spawn->READY=1"),
              what="spawn to READY=1"),
    Dimension("shutdown", "shutdown", "ms", summary_metric("shutdown stop->all gone"),
              what="SIGTERM to every process gone"),
    Dimension("visibility", "drift: visibility", "ms",
              summary_metric("drift visibility FUSE->HTTP (median)"),
              what="a FUSE write until HTTP reads return it, median over trials"),
    Dimension("stale", "drift: stale reads", "ratio", summary_metric("drift stale-read ratio"),
              what="reads that returned an older version than an acknowledged write"),
    Dimension("revocation", "drift: revocation", "ms",
              summary_metric("drift revocation lag FUSE (median)"),
              what="a revoked rule until FUSE reads are refused, median over trials"),
    Dimension("blast", "fault blast radius", "% failed", blast_radius, diff_unit="points",
              what="share of the requests (HTTP and FUSE) failed in a fault's window, mean over "
                   "the faults injected"),
    Dimension("recovery", "fault recovery", "ms", worst_recovery,
              what="longest time from a fault to the first success after the last failure"),
]


def is_split(dep):
    return base_name(dep).startswith("split/")


def verdict_mode(deps):
    """The mode the verdict compares in: the default one when mono was measured in it, else
    mono's first mode."""
    modes = [mode_of(d) for d in deps if base_name(d) == "mono"]
    if "" in modes or not modes:
        return ""
    return modes[0]


class Row:
    def __init__(self, dim, mono, split_dep, split, winner, margin, clear):
        self.dim, self.mono, self.split_dep, self.split = dim, mono, split_dep, split
        self.winner, self.margin, self.clear = winner, margin, clear


def better(dim, a, b):
    """-1 when a is better, 1 when b is, 0 for a tie. A state (not recovered) loses to a number."""
    if a.state or b.state:
        if a.state and b.state:
            return 0
        return 1 if a.state else -1
    if a.median == b.median:
        return 0
    lower = a.median < b.median
    return -1 if lower != dim.higher_is_better else 1


def best_split(dim, ctx, splits):
    found = [(d, dim.read(ctx, d)) for d in splits]
    found = [(d, e) for d, e in found if e is not None]
    if not found:
        return None, None
    best = found[0]
    for d, e in found[1:]:
        if better(dim, e, best[1]) < 0:
            best = (d, e)
    return best


def fmt_num(x):
    from .tables import fmt
    return fmt(x)


def margin_text(dim, w, l):
    """How much better the winner's median is than the loser's: a factor when both are positive,
    and the difference in the dimension's unit."""
    diff = abs(w.median - l.median)
    word = "more" if dim.higher_is_better else "less"
    text = f"{fmt_num(diff)} {dim.diff_unit} {word}"
    lo, hi = sorted((w.median, l.median))
    if lo > 0:
        text += f" ({hi / lo:.2f}×)" if hi / lo < 10 else f" ({hi / lo:.0f}×)"
    return text


def clear_text(a, b):
    if not (a.has_interval() and b.has_interval()):
        return "no: one sample, no interval"
    if a.high < b.low or b.high < a.low:
        return "yes"
    return "no: intervals overlap"


def decide(dims, ctx, deps):
    """A Row per dimension: mono's figure, the best split deployment's, the winner and margin."""
    mode = verdict_mode(deps)
    mono = "mono" + mode
    splits = [d for d in deps if is_split(d) and mode_of(d) == mode]
    rows = []
    for dim in dims:
        m = dim.read(ctx, mono)
        sd, s = best_split(dim, ctx, splits)
        if m is None or s is None:
            rows.append(Row(dim, m, sd, s, None, None, None))
            continue
        b = better(dim, m, s)
        if b == 0:
            rows.append(Row(dim, m, sd, s, "tie", "–", "–"))
            continue
        w, l, name = (m, s, mono) if b < 0 else (s, m, sd)
        if w.state is None and l.state is not None:
            # A state against a number: as clear as the samples behind it allow.
            clear = "yes" if w.n > 1 and l.n > 1 else "no: one sample, no interval"
            rows.append(Row(dim, m, sd, s, name, f"the other: {l.state}", clear))
            continue
        rows.append(Row(dim, m, sd, s, name, margin_text(dim, w, l), clear_text(m, s)))
    return rows


def est_cell(e, unit):
    if e is None:
        return NOT_MEASURED
    if e.state:
        return e.state
    text = fmt_num(e.median)
    if e.has_interval() and e.high > e.low:
        text += f" [{fmt_num(e.low)}–{fmt_num(e.high)}]"
    return text


def decision_table(rows):
    from .tables import md_table
    out = []
    for r in rows:
        label = f"{r.dim.title} ({r.dim.unit})"
        if r.mono is None and r.split is None:
            # Nothing on either side: one cell says so, the rest stay empty.
            out.append([label, NOT_MEASURED, "–", "–", "–", "–"])
            continue
        if r.mono is None or r.split is None:
            # One side missing: its cell says "not measured", nothing is compared.
            split = NOT_MEASURED if r.split is None else (f"{est_cell(r.split, r.dim.unit)} "
                                                          f"(`{r.split_dep}`)")
            out.append([label, est_cell(r.mono, r.dim.unit), split, "–", "–", "–"])
            continue
        out.append([label, est_cell(r.mono, r.dim.unit),
                    f"{est_cell(r.split, r.dim.unit)} (`{r.split_dep}`)",
                    "tie" if r.winner == "tie" else f"**`{r.winner}`**" if r.clear == "yes"
                    else f"`{r.winner}`", r.margin, r.clear])
    return md_table(["dimension (unit)", "one daemon", "best split deployment", "winner",
                     "margin", "clear (95% intervals apart)?"], out)


# --- the model and the sweep (doc["model"], doc["sweep"]; see the contract in bench/README) ---

def latest_with(docs, key):
    for d in reversed(docs):
        if isinstance(d.get(key), dict):
            return d[key]
    return None


def model_param(model, dep, which, name):
    for p in dig(model, "deployments", dep, which, "params") or []:
        if isinstance(p, dict) and p.get("name") == name and num(p.get("value")) is not None:
            ci = p.get("ci95") if isinstance(p.get("ci95"), list) else None
            return num(p["value"]), ci
    return None, None


CODEC_NAMES = {"capnp": "Cap'n Proto", "protobuf": "protobuf", "grpc": "gRPC"}


def codec_of(dep):
    parts = base_name(dep).split("/")
    return CODEC_NAMES.get(parts[1], parts[1]) if len(parts) > 1 else dep


def breakeven_at(model, dep, which="work_us_at_10pct"):
    """(calls, work) at the smallest calls per request of the model's break-even grid."""
    be = dig(model, "deployments", dep, "breakeven")
    if not isinstance(be, dict) or not be.get("calls"):
        return None, None
    return be["calls"][0], num(dig(be, which, 0))


# --- the sentences ---

def both(r):
    """Whether a row has a figure on both sides (a sentence about it can be written)."""
    return r is not None and r.mono is not None and r.split is not None


def sentences(rows, docs, deps):
    """Five to eight sentences in plain words, each from figures present in the documents."""
    out = []
    model = latest_with(docs, "model")
    by_key = {r.dim.key: r for r in rows}
    mode = verdict_mode(deps)
    splits = [d for d in deps if is_split(d) and mode_of(d) == mode]

    # 1. The cost of one call across the seam, per codec, from the model's fitted `a`.
    costs = []
    for dep in (base_name(d) for d in splits):
        a, a_ci = model_param(model, dep, "latency", "a")
        c, _ = model_param(model, dep, "cpu", "a")
        if a is None:
            continue
        text = f"{fmt_num(a)} µs"
        if a_ci and len(a_ci) == 2 and all(num(x) is not None for x in a_ci):
            text += f" (95% interval {fmt_num(num(a_ci[0]))}–{fmt_num(num(a_ci[1]))})"
        if c is not None:
            text += f" and {fmt_num(c)} CPU-µs"
        costs.append(f"{text} with {codec_of(dep)} (`{dep}`)")
    if costs:
        out.append("On this machine a call across the seam costs " + "; ".join(costs) +
                   " (the fitted per-call term `a` of the model).")

    # 2. Break-even: the work per call above which the latency tax is under 10% and 1%.
    for dep in (base_name(d) for d in splits):
        k, w10 = breakeven_at(model, dep)
        _, w1 = breakeven_at(model, dep, "work_us_at_1pct")
        payload = num(dig(model, "deployments", dep, "breakeven", "payload_bytes"))
        if w10 is None and w1 is None:
            continue
        parts = []
        if w10 is not None:
            parts.append(f"less than 10% of latency once each call carries more than "
                         f"{fmt_num(w10)} µs of work")
        if w1 is not None:
            parts.append(f"less than 1% above {fmt_num(w1)} µs")
        tail = f" ({k} call(s) per request" + (f", {fmt_num(payload)}-byte replies)" if payload
                                               else ")")
        out.append(f"With `{dep}`, splitting costs " + ", and ".join(parts) + tail + ".")
        break

    def said(key, lead, unit, faster):
        r = by_key.get(key)
        if not both(r) or r.mono.state or r.split.state:
            return None
        m, s = r.mono.median, r.split.median
        if r.winner == "tie":
            return f"{lead} {fmt_num(m)} {unit} in one daemon and in the best split deployment."
        clear = ("clearly (the 95% intervals are apart)" if r.clear == "yes" else
                 "but not clearly (" + r.clear.removeprefix("no: ") + ")")
        who = "one daemon" if base_name(r.winner) == "mono" else f"`{r.winner}`"
        return (f"{lead} {fmt_num(m)} {unit} in one daemon and {fmt_num(s)} {unit} in the best "
                f"split deployment (`{r.split_dep}`): {who} is {faster}, {clear}.")

    # 3. Memory, as a factor.
    r = by_key.get("memory")
    if both(r) and r.mono.median > 0 and r.split.median > 0:
        f = r.split.median / r.mono.median
        who = "less" if f >= 1 else "more"
        f = f if f >= 1 else 1 / f
        out.append(f"One daemon uses {f:.1f}× {who} memory than the leanest split deployment "
                   f"(PSS under load {fmt_num(r.mono.median)} MiB against "
                   f"{fmt_num(r.split.median)} MiB for `{r.split_dep}`).")
    # 4. The hot read and the price of the boundary per request.
    s = said("hot_read", "A cached 4 KiB read over HTTP takes", "µs", "faster")
    if s:
        out.append(s)
    rc, rx = by_key.get("cpu"), by_key.get("ctx")
    if both(rc):
        text = (f"Each such read costs {fmt_num(rc.mono.median)} CPU-µs in one daemon and "
                f"{fmt_num(rc.split.median)} CPU-µs in `{rc.split_dep}`")
        if both(rx):
            text += (f", with {fmt_num(rx.mono.median)} and {fmt_num(rx.split.median)} context "
                     f"switches per request")
        out.append(text + ".")
    # 5. Startup.
    s = said("startup", "A start (spawn to READY=1) takes", "ms", "faster")
    if s:
        out.append(s)
    # 6. Faults.
    rb, rr = by_key.get("blast"), by_key.get("recovery")
    if both(rb):
        text = (f"An injected fault failed on average {fmt_num(rb.mono.median)}% of the requests "
                f"in its window in one daemon and {fmt_num(rb.split.median)}% in `{rb.split_dep}`")
        if both(rr):
            rec = lambda e: ("no recovery (a path was still failing when its fault window "
                             "closed)" if e.state else f"{fmt_num(e.median)} ms")
            text += (f"; the longest recovery: {rec(rr.mono)} in one daemon, {rec(rr.split)} in "
                     f"`{rr.split_dep}`")
        out.append(text + ".")
    # 7. The tally.
    decided = [r for r in rows if both(r)]
    if decided:
        mono_wins = sum(1 for r in decided if r.clear == "yes" and base_name(r.winner) == "mono")
        split_wins = sum(1 for r in decided if r.clear == "yes" and r.winner != "tie"
                         and base_name(r.winner) != "mono")
        rest = len(decided) - mono_wins - split_wins
        missing = len(rows) - len(decided)
        text = (f"Of {len(decided)} dimensions measured on both sides, one daemon wins "
                f"{mono_wins} clearly, a split deployment {split_wins}, and {rest} are ties or "
                f"not clear")
        if missing:
            text += f" ({missing} not measured)"
        out.append(text + ".")
    return out[:8]


def interval_note(docs):
    reps = sorted({int(num(dig(d, "options", "repeat")) or 1) for d in docs})
    quick = any(dig(d, "options", "quick") is True for d in docs)
    text = ("Figures are medians over repeats, `[low–high]` their bootstrap 95% interval; a win "
            "is **clear** when the two intervals do not overlap. ")
    if reps and max(reps) == 2:
        text += ("These documents have 2 repeats: the interval is then just the range of the two "
                 "values, wide, so only a large difference is clear. ")
    elif reps and max(reps) == 1:
        text += ("These documents have 1 repeat: no interval (except where a figure has several "
                 "samples, like startup), so few wins can be clear. ")
    if quick:
        text += "Quick run: short measurements, faults in the first repeat only (one sample). "
    text += ("The best split deployment is the split deployment with the best median on that "
             "dimension (it may differ from row to row).")
    return text


def verdict_markdown(docs, figs, deps, runs):
    """The Verdict section (Markdown lines), the first section of the report."""
    ctx = Context(docs, figs, runs)
    rows = decide(DIMENSIONS, ctx, deps)
    out = ["## Verdict", ""]
    says = sentences(rows, docs, deps)
    if says:
        out += [" ".join(says), ""]
    out += [interval_note(docs), "", decision_table(rows), ""]
    out += ["What each row measures: " + "; ".join(f"**{d.title}**: {d.what}" for d in DIMENSIONS
                                                    if d.what) + ".", ""]
    model = latest_with(docs, "model")
    has_be = any(isinstance(dig(v, "breakeven"), dict)
                 for v in (dig(model, "deployments") or {}).values() if isinstance(v, dict))
    if has_be:
        out += ["### Break-even of the boundary tax", "",
                "The latency tax (split over mono, minus 1) predicted by the model for calls per "
                "request × work per call, one panel per split deployment, with the 10% and 1% "
                "contours (the chart is in report.html). Work per call at which the tax falls "
                "below 10% and 1%, per calls per request:", "", breakeven_table(model), ""]
    else:
        out += ["Break-even chart: the sweep was not run (no `model.deployments.*.breakeven` in "
                "these documents; `seam-bench run --scenarios sweep` measures it).", ""]
    return out


def breakeven_table(model):
    """One row per split deployment, one column per calls-per-request K: the work per call (µs)
    at which the latency tax falls below 10% / below 1%; "> W" where the model does not reach it
    within the measured work range (W its largest)."""
    from .tables import md_table
    rows, calls = [], None
    for dep, m in sorted((dig(model, "deployments") or {}).items()):
        be = dig(m, "breakeven")
        if not isinstance(be, dict):
            continue
        calls = calls or list(be.get("calls") or [])
        top = num((be.get("work_us") or [None])[-1])
        beyond = f"> {fmt_num(top)}" if top is not None else "not reached"

        def at(key, i):
            v = num(dig(be, key, i))
            return fmt_num(v) if v is not None else beyond
        rows.append([f"`{dep}`"] + [f"{at('work_us_at_10pct', i)} / {at('work_us_at_1pct', i)}"
                                    for i in range(len(be.get("calls") or []))])
    return md_table(["deployment"] + [f"K = {int(num(k))}: < 10% / < 1% (µs)"
                                      for k in (calls or [])], rows)

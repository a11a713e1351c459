"""The charts of report.html, drawn by gnuplot as inline SVG."""
import html
import math
import os
import re
import shutil
import subprocess
import sys

from .load import cdf_points, dig, first, floor_runs, num


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
        # Label by process, not pid or thread: "seamd", "seam-split", "seam-fsd".
        proc = "seamd" if who.isdigit() else who.split(" ")[0]
        proc = "seam-split" if proc == "split" else proc
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
    launcher = str(first(runs, dep, "launcher") or "")
    for proc, (lo, hi) in spans.items():
        bars.append((f"{proc}: process (first to last event)", lo, hi))
    for e in notify if isinstance(notify, list) else []:
        ms = num(e.get("ms")) if isinstance(e, dict) else None
        if ms is None:
            continue
        fields = e.get("fields") or {}
        what = "READY=1" if fields.get("READY") == "1" else ",".join(sorted(fields)) or "notify"
        # The notification comes from the deployment's top process (seamd, or seam-split for
        # the daemons it launched): name it, not its pid.
        who = launcher or f"pid {e.get('pid', '?')}"
        bars.append((f"{who}: {what} received", 0.0, ms))
    for name, key in (("first HTTP GET", "first_http_get"), ("first FUSE stat", "first_fuse_stat")):
        ms = num(dig(first(runs, dep, "startup", key), "median"))
        if ms is not None:
            bars.append((f"client: {name} (median)", 0.0, ms))
    # One order for every deployment: by start, then by end (the whole-deployment bars, which
    # start at the spawn, first).
    bars.sort(key=lambda b: (b[1], b[2], b[0]))
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
    # A run without the http scenario (a sweep alone, say) has no GET to set beside its floor;
    # gnuplot refuses a histogram column with no valid point, so it is left out.
    with_get = any(not math.isnan(r[-1]) for r in rows)
    if not with_get:
        rows = [r[:-1] for r in rows]
    svg = ch.render(
        "set title 'the floor before and after each deployment run, beside its cached GET c1 p50'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.7 border -1\nset ylabel 'p50 (us, log scale)'\nset logscale y\n"
        "set yrange [1:*]\nset xtics rotate by -30\n"
        "plot $DAT(f.dat) using 2:xtic(1) title 'UNIX ping-pong before', '' using 3 title "
        "'UNIX ping-pong after', '' using 4 title 'TCP GET-sized before', '' using 5 title "
        "'TCP GET-sized after'" + (", '' using 6 title 'http get_cached c1 p50'" if with_get else ""),
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


def log_index(w, grid):
    """The position of work w on an axis that puts grid value j at j, interpolated on log(1 + w)
    between grid points (the grid starts at 0 µs, so a plain log axis cannot hold it)."""
    g = [math.log1p(max(x, 0.0)) for x in grid]
    v = math.log1p(max(w, 0.0))
    if v <= g[0]:
        return 0.0
    for j in range(len(g) - 1):
        if g[j] <= v <= g[j + 1]:
            return j + (v - g[j]) / (g[j + 1] - g[j]) if g[j + 1] > g[j] else float(j)
    return float(len(g) - 1)


def breakeven_chart(ch, model):
    """The boundary tax over calls per request × work per call, one panel per split deployment:
    the model's predicted latency tax as coloured cells (log colour scale, percent), with the
    work per call at which it falls below 10% (solid) and 1% (dashed) for each row of calls."""
    deps = [(d, m["breakeven"]) for d, m in sorted((dig(model, "deployments") or {}).items())
            if isinstance(m, dict) and isinstance(m.get("breakeven"), dict)]
    panels, data = [], {}
    for n, (dep, be) in enumerate(deps):
        ks, ws = be.get("calls") or [], be.get("work_us") or []
        tax = be.get("tax_latency") or []
        cells = []
        for i, k in enumerate(ks):
            for j, w in enumerate(ws):
                t = num(dig(tax, i, j))
                if t is not None:
                    cells.append((j, i, max(t * 100, 0.01)))
        if not cells or not ws:
            continue
        data[f"h{n}"] = cells
        series = [f"$DAT(h{n}.dat) using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder "
                  "lc palette notitle"]
        for key, style, label in (("work_us_at_10pct", "lw 3 lc rgb 'black'", "tax = 10%"),
                                  ("work_us_at_1pct", "lw 3 dt 2 lc rgb '#333333'", "tax = 1%")):
            pts = [(log_index(num(dig(be, key, i)), ws), i) for i in range(len(ks))
                   if num(dig(be, key, i)) is not None]
            if pts:
                data[f"{key}{n}"] = pts
                series.append(f"$DAT({key}{n}.dat) using 1:2 with linespoints pt 7 ps 0.6 "
                              f"{style} title {gp_quote(label)}")
        xt = ", ".join(f"{gp_quote(fmt_tic(w))} {j}" for j, w in enumerate(ws))
        yt = ", ".join(f"{gp_quote(str(k))} {i}" for i, k in enumerate(ks))
        panels.append(f"set title {gp_quote(dep)}\nset xtics ({xt}) rotate by -45\n"
                      f"set ytics ({yt})\nset xrange [-0.5:{len(ws) - 0.5}]\n"
                      f"set yrange [-0.5:{len(ks) - 0.5}]\nplot " + ", ".join(series) + "\n")
    if not panels:
        return []
    cols = min(len(panels), 2)
    rows = (len(panels) + cols - 1) // cols
    svg = ch.render(
        f"set multiplot layout {rows},{cols} title 'latency tax (split / mono - 1), predicted by "
        "the model; lines: the work per call where it falls below 10% and 1%'\n"
        "set xlabel 'work per call (us)'\nset ylabel 'calls per request'\nunset grid\n"
        "set logscale cb\nset cbrange [0.1:1000]\nset cblabel 'tax (%)'\n"
        "set palette defined (0 '#2c7bb6', 1 '#abd9e9', 2 '#ffffbf', 3 '#fdae61', 4 '#d7191c')\n"
        "set key bottom left opaque box\n" + "".join(panels) + "unset multiplot",
        data, width=min(1300, 640 * cols), height=380 * rows)
    return [("break-even: the boundary tax over calls × work per call", svg)]


def fmt_tic(w):
    w = num(w) or 0.0
    return f"{w:,.0f}" if w >= 1 or w == 0 else f"{w:g}"

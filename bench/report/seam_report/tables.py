"""The Markdown report: per-scenario tables, the headline, the floor, notes on each run."""
import json
import math
import re
import statistics

from .load import (comparable, detect_modes, dig, doc_mode, floor_runs, higher_is_better,
    is_baseline, metric_histograms, mode_of, num, ratio, runs_by_dep)


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
    # No per-deployment "÷ floor" columns: with five deployments they pushed the tables past
    # 1400 px; the floor's own column is here and "What this means" gives the ratios' range.
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


def codecs_text(build):
    """The codec libraries a build used ("codecs capnp 1.1.0 (bundled), protobuf 3.21.12"), or a note
    that the document predates their recording. `build` holds "codecs" and "capnp_source" (a
    seam-bench document's "build", or a seam-counts document itself)."""
    codecs = build.get("codecs")
    if not isinstance(codecs, dict) or not codecs:
        return "codec versions not recorded"
    parts = []
    for name, version in sorted(codecs.items()):
        part = f"{name} {version}"
        if name == "capnp" and build.get("capnp_source"):
            part += f" ({build['capnp_source']})"
        parts.append(part)
    return "codecs " + ", ".join(parts)


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
            f"{codecs_text(b)}; "
            f"{measurement_mode(d)}")
    return lines


def baseline_table(figs):
    rows = [[m + mode_of(d), f.unit, cell(f)]
            for (d, m), f in sorted(figs.items(), key=lambda x: (mode_of(x[0][0]), x[0][1]))
            if is_baseline(d)]
    return md_table(["baseline", "unit", "value"], rows) if rows else None


def slug(title):
    """The anchor of a heading, as md_to_html writes it."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def toc(lines):
    """A table of contents of the `## ` headings among lines."""
    items = [l[3:].strip() for l in lines if l.startswith("## ")]
    return ["**Contents:** " + " · ".join(f"[{t}](#{slug(t)})" for t in items), ""]


def workload_line(docs):
    """The workload the documents were measured under (doc["workload"], written by seam-bench
    run --workload and its flags), one line per document that records one."""
    out = []
    for d in docs:
        w = d.get("workload")
        if isinstance(w, dict) and w:
            parts = []
            for k, v in w.items():
                if isinstance(v, (dict, list)):
                    v = json.dumps(v, separators=(",", ":"), sort_keys=True)
                parts.append(f"{k} `{v}`")
            out.append(f"- workload of `{d['_file']}`: " + ", ".join(parts))
    return out


def order_by_operation(metrics):
    """Keep each operation's rows together (the CPU and context-switch rows derived from the runs
    come after the summary's): a stable sort on the operation's first appearance."""
    ops = []
    for m in metrics:
        op = m.split(" ")[1] if " " in m else m
        if op not in ops:
            ops.append(op)
    return sorted(metrics, key=lambda m: ops.index(m.split(" ")[1] if " " in m else m))


def family_tables(metrics, deps, figs, quiet, runs):
    """The fault table split by deployment family (one daemon, split), so that no column is half
    "not measured": the two families inject faults into different units."""
    out = []
    for title, fam in (("One daemon", [d for d in deps if not is_split_name(d)]),
                       ("Split deployments", [d for d in deps if is_split_name(d)])):
        fm = [m for m in metrics if any((d, m) in figs or (d, m) in quiet for d in fam)]
        if not fam or not fm:
            continue
        out += [f"### {title}", "", scenario_table(fm, fam, figs, quiet, runs), ""]
    return out


def is_split_name(dep):
    return dep.startswith("split/")


def render_markdown(docs, figs, deps, tail=""):
    from .verdict import verdict_markdown
    from .sweep import model_markdown, sweep_markdown
    head = ["# Seams bench report", ""]
    head += machine_lines(docs) + workload_line(docs) + [""]
    runs = runs_by_dep(docs)
    out = verdict_markdown(docs, figs, deps, runs)
    out += ["## How to read the tables", "",
            "Cells are medians; `[low–high]` is the 95% bootstrap interval of the median when the "
            "run was repeated. `÷ mono` columns are ratios of medians (for throughput a "
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
    out += ["## Headline", "", headline_table(deps, figs, runs), ""]
    out += ["## The floor beside each deployment", "",
            "Each deployment's run has the machine's own round-trip floor measured right before "
            "it starts and right after it stops: a 64-byte UNIX-socket ping-pong and a GET-sized "
            "TCP loopback ping-pong (160 bytes out, 4,296 back), each between two processes. A "
            "run whose floor moved by more than 25% (the larger p50 over the smaller) ran on a "
            "machine that changed under it.", ""]
    out += floor_section(docs)
    quiet = faults_without_failure(docs)
    for key, title, prefixes in SCENARIOS:
        metrics = [m for m in scenario_metrics(figs, prefixes)
                   if not m.startswith("startup interval ")]
        out += [f"## {title}", ""]
        if not metrics:
            out += [f"{NOT_MEASURED.capitalize()} in these runs.", ""]
            continue
        if key in SCENARIO_NOTES:
            out += [SCENARIO_NOTES[key], ""]
        if key in ("http", "fuse"):
            metrics = order_by_operation(metrics)
        if key == "fault":
            out += family_tables(metrics, deps, figs, quiet, runs)
        else:
            out += [scenario_table(metrics, deps, figs, quiet, runs), ""]
        out += ["**What this means.** " + meaning(title, metrics, deps, figs), ""]
        intervals = start_interval_table(deps, figs) if key == "startup" else None
        if intervals:
            out += ["Each unit's own start, ms: the median over the starts, and in brackets its "
                    "spread (p90 − p50). A service's interval runs from its process's previous "
                    "start event (seamd's first from the spawn; a daemon's first from the "
                    "launcher's spawn of it) to its `started` line; a daemon's (`launcher: "
                    "NAME`) from its spawn to its READY=1.", "", intervals, ""]
    out += sweep_markdown(docs)
    out += model_markdown(docs)
    out += ["## Baselines (floors)", ""]
    bt = baseline_table(figs)
    out += [bt if bt else f"{NOT_MEASURED.capitalize()} in these runs.", ""]
    if tail:
        out += tail.rstrip("\n").split("\n") + [""]
    return "\n".join(head + toc(out) + out)

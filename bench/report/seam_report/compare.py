"""The commands that compare runs: compare (regressions), spread (reproducibility), counts."""
import json
import math
import os
import sys

from .load import comparable, deployment_key, higher_is_better, load_docs, summary_figures
from .tables import cell, codecs_text, fmt, md_table, measurement_mode


FLOOR_PREFIXES = ("floor ", "direct ", "passthrough_ll ", "nginx ", "unix ping-pong",
                  "wrk check (nginx)")


def is_floor(dep, metric):
    """A floor measures the machine, not the code: the baselines (direct, passthrough_ll, nginx,
    the raw socket ping-pong) and the floor probes measured beside each deployment."""
    return dep == "baseline" or dep.startswith("baseline ") or metric.startswith(FLOOR_PREFIXES)


def not_recovered(metric, fig):
    """"not recovered" for a recovery figure whose path had not recovered by the end of its fault
    window in some repeat (the bench records a negative recovery), else None."""
    if "recovery" not in metric or fig is None:
        return None
    if fig.median < 0:
        return "not recovered"
    if fig.low < 0:
        return "not recovered in some repeats"
    return None


def run_length(docs):
    q = (docs[-1].get("options") or {}).get("quick")
    return {True: "quick", False: "full"}.get(q, "unknown")


def compare_command(args):
    base_docs, new_docs = load_docs([args.base]), load_docs([args.new])
    if not base_docs or not new_docs:
        print("seam-report compare: no seam-bench JSON in BASE or NEW", file=sys.stderr)
        return 2
    lb, ln = run_length(base_docs), run_length(new_docs)
    warning = None
    if lb != ln and "unknown" not in (lb, ln):
        warning = (f"WARNING: BASE is a {lb} run and NEW a {ln} run: their figures are measured "
                   "differently (a quick run's loads last 0.2 s at 4 connections, a full run's 2 s "
                   "at 8), so a move between them is not a regression of the code.")
        if not args.allow_mixed:
            print(f"seam-report compare: refused. {warning} Compare runs of the same length, or "
                  "pass --allow-mixed to list the moves anyway.", file=sys.stderr)
            return 2
        print(f"**{warning}**\n")
    # A directory means its newest document.
    base, new = summary_figures(base_docs[-1:]), summary_figures(new_docs[-1:])
    threshold = args.threshold
    flagged, floors, only = [], [], {"BASE": [], "NEW": []}
    regressions = 0
    for key in sorted(set(base) | set(new)):
        b, n = base.get(key), new.get(key)
        if b is None or n is None:
            only["NEW" if b is None else "BASE"].append(key)
            continue
        if not comparable(b.unit):
            continue
        floor = is_floor(*key)
        sb, sn = not_recovered(key[1], b), not_recovered(key[1], n)
        if sb or sn:
            # A state, not a number: compare the states.
            if bool(sb) == bool(sn):
                continue
            worse = bool(sn)
            verdict = "REGRESSION" if worse and not floor else ("worse" if worse else "better")
            regressions += verdict == "REGRESSION"
            row = (key, verdict, sb or f"{fmt(b.median)} {b.unit}",
                   sn or f"{fmt(n.median)} {n.unit}", "–", "recovered -> not" if worse
                   else "not recovered -> recovered")
            (floors if floor else flagged).append(row)
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
        if floor:
            verdict = "floor moved (the machine, never a regression)"
        elif worse and abs(change) > threshold:
            verdict = "REGRESSION"
            regressions += 1
        elif worse:
            verdict = "worse (within threshold)"
        else:
            verdict = "better"
        row = (key, verdict, f"{fmt(b.median)} {b.unit}", f"{fmt(n.median)} {n.unit}",
               f"{change:+.1f}%", basis)
        (floors if floor else flagged).append(row)
    header = ["deployment", "metric", "verdict", "base", "new", "change", "why flagged"]
    rows = [[f"`{d}`", m, v, bm, nm, c, basis] for (d, m), v, bm, nm, c, basis in flagged]
    if rows:
        print(md_table(header, rows))
    else:
        print("No figure moved beyond its noise.")
    if floors:
        print("\nFloors (the machine, not the code; never a regression):\n")
        print(md_table(header, [[f"`{d}`", m, v, bm, nm, c, basis]
                                for (d, m), v, bm, nm, c, basis in floors]))
    for side in ("BASE", "NEW"):
        if only[side]:
            print(f"\nOnly in {side} ({len(only[side])}; not compared):\n")
            for d, m in only[side]:
                print(f"- `{d}` {m}")
    print(f"\n{len(flagged)} figure(s) flagged, {regressions} regression(s) past {threshold:g}%"
          f"; {len(floors)} floor(s) moved; {len(only['BASE'])} only in BASE, "
          f"{len(only['NEW'])} only in NEW.")
    if warning:
        print(f"\n**{warning}**")
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
            f"({new_doc.get('iterations', '?')} iterations per op)\n\n"
            f"Base: {codecs_text(base_doc)}. New: {codecs_text(new_doc)}."
            f"\n\n" + md_table(header, rows))
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

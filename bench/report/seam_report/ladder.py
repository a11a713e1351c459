"""The IPC ladder section: scripts/ladder.py's document ("seam-ladder/1") as one table per op.

Every cell comes from the document's figures: ratios to the floor are computed here, of p50s of the
same op and mode, and a rung or mode the document lacks is a dash, never a guess. Rungs and ops are
whatever the document lists, so a new codec's rung needs no change here.
"""
import glob
import json
import os
import sys

from .tables import fmt, fmt_ratio, md_table

SCHEMA = "seam-ladder/1"
MODES = ("pinned", "unpinned")
TOP_SYSCALLS = 4


def is_ladder_file(path):
    return os.path.basename(path).startswith("seam-ladder")


def load_ladder(paths):
    """The seam-ladder documents among paths: seam-ladder*.json in each folder, or files so named."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "seam-ladder*.json")))
        elif os.path.isfile(p) and is_ladder_file(p):
            files.append(p)
    docs = []
    for f in files:
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError) as e:
            print(f"seam-report: skipping {f}: {e}", file=sys.stderr)
            continue
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            print(f"seam-report: skipping {f}: not a {SCHEMA} document", file=sys.stderr)
            continue
        d["_file"] = os.path.basename(f)
        docs.append(d)
    return docs


def figure(results, op, rung, mode, key):
    v = results.get(op, {}).get(rung, {}).get(mode, {}).get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def p50_cell(results, op, rung, mode):
    p50 = figure(results, op, rung, mode, "p50_us")
    if p50 is None:
        return "–"
    p99 = figure(results, op, rung, mode, "p99_us")
    return fmt(p50) + (f" ({fmt(p99)})" if p99 is not None else "")


def pair(a, b):
    """`a · b` for the two modes, a dash where one is missing and one dash when both are."""
    if a is None and b is None:
        return "–"
    return f"{fmt(a)} · {fmt(b)}"


def syscalls_of(results, op, rung, mode):
    s = results.get(op, {}).get(rung, {}).get(mode, {}).get("syscalls")
    return s if isinstance(s, dict) else None


def top_syscalls(s):
    if not s or not isinstance(s.get("by_name"), dict):
        return "–"
    named = [(k, v) for k, v in s["by_name"].items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]
    named.sort(key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k} {fmt(v)}" for k, v in named[:TOP_SYSCALLS])
    failed = s.get("errors_per_call")
    if isinstance(failed, (int, float)) and failed >= 0.05:
        text += f" ({fmt(failed)} failed)"
    return text or "–"


def op_table(doc, op):
    results = doc.get("results", {})
    rungs = list(doc.get("rungs") or [])
    rungs += [r for r in results.get(op, {}) if r not in rungs]
    floor = doc.get("floor_rung")
    floors = {m: figure(results, op, floor, m, "p50_us") if floor else None for m in MODES}
    rows = []
    for rung in rungs:
        if rung not in results.get(op, {}):
            continue
        row = [f"`{rung}`"]
        for m in MODES:
            row += [p50_cell(results, op, rung, m),
                    fmt_ratio(ratio(figure(results, op, rung, m, "p50_us"), floors[m]))]
        row.append(pair(figure(results, op, rung, "pinned", "cpu_us"),
                        figure(results, op, rung, "unpinned", "cpu_us")))
        sc = {m: syscalls_of(results, op, rung, m) for m in MODES}
        row.append(pair(*(s.get("per_call") if s and isinstance(s.get("per_call"), (int, float))
                          else None for s in (sc["pinned"], sc["unpinned"]))))
        row.append(top_syscalls(sc["pinned"]))
        rows.append(row)
    if not rows:
        return None
    header = ["rung", "pinned p50 µs (p99)", "÷ floor", "unpinned p50 µs (p99)", "÷ floor",
              "CPU-µs per call, pinned · unpinned", "syscalls per call, pinned · unpinned",
              "top syscalls per call (pinned)"]
    align = ["---"] + ["--:"] * 6 + ["---"]
    return md_table(header, rows, align)


def describe(doc):
    s = doc.get("settings", {})
    m = doc.get("machine", {})
    modes = doc.get("modes", {})
    pinned = modes.get("pinned", {}).get("pinned", "?")
    qos = {modes.get(k, {}).get("pm_qos", "?") for k in MODES}
    n1, n2 = (s.get("syscall_calls") or [None, None])[:2]
    git = f" at `{doc['git']}`" if doc.get("git") else ""
    text = (f"`{' '.join(doc.get('command', ['scripts/ladder.py']))}`{git}, "
            f"{doc.get('started', '?')}, "
            f"{m.get('nproc', '?')} CPUs, load average {m.get('loadavg_before', '?')} before and "
            f"{m.get('loadavg_after', '?')} after. Each rung made {s.get('calls', '?')} calls per "
            f"repetition, {s.get('repetitions', '?')} repetitions; cells are the medians over the "
            f"repetitions of each one's per-call figures. Pinned: every thread on {pinned}; "
            f"unpinned: the scheduler's choice; PM QoS {' / '.join(sorted(qos))}.")
    if s.get("syscalls"):
        text += (f" Syscalls per call: counts of `strace -f -c` over a run of {n2} calls less a "
                 f"run of {n1}, over {n2} − {n1} (setup cancels out); under strace the wake-up "
                 f"counts (epoll_wait, futex, poll) are those of a slowed process.")
    return text


def ladder_markdown(docs):
    """The section's Markdown, or "" without a document."""
    if not docs:
        return ""
    out = ["## IPC ladder (seam-micro, pinned and unpinned)", "",
           "One call per rung, in one process: `direct` is the local object, `*_loopback` the "
           "client stub through its codec without a socket, `*_socket` the stub over a UNIX socket "
           "to a server thread (`*_shared`: one connection shared through the stub's loop thread), "
           "and the floor a raw UNIX-socket ping-pong of the same payload. `÷ floor` is the p50 "
           "over the floor's p50 of the same op and mode. Pinned figures are the software cost; "
           "unpinned ones add the machine's wake-up latency. CPU-µs is the whole process's CPU "
           "per call (caller, loop and server threads).", ""]
    for doc in docs:
        if len(docs) > 1:
            out += [f"### {doc.get('_file', 'run')}", ""]
        out += [describe(doc), ""]
        for op in doc.get("ops") or list(doc.get("results", {})):
            table = op_table(doc, op)
            out += [f"**{op}**", ""]
            out += [table if table else "Not measured in this run.", ""]
        errors = doc.get("errors") or []
        if errors:
            out += ["Runs that failed (their cells are dashes):", ""]
            out += [f"- {e}" for e in errors] + [""]
    return "\n".join(out)

#!/usr/bin/env python3
"""The IPC ladder measured pinned and unpinned in one run, with syscalls per call.

  scripts/ladder.py [--bin SEAM_MICRO] [--out FILE] [--full] [--ops stat,read4k,...]

Runs seam-micro (bench/micro/seam_micro.cpp) as child processes, PM QoS held in each (its
default), and writes one JSON document (schema "seam-ladder/1", default results/latest/
seam-ladder.json) that `seam-report` turns into its "IPC ladder" section:

  timing    per op, one seam-micro run pinned (`--pin`: every thread on one CPU, the software
            cost) and one unpinned (what a deployment sees, wake-ups included), interleaved op by op
            so a change of the machine's load hits both modes alike. Each rung makes a fixed number
            of calls per repetition (`--ladder-iterations`); the figures are the medians over the
            repetitions of each repetition's per-call p50, p99 and cpu_us (whole-process CPU per
            call: caller, loop and server threads).
  syscalls  per op and per rung whose name says `socket` (every codec's socket rungs and the raw
            floor), in each mode: two short runs under `strace -f -c`, of N1 and N2 calls; the
            difference of their counts over N2 - N1 is the syscalls per call, by name, the
            process's setup (servers, connections, the first call's dial) cancelling out. Under
            strace every syscall stops the thread, so wake-up patterns (epoll_wait, futex) are those
            of a slowed process: the counts are indicative, the read/write counts exact.

The rungs and ops are whatever seam-micro registers as `ladder/<op>/<rung>` (a new codec's rung
appears without a change here); the floor is the rung whose name starts with `floor`. Ratios to the
floor are computed by the report from these figures, not stored.

Quick (default, what scripts/bench.sh runs): 2,000 calls x 3 repetitions, syscalls from 100 and 600
calls; about a minute. --full: 20,000 calls x 5 repetitions, syscalls from 200 and 2,200 calls.
Exit 0 when every figure was measured, 1 when some run failed (the document is still written and
lists the failures under "errors"), 2 on bad arguments or a missing seam-micro / strace.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

SCHEMA = "seam-ladder/1"
MODES = ("pinned", "unpinned")
QUICK = {"calls": 2000, "repetitions": 3, "syscall_calls": (100, 600)}
FULL = {"calls": 20000, "repetitions": 5, "syscall_calls": (200, 2200)}
# A seam-micro run of one op: 8-10 rungs of a few thousand calls; generous, so a wedged child
# (a server that never answers) ends the run instead of holding bench.sh.
CHILD_TIMEOUT_S = 300


def default_bin():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "build", "release", "bench", "micro", "seam-micro")


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_revision():
    """HEAD of this checkout, `+dirty` when the work tree differs; None outside git."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rc, head, _ = run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], timeout=10)
    if rc != 0:
        return None
    rc, status, _ = run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                        timeout=10)
    return head.strip() + ("+dirty" if rc == 0 and status.strip() else "")


def run(cmd, timeout=CHILD_TIMEOUT_S):
    """(returncode, stdout, stderr) of cmd; a timeout or a missing program is a failed run."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {timeout} s"
    except OSError as e:
        return -1, "", str(e)


def bench_name(name):
    """ladder/<op>/<rung>, without the `/iterations:N` Google Benchmark adds to a fixed count."""
    return re.sub(r"/iterations:\d+$", "", name)


def list_ladder(binary):
    """[(op, rung)] in seam-micro's registration order."""
    rc, out, err = run([binary, "--no-pm-qos", "--benchmark_list_tests=true",
                        "--benchmark_filter=^ladder/"])
    if rc != 0:
        raise SystemExit(f"ladder.py: {binary} --benchmark_list_tests failed ({rc}): "
                         f"{err.strip()[-500:]}")
    pairs = []
    for line in out.splitlines():
        parts = bench_name(line.strip()).split("/")
        if len(parts) == 3 and parts[0] == "ladder":
            pairs.append((parts[1], parts[2]))
    if not pairs:
        raise SystemExit(f"ladder.py: {binary} registers no ladder/<op>/<rung> benchmark")
    return pairs


def ordered(items):
    seen = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return seen


def timing_run(binary, op, mode, settings):
    """(figures {rung: {p50_us, p99_us, cpu_us}}, context, [errors]) of one op in one mode."""
    cmd = [binary] + (["--pin"] if mode == "pinned" else []) + [
        f"--ladder-iterations={settings['calls']}",
        f"--benchmark_repetitions={settings['repetitions']}",
        "--benchmark_report_aggregates_only=true", "--benchmark_format=json",
        f"--benchmark_filter=^ladder/{re.escape(op)}/"]
    rc, out, err = run(cmd)
    where = f"timing {op} {mode}"
    if rc != 0:
        return {}, {}, [f"{where}: seam-micro exited {rc}: {err.strip()[-500:]}"]
    try:
        doc = json.loads(out)
    except ValueError as e:
        return {}, {}, [f"{where}: seam-micro wrote no JSON ({e})"]
    figures, errors = {}, []
    for b in doc.get("benchmarks", []):
        parts = bench_name(b.get("run_name", b.get("name", ""))).split("/")
        if len(parts) != 3:
            continue
        rung = parts[2]
        if b.get("error_occurred"):
            errors.append(f"{where}: {rung}: {b.get('error_message', 'failed')}")
            continue
        if b.get("aggregate_name") != "median":
            continue
        figures[rung] = {k: b[k] for k in ("p50_us", "p99_us", "cpu_us") if k in b}
    return figures, doc.get("context", {}), errors


STRACE_LINE = re.compile(
    r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(?P<calls>\d+)\s+(?:(?P<errors>\d+)\s+)?(?P<name>[a-z_0-9]+)\s*$")


def parse_strace_summary(text):
    """{syscall: (calls, errors)} from `strace -c` output (the `total` line left out)."""
    counts = {}
    for line in text.splitlines():
        m = STRACE_LINE.match(line)
        if m and m.group("name") != "total":
            counts[m.group("name")] = (int(m.group("calls")), int(m.group("errors") or 0))
    return counts


def strace_counts(binary, op, rung, mode, calls, tmp):
    path = os.path.join(tmp, f"strace-{op}-{rung}-{mode}-{calls}.txt")
    cmd = ["strace", "-f", "-c", "-o", path, binary] + (["--pin"] if mode == "pinned" else []) + [
        f"--ladder-iterations={calls}",
        f"--benchmark_filter=^ladder/{re.escape(op)}/{re.escape(rung)}(/|$)"]
    rc, _, err = run(cmd)
    if rc != 0:
        return None, f"syscalls {op} {rung} {mode} ({calls} calls): exited {rc}: {err.strip()[-300:]}"
    try:
        with open(path) as fh:
            counts = parse_strace_summary(fh.read())
    except OSError as e:
        return None, f"syscalls {op} {rung} {mode}: {e}"
    if not counts:
        return None, f"syscalls {op} {rung} {mode}: strace wrote no summary"
    return counts, None


def per_call(small, large, n_small, n_large):
    """Syscalls per call from two runs' counts: (total, errors, {name: per call}), by name largest
    first; a name whose difference rounds to nothing is left out."""
    span = n_large - n_small
    by_name, total, errors = {}, 0, 0
    for name in set(small) | set(large):
        c1, e1 = small.get(name, (0, 0))
        c2, e2 = large.get(name, (0, 0))
        total += c2 - c1
        errors += e2 - e1
        v = round((c2 - c1) / span, 2)
        if v != 0:
            by_name[name] = v
    ranked = dict(sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0])))
    return round(total / span, 2), round(errors / span, 2), ranked


def main(argv):
    p = argparse.ArgumentParser(prog="ladder.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=default_bin(), help="seam-micro (default: the release build's)")
    p.add_argument("--out", default="results/latest/seam-ladder.json", help="the JSON to write")
    p.add_argument("--full", action="store_true", help="longer runs (see above)")
    p.add_argument("--ops", help="comma-separated ops (default: every op seam-micro has)")
    p.add_argument("--no-syscalls", action="store_true", help="timing only (no strace runs)")
    args = p.parse_args(argv)
    if not os.access(args.bin, os.X_OK):
        print(f"ladder.py: no seam-micro at {args.bin} (build it: cmake --build --preset release "
              f"--target seam-micro)", file=sys.stderr)
        return 2
    if not args.no_syscalls and not shutil.which("strace"):
        print("ladder.py: strace not found (scripts/deps.sh installs it; or --no-syscalls)",
              file=sys.stderr)
        return 2
    settings = dict(FULL if args.full else QUICK)
    pairs = list_ladder(args.bin)
    ops = ordered(op for op, _ in pairs)
    if args.ops:
        wanted = [o for o in args.ops.split(",") if o]
        unknown = [o for o in wanted if o not in ops]
        if unknown:
            print(f"ladder.py: unknown op(s) {', '.join(unknown)}; seam-micro has "
                  f"{', '.join(ops)}", file=sys.stderr)
            return 2
        ops = wanted
    rungs = ordered(r for op, r in pairs if op in ops)
    floors = [r for r in rungs if r.startswith("floor")]
    counted = [r for r in rungs if "socket" in r]

    started = datetime.datetime.now(datetime.timezone.utc)
    doc = {"schema": SCHEMA, "started": started.isoformat(timespec="seconds"),
           "command": ["scripts/ladder.py"] + argv,
           "git": git_revision(), "binary": os.path.abspath(args.bin),
           "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                       "loadavg_before": loadavg()},
           "settings": {"calls": settings["calls"], "repetitions": settings["repetitions"],
                        "syscall_calls": list(settings["syscall_calls"]),
                        "syscalls": not args.no_syscalls},
           "ops": ops, "rungs": rungs, "floor_rung": floors[0] if floors else None,
           "modes": {m: {} for m in MODES}, "results": {op: {} for op in ops}, "errors": []}

    def put(op, rung, mode, key, value):
        doc["results"][op].setdefault(rung, {}).setdefault(mode, {})[key] = value

    for op in ops:
        for mode in MODES:
            print(f"ladder.py: {op} {mode}", file=sys.stderr)
            figures, context, errors = timing_run(args.bin, op, mode, settings)
            doc["errors"] += errors
            if context:
                doc["modes"][mode] = {k: context[k] for k in
                                      ("pinned", "pm_qos", "pm_qos_held", "num_cpus")
                                      if k in context}
            for rung, f in figures.items():
                for k, v in f.items():
                    put(op, rung, mode, k, v)
    if not args.no_syscalls:
        n1, n2 = settings["syscall_calls"]
        with tempfile.TemporaryDirectory(prefix="seam-ladder-") as tmp:
            for op in ops:
                print(f"ladder.py: {op} syscalls ({len(counted)} rungs x {len(MODES)} modes)",
                      file=sys.stderr)
                for rung in counted:
                    for mode in MODES:
                        small, e1 = strace_counts(args.bin, op, rung, mode, n1, tmp)
                        large, e2 = strace_counts(args.bin, op, rung, mode, n2, tmp)
                        if e1 or e2:
                            doc["errors"].append(e1 or e2)
                            continue
                        total, errors, by_name = per_call(small, large, n1, n2)
                        put(op, rung, mode, "syscalls",
                            {"per_call": total, "errors_per_call": errors, "by_name": by_name})
    doc["machine"]["loadavg_after"] = loadavg()
    doc["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    secs = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    print(f"ladder.py: wrote {args.out} ({len(ops)} ops x {len(rungs)} rungs, {secs:.0f} s"
          f"{', ' + str(len(doc['errors'])) + ' error(s)' if doc['errors'] else ''})",
          file=sys.stderr)
    for e in doc["errors"]:
        print(f"ladder.py: {e}", file=sys.stderr)
    return 1 if doc["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The command line: the report command and the argument parsers of every command."""
import argparse
import os
import sys

from . import __doc__ as USAGE
from .load import deployments_of, derived_figures, load_docs, runs_by_dep, summary_figures
from .tables import headline_table, render_markdown
from .html_page import render_html
from .compare import compare_command, counts_command, spread_command
from .ladder import is_ladder_file, ladder_markdown, load_ladder


def report_command(args):
    # A seam-ladder document named on the command line is the ladder's, not a seam-bench run.
    docs = load_docs([p for p in args.inputs if os.path.isdir(p) or not is_ladder_file(p)])
    if not docs:
        print("seam-report: no seam-bench JSON found in " + " ".join(args.inputs), file=sys.stderr)
        return 2
    figs = summary_figures(docs)
    figs.update(derived_figures(docs, figs))
    deps = deployments_of(docs, figs)
    ladder = ladder_markdown(load_ladder(args.inputs))
    md = render_markdown(docs, figs, deps, tail=ladder or "")
    head = headline_table(deps, figs, runs_by_dep(docs))
    if not args.out:
        # Without --out nothing is written: the Markdown report goes to stdout (issue 14: a
        # report of a committed run must not overwrite the committed files by surprise).
        if not args.quiet:
            print(md, end="")
        return 0
    out = args.out
    os.makedirs(out, exist_ok=True)
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


def verdict_command(args):
    docs = load_docs([p for p in args.inputs if os.path.isdir(p) or not is_ladder_file(p)])
    if not docs:
        print("seam-report verdict: no seam-bench JSON in " + " ".join(args.inputs),
              file=sys.stderr)
        return 2
    from .verdict import verdict_markdown
    figs = summary_figures(docs)
    figs.update(derived_figures(docs, figs))
    deps = deployments_of(docs, figs)
    print("\n".join(verdict_markdown(docs, figs, deps, runs_by_dep(docs))), end="")
    return 0


def ladder_command(args):
    docs = load_ladder(args.inputs)
    if not docs:
        print("seam-report ladder: no seam-ladder JSON in " + " ".join(args.inputs), file=sys.stderr)
        return 2
    print(ladder_markdown(docs), end="")
    return 0


def main(argv):
    if argv and argv[0] == "ladder":
        p = argparse.ArgumentParser(prog="seam-report ladder",
                                    description="the IPC ladder section alone (Markdown on stdout)")
        p.add_argument("inputs", nargs="+", metavar="DIR|FILE",
                       help="seam-ladder.json (scripts/ladder.py), or folders holding one")
        return ladder_command(p.parse_args(argv[1:]))
    if argv and argv[0] == "verdict":
        p = argparse.ArgumentParser(prog="seam-report verdict",
                                    description="the Verdict section alone (Markdown on stdout)")
        p.add_argument("inputs", nargs="+", metavar="DIR|FILE", help="seam-bench JSON, or folders")
        return verdict_command(p.parse_args(argv[1:]))
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
        p.add_argument("--allow-mixed", action="store_true",
                       help="compare a quick run with a full one anyway (refused by default), "
                            "with a warning above and below the table")
        return compare_command(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser(
        prog="seam-report", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="DIR|FILE", help="seam-bench JSON, or folders of it")
    p.add_argument("--out", help="output folder for report.md, report.html and headline.md "
                                  "(without it nothing is written: report.md goes to stdout)")
    p.add_argument("--no-charts", action="store_true", help="skip gnuplot (tables only)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return report_command(p.parse_args(argv))

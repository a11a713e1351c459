"""seam-report: turns seam-bench JSON documents into report.md and report.html, and compares runs.

  seam-report DIR|FILE... [--out DIR] [--no-charts]
      reads every seam-bench-*.json (or .json.gz, as committed reference runs are kept) under each
      DIR (or the FILEs). With --out, writes OUT/report.md (the Verdict first, then the tables),
      OUT/report.html (self-contained, charts rendered by gnuplot as inline SVG, each beside its
      table) and OUT/headline.md (the headline table, also printed on stdout). Without --out it
      writes nothing (a DIR is never written into unless --out names it) and prints report.md.
      A seam-ladder.json (scripts/ladder.py) in a DIR, or named as a FILE, adds the "IPC ladder"
      section: per op, each rung's p50 pinned and unpinned with its ratio to the floor, CPU-µs and
      syscalls per call.
  seam-report verdict DIR|FILE...
      the Verdict section alone, Markdown on stdout (results/README.md's findings are pasted
      from it).
  seam-report ladder DIR|FILE...
      that section alone, Markdown on stdout (ipc/README.md's Measurements table is pasted from it).
  seam-report compare BASE NEW [--threshold PCT] [--allow-mixed]
      flags every figure that moved beyond its noise; exits 1 on a regression past PCT percent.
      Refuses (exit 2) a quick run against a full one unless --allow-mixed, and then warns on
      every line; the floors (direct, passthrough_ll, nginx, the raw socket ping-pongs) are listed
      but never regressions; "not recovered" is a state, compared as such; figures present in
      only one run are listed apart.
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

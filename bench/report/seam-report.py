#!/usr/bin/env python3
"""seam-report: turns seam-bench JSON documents into report.md and report.html, and compares runs.

The command line is `seam-report --help`; the code is the package beside this file, seam_report/
(load: reading and statistics; tables: the Markdown report; charts: gnuplot SVG; html_page:
report.html; compare: compare, spread and counts; cli: the commands). Standard library only.
"""
import os
import sys

# The package sits beside this script, in the source tree and in the build tree alike.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from seam_report.cli import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""report.html: the Markdown tables as HTML, with the charts."""
import html
import re
import tempfile

from .load import runs_by_dep
from .tables import NOT_MEASURED
from .charts import (Charts, drift_charts, fault_charts, fault_timeline_charts, floor_chart,
    latency_cdf_charts, memory_chart, startup_chart, sweep_charts)


def render_html(docs, figs, deps, md_text, with_charts=True):
    sections = []
    if with_charts:
        runs = runs_by_dep(docs)
        with tempfile.TemporaryDirectory(prefix="seam-report-") as tmp:
            ch = Charts(tmp)
            groups = [
                ("The floor beside each deployment", floor_chart(ch, docs)),
                ("Latency CDFs (closed loop, per operation)", latency_cdf_charts(ch, runs, deps, docs)),
                ("Throughput vs latency (open-loop rate sweep)", sweep_charts(ch, runs, deps)),
                ("Startup timeline", startup_chart(ch, runs, deps)),
                ("Visibility and revocation lag", drift_charts(ch, runs, deps)),
                ("Memory", memory_chart(ch, runs, deps)),
                ("Fault recovery", fault_timeline_charts(ch, runs, deps)
                 + fault_charts(ch, runs, deps)),
            ]
            for title, charts in groups:
                body = [f"<h2>{html.escape(title)}</h2>"]
                drawn = [(t, s) for t, s in charts if s]
                if not drawn:
                    body.append(f"<p class='nm'>{NOT_MEASURED} in these runs.</p>")
                for t, svg in drawn:
                    body.append(f"<figure class='chart'><figcaption>{html.escape(t)}</figcaption>"
                                f"{svg}</figure>")
                sections.append("\n".join(body))
    tables = md_to_html(md_text)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>Seams bench report</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:1400px}"
            "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
            "td:first-child,th:first-child{text-align:left}th{background:#f0f0f0}"
            "figure.chart svg{max-width:100%;height:auto}figcaption{font-weight:bold}"
            ".nm{color:#888}</style></head><body>\n" + tables + "\n" + "\n".join(sections) +
            "\n</body></html>\n")


def md_inline(s):
    s = html.escape(s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", s)


def md_to_html(md):
    """The small Markdown subset render_markdown writes: headings, lists, tables, paragraphs."""
    out, lines, i = [], md.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            i += 1
            block = []
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(html.escape(lines[i]))
                i += 1
            out.append("<pre>" + "\n".join(block) + "</pre>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{md_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("| "):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            cells = [[c.strip() for c in r.strip().strip("|").split(" | ")] for r in rows]
            out.append("<table><tr>" + "".join(f"<th>{md_inline(c)}</th>" for c in cells[0]) +
                       "</tr>" + "".join("<tr>" + "".join(f"<td>{md_inline(c)}</td>" for c in r) +
                                         "</tr>" for r in cells[2:]) + "</table>")
            continue
        elif line.startswith("- "):
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                out.append(f"<li>{md_inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        elif line.strip():
            out.append(f"<p>{md_inline(line)}</p>")
        i += 1
    return "\n".join(out)

"""report.html: the Markdown tables as HTML, with the charts."""
import html
import re
import tempfile

from .load import runs_by_dep
from .tables import NOT_MEASURED, slug
from .charts import (Charts, breakeven_chart, drift_charts, fault_charts, fault_timeline_charts,
    floor_chart, latency_cdf_charts, memory_chart, startup_chart, sweep_charts)
from .verdict import latest_with


CSS = ("body{font-family:sans-serif;margin:2em auto;max-width:1400px;padding:0 1em}"
       "table{border-collapse:collapse;margin:1em 0;font-size:12px;max-width:100%}"
       "td,th{border:1px solid #ccc;padding:3px 5px;text-align:right;overflow-wrap:break-word}"
       "td:first-child,th:first-child{text-align:left}th{background:#f0f0f0}"
       "figure.chart{margin:0 0 1em 0}figure.chart svg{max-width:100%;height:auto}"
       "figcaption{font-weight:bold}.nm{color:#888}"
       ".pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}"
       ".pair>.tables{flex:1 1 760px;min-width:0}.pair>.charts{flex:1 1 520px;min-width:0}"
       "section.verdict{border:2px solid #444;padding:0 1em;margin-bottom:2em}"
       ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:1em}"
       "pre{white-space:pre-wrap}")


def chart_groups(docs, deps, ch):
    """{section title: [(caption, svg)]}: each chart goes beside the table it illustrates."""
    runs = runs_by_dep(docs)
    cdfs = latency_cdf_charts(ch, runs, deps, docs)
    return {
        "Verdict": breakeven_chart(ch, latest_with(docs, "model")),
        "The floor beside each deployment": floor_chart(ch, docs),
        "Startup and shutdown": startup_chart(ch, runs, deps),
        "HTTP hot path": [c for c in cdfs if c[0].startswith("http ")]
        + sweep_charts(ch, runs, deps),
        "FUSE hot path": [c for c in cdfs if c[0].startswith("fuse ")],
        "Drift: visibility, staleness, revocation": drift_charts(ch, runs, deps),
        "Memory": memory_chart(ch, runs, deps),
        "Fault recovery": fault_timeline_charts(ch, runs, deps) + fault_charts(ch, runs, deps),
    }


def figures_html(charts):
    return "\n".join(f"<figure class='chart'><figcaption>{html.escape(t)}</figcaption>{svg}"
                      "</figure>" for t, svg in charts if svg)


def render_html(docs, figs, deps, md_text, with_charts=True):
    """The page: report.md's sections in order, each section's charts beside its tables (a
    flex row that wraps below the tables when they need the whole width)."""
    groups = {}
    body = []
    with tempfile.TemporaryDirectory(prefix="seam-report-") as tmp:
        if with_charts:
            groups = chart_groups(docs, deps, Charts(tmp))
        preamble, sections = split_sections(md_text)
        body.append(md_to_html("\n".join(preamble)))
        for title, lines in sections:
            inner = md_to_html("\n".join(lines))
            charts = figures_html(groups.get(title, []))
            if with_charts and title in groups and not charts and title != "Verdict":
                charts = f"<p class='nm'>Charts: {NOT_MEASURED} in these runs.</p>"
            cls = " class='verdict'" if title == "Verdict" else ""
            # A chart goes beside its table when both fit in 1400 px; beside a wide table (more
            # than 8 columns) it would squeeze it, so the charts follow it, two per row.
            wide = max((l.count(" | ") + 1 for l in lines if l.startswith("| ")), default=0) > 8
            if charts and title == "Verdict":
                # The sentences beside the break-even chart, the decision table below at full
                # width: the verdict's table is the one the reader must not have squeezed.
                cut = next((i for i, l in enumerate(lines) if l.startswith("| ")), len(lines))
                cut = max((i for i in range(cut) if not lines[i].strip()), default=cut)
                top, rest = md_to_html("\n".join(lines[:cut])), md_to_html("\n".join(lines[cut:]))
                body.append(f"<section{cls}><h2 id='{slug(title)}'>{md_inline(title)}</h2>"
                            f"<div class='pair'><div class='tables'>{top}</div>"
                            f"<div class='charts'>{charts}</div></div>{rest}</section>")
                continue
            if charts and wide:
                body.append(f"<section{cls}><h2 id='{slug(title)}'>{md_inline(title)}</h2>"
                            f"{inner}<div class='grid'>{charts}</div></section>")
                continue
            head = f"<h2 id='{slug(title)}'>{md_inline(title)}</h2>"
            if charts:
                body.append(f"<section{cls}>{head}<div class='pair'><div class='tables'>{inner}"
                            f"</div><div class='charts'>{charts}</div></div></section>")
            else:
                body.append(f"<section{cls}>{head}{inner}</section>")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>Seams bench report</title><style>{CSS}</style></head><body>\n" +
            "\n".join(body) + "\n</body></html>\n")


def split_sections(md):
    """(lines before the first `## ` heading, [(title, lines of that section)])."""
    pre, sections = [], []
    for line in md.split("\n"):
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            pre.append(line)
    return pre, sections


def md_inline(s):
    s = html.escape(s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"\[([^\]]+)\]\((#[\w-]+)\)", r"<a href='\2'>\1</a>", s)
    # A deployment's name may break after a slash: headers of five deployments then fit 1400 px.
    return re.sub(r"`([^`]+)`", lambda m: "<code>" + m.group(1).replace("/", "/<wbr>") + "</code>",
                  s)


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
            title = line[level:].strip()
            out.append(f"<h{level} id='{slug(title)}'>{md_inline(title)}</h{level}>")
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

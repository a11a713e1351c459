"""The sweep and model sections: doc["sweep"] (the boundary tax per cell of the coupling grid) and
doc["model"] (the fitted cost per deployment, its intervals, R² and held-out errors), as the
contract of issue 14 shapes them. Absent keys give a sentence saying what was not run."""
from .load import dig, num
from .tables import fmt, md_table


def whole(x):
    """A grid coordinate: an integer with thousands separators (65,536), else as fmt gives it."""
    return f"{int(x):,}" if x is not None and float(x).is_integer() else fmt(x)


def pct(x):
    return "–" if x is None else f"{x * 100:+.1f}%"


def sweep_markdown(docs):
    sweep = next((d["sweep"] for d in reversed(docs) if isinstance(d.get("sweep"), dict)), None)
    out = ["## Sweep: the boundary tax per cell", ""]
    cells = [c for c in (sweep or {}).get("cells") or [] if isinstance(c, dict)]
    if not cells:
        return out + ["Not run in these documents (`seam-bench run --scenarios sweep` runs it).",
                      ""]
    grid = sweep.get("grid") or {}
    ref = sweep.get("reference", "mono")
    text = (f"Each cell: K probe calls per request, W µs of work per call at the storage owner, "
            f"B-byte replies, closed loop at C connections; medians over repeats. The tax is the "
            f"deployment over `{ref}` minus 1 (latency p50, and CPU-µs per request).")
    if grid.get("quick_subset"):
        text += " The quick grid: a subset of the full one."
    out += [text, ""]
    deps = []
    for c in cells:
        d = c.get("deployment")
        if d and d != ref and d not in deps:
            deps.append(d)
    keyf = lambda c: tuple(num(c.get(k)) or 0 for k in ("connections", "payload_bytes", "calls",
                                                         "work_us"))
    keys = sorted({keyf(c) for c in cells})
    by = {(c.get("deployment"), keyf(c)): c for c in cells}
    header = ["C", "B (bytes)", "K", "W (µs)", f"`{ref}` p50 (µs)", f"`{ref}` CPU-µs/req"]
    # One column per split deployment ("p50 (latency tax / CPU tax)"): three columns each made
    # the table of five deployments wider than the page.
    header += [f"`{d}` p50 µs (latency / CPU tax)" for d in deps]
    rows = []
    for k in keys:
        conn, payload, calls, work = k
        m = by.get((ref, k)) or {}
        row = [whole(conn), whole(payload), whole(calls), whole(work), fmt(num(m.get("p50_us"))),
               fmt(num(m.get("cpu_us_per_req")))]
        for d in deps:
            c = by.get((d, k)) or {}
            row.append(f"{fmt(num(c.get('p50_us')))} ({pct(num(c.get('tax_latency')))} / "
                       f"{pct(num(c.get('tax_cpu')))})" if c else "not measured")
        rows.append(row)
    return out + [md_table(header, rows), ""]


def interval(p):
    ci = p.get("ci95")
    if isinstance(ci, list) and len(ci) == 2 and all(num(x) is not None for x in ci):
        return f"[{fmt(num(ci[0]))}–{fmt(num(ci[1]))}]"
    return "–"


def model_markdown(docs):
    model = next((d["model"] for d in reversed(docs) if isinstance(d.get("model"), dict)), None)
    out = ["## Model: the cost of the boundary", ""]
    deps = dig(model, "deployments")
    if not isinstance(deps, dict) or not deps:
        return out + ["Not fitted in these documents (the model is fitted from the sweep).", ""]
    out += [f"Fitted per split deployment on the sweep's cells ({model.get('fitted_on', '?')}), "
            "for the extra latency and the extra CPU over mono; some cells are held out of the "
            "fit and predicted, to check it.", ""]
    rows = []
    for dep, m in sorted(deps.items()):
        for which in ("latency", "cpu"):
            f = m.get(which) if isinstance(m, dict) else None
            if not isinstance(f, dict):
                continue
            params = "; ".join(f"{p.get('name', '?')} = {fmt(num(p.get('value')))} "
                               f"{p.get('unit', '')} {interval(p)}"
                               for p in f.get("params") or [] if isinstance(p, dict))
            ho = f.get("holdout") if isinstance(f.get("holdout"), dict) else {}
            rows.append([f"`{dep}`", which, f"`{f.get('form', '?')}`", params,
                         fmt(num(f.get("r2"))), whole(num(f.get("n_fit"))),
                         str(len(ho.get("cells") or [])),
                         fmt(num(ho.get("median_abs_error_pct"))),
                         fmt(num(ho.get("worst_abs_error_pct")))])
    out += [md_table(["deployment", "of", "form", "parameters (95% interval)", "R²",
                      "cells fitted", "cells held out", "held-out median abs. error %",
                      "worst abs. error %"], rows), ""]
    return out

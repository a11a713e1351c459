#include "bench/model/model.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace seams::bench::model {
namespace {

using nlohmann::json;

// A number at j[key]: a plain number or a {"value": x} figure; none if absent, null or not finite.
std::optional<double> num(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  const json& v = it->is_object() ? it->value("value", json()) : *it;
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::vector<double> levels(const std::vector<Cell>& cells, double Cell::*field) {
  std::set<double> s;
  for (const Cell& c : cells) s.insert(c.*field);
  return {s.begin(), s.end()};
}

std::size_t rankOf(const std::vector<double>& levels, double v) {
  return static_cast<std::size_t>(std::lower_bound(levels.begin(), levels.end(), v) -
                                  levels.begin());
}

// Relative least squares: weights 1/s² with s each cell's noise_scale when every cell has one;
// otherwise an unweighted pass, then twice weights 1/ŷ² from the previous pass. Either scale is
// floored at 5% of the median (of |y|, or of the scales), so no cell can take all the weight.
Result<LinearFit> fitRelative(const Form& form, const std::vector<Cell>& cells) {
  std::vector<std::vector<double>> x;
  std::vector<double> y, abs_y;
  for (const Cell& c : cells) {
    x.push_back(form.features(c.calls, c.work_us, c.payload_bytes));
    y.push_back(c.value);
    abs_y.push_back(std::abs(c.value));
  }
  const std::vector<Term> terms = form.plainTerms();
  const bool scaled = !cells.empty() && std::all_of(cells.begin(), cells.end(), [](const Cell& c) {
    return c.noise_scale > 0 && std::isfinite(c.noise_scale);
  });
  if (scaled) {
    std::vector<double> scales, w;
    for (const Cell& c : cells) scales.push_back(c.noise_scale);
    const double floor = 0.05 * median(scales);
    for (double sc : scales) w.push_back(1 / (std::max(sc, floor) * std::max(sc, floor)));
    return leastSquares(x, y, terms, w);
  }
  auto fit = leastSquares(x, y, terms);
  if (!fit.ok()) return fit;
  double floor = 0.05 * median(abs_y);
  if (!(floor > 0)) floor = 1e-3;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> w;
    for (const auto& row : x) {
      const double yhat = std::max(std::abs(fit->predict(row)), floor);
      w.push_back(1 / (yhat * yhat));
    }
    auto next = leastSquares(x, y, terms, w);
    if (!next.ok()) return next;
    fit = std::move(next);
  }
  return fit;
}

Status needLevels(const std::vector<Cell>& cells, bool need_work) {
  if (levels(cells, &Cell::calls).size() < 2)
    return Status(Errc::invalid_argument,
                  "the cells have a single number of calls: a per-call cost cannot be told from "
                  "a per-request one");
  if (levels(cells, &Cell::payload_bytes).size() < 2)
    return Status(Errc::invalid_argument,
                  "the cells have a single payload: a per-byte cost cannot be told from a "
                  "per-call one");
  if (need_work && levels(cells, &Cell::work_us).size() < 2)
    return Status(Errc::invalid_argument,
                  "the cells have a single work per call: the work's cost cannot be told from "
                  "the per-call one");
  return okStatus();
}

std::string fmtNum(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

std::vector<double> Form::features(double calls, double work_us, double payload_bytes) const {
  std::vector<double> f;
  for (const FormTerm& t : terms) {
    switch (t.kind) {
      case TermKind::one:
        f.push_back(1);
        break;
      case TermKind::calls:
        f.push_back(calls);
        break;
      case TermKind::calls_bytes:
        f.push_back(calls * payload_bytes);
        break;
      case TermKind::calls_work:
        f.push_back(calls * work_us);
        break;
    }
  }
  return f;
}

std::vector<Term> Form::plainTerms() const {
  std::vector<Term> out;
  for (const FormTerm& t : terms) out.push_back(t.term);
  return out;
}

std::vector<Form> deltaForms() {
  const FormTerm c{TermKind::one, {"c", "us"}}, a{TermKind::calls, {"a", "us"}},
      b{TermKind::calls_bytes, {"b", "us/byte"}}, d{TermKind::calls_work, {"d", "us/us"}};
  return {{"dt = K*(a + b*B)", {a, b}},
          {"dt = c + K*(a + b*B)", {c, a, b}},
          {"dt = K*(a + b*B + d*W)", {a, b, d}},
          {"dt = c + K*(a + b*B + d*W)", {c, a, b, d}}};
}

Form referenceForm() {
  return {"t = c0 + K*(c1 + w*W + c2*B)",
          {{TermKind::one, {"c0", "us"}},
           {TermKind::calls, {"c1", "us"}},
           {TermKind::calls_work, {"w", "us/us"}},
           {TermKind::calls_bytes, {"c2", "us/byte"}}}};
}

double ModelFit::predict(double calls, double work_us, double payload_bytes) const {
  return fit.predict(form.features(calls, work_us, payload_bytes));
}

double ModelFit::predictSe(double calls, double work_us, double payload_bytes) const {
  return fit.predictSe(form.features(calls, work_us, payload_bytes));
}

Result<ModelFit> fitForm(const Form& form, const std::vector<Cell>& cells) {
  auto all = fitRelative(form, cells);
  if (!all.ok()) return all.status();
  ModelFit out{form, *all, {}, {}, {}};
  // The hold-out: ranks in K, W and B summing to 3 modulo 4.
  const auto ks = levels(cells, &Cell::calls), ws = levels(cells, &Cell::work_us),
             bs = levels(cells, &Cell::payload_bytes);
  std::vector<Cell> fit_cells, held;
  for (const Cell& c : cells) {
    const std::size_t r = rankOf(ks, c.calls) + rankOf(ws, c.work_us) + rankOf(bs, c.payload_bytes);
    (r % 4 == 3 ? held : fit_cells).push_back(c);
  }
  const std::size_t p = form.terms.size();
  if (held.empty()) {
    out.holdout.why_not = "no cell falls in the hold-out (ranks of K, W, B summing to 3 mod 4)";
    return out;
  }
  if (fit_cells.size() < p + 2 || levels(fit_cells, &Cell::calls).size() < 2 ||
      levels(fit_cells, &Cell::payload_bytes).size() < 2) {
    out.holdout.why_not = "too few cells left to fit once the hold-out is taken out";
    return out;
  }
  auto part = fitRelative(form, fit_cells);
  if (!part.ok()) {
    out.holdout.why_not =
        "the cells left once the hold-out is taken out: " + part.status().message();
    return out;
  }
  std::vector<double> abs_errors, abs_errors_total;
  for (const Cell& c : held) {
    HeldOutCell h{c, part->predict(form.features(c.calls, c.work_us, c.payload_bytes)), {}, {}};
    if (c.value != 0) {
      h.error_pct = 100 * (h.predicted - c.value) / std::abs(c.value);
      abs_errors.push_back(std::abs(*h.error_pct));
    }
    if (c.total > 0) {
      h.error_pct_of_total = 100 * (h.predicted - c.value) / c.total;
      abs_errors_total.push_back(std::abs(*h.error_pct_of_total));
    }
    out.holdout.cells.push_back(h);
  }
  if (abs_errors_total.size() == held.size()) {
    out.holdout.median_abs_error_pct_of_total = median(abs_errors_total);
    out.holdout.worst_abs_error_pct_of_total =
        *std::max_element(abs_errors_total.begin(), abs_errors_total.end());
  }
  if (abs_errors.empty()) {
    out.holdout.why_not = "every held-out cell measured exactly 0";
    return out;
  }
  out.holdout.available = true;
  out.holdout.median_abs_error_pct = median(abs_errors);
  out.holdout.worst_abs_error_pct = *std::max_element(abs_errors.begin(), abs_errors.end());
  return out;
}

Result<ModelFit> chooseDelta(const std::vector<Cell>& cells) {
  SEAMS_RETURN_IF_ERROR(needLevels(cells, false));
  const std::vector<Form> forms = deltaForms();
  std::vector<Result<ModelFit>> fits;
  for (const Form& f : forms) fits.push_back(fitForm(f, cells));
  if (!fits[0].ok()) return fits[0].status();
  std::vector<Considered> considered;
  std::size_t best = 0;
  std::string why =
      "the simplest form: a cost per call and per byte, nothing per request or per unit of work";
  for (std::size_t i = 0; i < forms.size(); ++i) {
    Considered c;
    c.formula = forms[i].formula;
    if (!fits[i].ok()) {
      c.error = fits[i].status().message();
      considered.push_back(c);
      continue;
    }
    const ModelFit& m = *fits[i];
    c.r2 = m.fit.r2;
    if (m.holdout.available) c.holdout_median_abs_error_pct = m.holdout.median_abs_error_pct;
    // The terms beyond the first form's (a, b) are c and d.
    for (const Param& p : m.fit.params) {
      if ((p.name == "c" || p.name == "d") && !p.significant()) c.extra_terms_significant = false;
    }
    considered.push_back(c);
    if (i == 0) continue;
    const ModelFit& cur = *fits[best];
    // Material, not merely significant: with 80 cells a term of no practical weight can have an
    // interval clear of 0, so it must also cut the held-out error by a fifth and by at least a
    // percentage point (without a hold-out: the unexplained variance by a fifth).
    const bool better =
        m.holdout.available && cur.holdout.available
            ? m.holdout.median_abs_error_pct <= 0.8 * cur.holdout.median_abs_error_pct &&
                  m.holdout.median_abs_error_pct <= cur.holdout.median_abs_error_pct - 1
            : 1 - m.fit.r2 <= 0.8 * (1 - cur.fit.r2) && m.fit.r2 > cur.fit.r2;
    if (!c.extra_terms_significant) continue;
    if (!better) continue;
    best = i;
    why =
        forms[i].formula + ": its extra terms' 95% intervals exclude 0 and it cuts the " +
        (m.holdout.available ? "median held-out error (" + fmtNum(m.holdout.median_abs_error_pct) +
                                   "% vs " + fmtNum(cur.holdout.median_abs_error_pct) + "%)"
                             : std::string("unexplained variance"));
  }
  if (best == 0) {
    std::string rejected;
    for (std::size_t i = 1; i < considered.size(); ++i) {
      const Considered& c = considered[i];
      rejected += "; " + c.formula + ": " +
                  (!c.error.empty()             ? c.error
                   : !c.extra_terms_significant ? "an extra term's interval contains 0"
                                                : "held-out error not materially lower");
    }
    why += rejected;
  }
  considered[best].chosen = true;
  ModelFit out = *fits[best];
  out.considered = considered;
  out.why = why;
  return out;
}

Result<ModelFit> fitReference(const std::vector<Cell>& cells) {
  SEAMS_RETURN_IF_ERROR(needLevels(cells, true));
  auto m = fitForm(referenceForm(), cells);
  if (!m.ok()) return m;
  m->why = "fixed: a per-request cost, then K calls in process, each its work and its bytes";
  return m;
}

bool Range::contains(double k, double w, double b) const {
  return k >= calls[0] && k <= calls[1] && w >= work_us[0] && w <= work_us[1] &&
         b >= payload_bytes[0] && b <= payload_bytes[1];
}

Range rangeOf(const std::vector<Cell>& cells) {
  Range r;
  r.calls_values = levels(cells, &Cell::calls);
  r.work_values = levels(cells, &Cell::work_us);
  r.payload_values = levels(cells, &Cell::payload_bytes);
  if (cells.empty()) return r;
  r.calls[0] = r.calls_values.front(), r.calls[1] = r.calls_values.back();
  r.work_us[0] = r.work_values.front(), r.work_us[1] = r.work_values.back();
  r.payload_bytes[0] = r.payload_values.front(), r.payload_bytes[1] = r.payload_values.back();
  return r;
}

Result<SweepCells> readSweep(const json& doc) {
  if (!doc.is_object() || !doc.contains("sweep") || !doc["sweep"].is_object())
    return Status(Errc::not_found,
                  "no \"sweep\" in it (run seam-bench run --scenarios sweep to measure one)");
  const json& sweep = doc["sweep"];
  if (!sweep.contains("cells") || !sweep["cells"].is_array() || sweep["cells"].empty())
    return Status(Errc::invalid_argument, "its \"sweep\" has no cells");
  SweepCells out;
  out.reference = sweep.value("reference", std::string("mono"));
  for (const json& c : sweep["cells"]) {
    if (!c.is_object() || !c.contains("deployment") || !c["deployment"].is_string())
      return Status(Errc::invalid_argument, "a sweep cell without a deployment");
    const std::string dep = c["deployment"].get<std::string>();
    const auto k = num(c, "calls"), w = num(c, "work_us"), b = num(c, "payload_bytes"),
               conns = num(c, "connections");
    if (!k || !w || !b || *k < 0 || *w < 0 || *b < 0)
      return Status(
          Errc::invalid_argument,
          "a sweep cell of " + dep + " without non-negative calls, work_us and payload_bytes");
    if (conns && *conns != 1) continue;
    if (dep == out.reference) {
      if (auto v = num(c, "p50_us")) out.reference_latency.push_back({*k, *w, *b, *v});
      if (auto v = num(c, "cpu_us_per_req")) out.reference_cpu.push_back({*k, *w, *b, *v});
      continue;
    }
    json m = {{"calls", *k}, {"work_us", *w}, {"payload_bytes", *b}};
    for (const char* key : {"p50_us", "cpu_us_per_req", "delta_latency_us", "tax_latency",
                            "delta_cpu_us", "tax_cpu"}) {
      if (auto v = num(c, key)) m[key] = *v;
    }
    // The split figure and mono's (split − Δ) set the Δ's noise scale; 0 when either is absent.
    auto deltaCell = [&](double delta, const char* figure) {
      const auto v = num(c, figure);
      return Cell{*k, *w, *b, delta, v ? std::hypot(*v, *v - delta) : 0.0, v ? *v : 0.0};
    };
    if (auto v = num(c, "delta_latency_us"))
      out.delta_latency[dep].push_back(deltaCell(*v, "p50_us"));
    if (auto v = num(c, "delta_cpu_us"))
      out.delta_cpu[dep].push_back(deltaCell(*v, "cpu_us_per_req"));
    out.measured[dep].push_back(m);
  }
  if (out.reference_latency.empty())
    return Status(Errc::invalid_argument,
                  "its sweep has no connections=1 cells of the reference (" + out.reference +
                      ") with p50_us");
  if (out.delta_latency.empty() && out.delta_cpu.empty())
    return Status(Errc::invalid_argument,
                  "its sweep has no split deployment with delta_latency_us or delta_cpu_us at "
                  "connections=1");
  return out;
}

Result<Model> buildModel(const SweepCells& cells) {
  Model m;
  m.reference = cells.reference;
  auto lat = fitReference(cells.reference_latency);
  if (!lat.ok())
    return Status(lat.code(), cells.reference + "'s latency: " + lat.status().message());
  auto cpu = fitReference(cells.reference_cpu);
  if (!cpu.ok()) return Status(cpu.code(), cells.reference + "'s CPU: " + cpu.status().message());
  m.reference_latency = *lat;
  m.reference_cpu = *cpu;
  m.reference_range = rangeOf(cells.reference_latency);
  std::set<std::string> names;
  for (const auto& [d, _] : cells.delta_latency) names.insert(d);
  for (const auto& [d, _] : cells.delta_cpu) names.insert(d);
  for (const std::string& d : names) {
    DeploymentModel dm;
    const auto lit = cells.delta_latency.find(d);
    const auto cit = cells.delta_cpu.find(d);
    const std::vector<Cell> none;
    const std::vector<Cell>& lc = lit == cells.delta_latency.end() ? none : lit->second;
    const std::vector<Cell>& cc = cit == cells.delta_cpu.end() ? none : cit->second;
    dm.range = rangeOf(lc.empty() ? cc : lc);
    auto l = chooseDelta(lc);
    if (l.ok()) {
      dm.latency = *l;
    } else {
      dm.error = "latency: " + l.status().message();
    }
    auto c = chooseDelta(cc);
    if (c.ok()) {
      dm.cpu = *c;
    } else {
      dm.error += (dm.error.empty() ? "" : "; ") + std::string("cpu: ") + c.status().message();
    }
    m.deployments[d] = dm;
  }
  return m;
}

Tax predictTax(const ModelFit& delta, const ModelFit& reference, double k, double w, double b) {
  Tax t;
  const double d = delta.predict(k, w, b), dse = delta.predictSe(k, w, b);
  const double r = reference.predict(k, w, b), rse = reference.predictSe(k, w, b);
  t.delta = d;
  t.delta_low = d - delta.fit.t95 * dse;
  t.delta_high = d + delta.fit.t95 * dse;
  t.reference = r;
  t.reference_low = r - reference.fit.t95 * rse;
  t.reference_high = r + reference.fit.t95 * rse;
  if (r > 0) {
    // Delta method for Δ/M with the two fits independent; the wider of their t quantiles.
    t.fraction = d / r;
    const double se =
        std::sqrt((dse / r) * (dse / r) + (t.fraction * rse / r) * (t.fraction * rse / r));
    const double q = std::max(delta.fit.t95, reference.fit.t95);
    t.fraction_low = t.fraction - q * se;
    t.fraction_high = t.fraction + q * se;
  } else {
    t.fraction = t.fraction_low = t.fraction_high = std::nan("");
  }
  return t;
}

std::optional<double> workAtFraction(const ModelFit& delta, const ModelFit& reference, double k,
                                     double b, double fraction) {
  // Both fits are linear in W: Δ = d0 + d1·W, M = m0 + m1·W; solve Δ = f·M.
  const double d0 = delta.predict(k, 0, b), d1 = delta.predict(k, 1, b) - d0;
  const double m0 = reference.predict(k, 0, b), m1 = reference.predict(k, 1, b) - m0;
  if (m0 > 0 && d0 <= fraction * m0) return 0.0;
  const double slope = fraction * m1 - d1;  // how fast f·M − Δ grows with W
  if (!(slope > 0)) return std::nullopt;
  const double w = (d0 - fraction * m0) / slope;
  return std::max(w, 0.0);
}

double representativePayload(const Range& range) {
  constexpr double kPreferred = 4096;
  if (range.payload_values.empty()) return kPreferred;
  if (kPreferred >= range.payload_bytes[0] && kPreferred <= range.payload_bytes[1])
    return kPreferred;
  double best = range.payload_values.front();
  for (double b : range.payload_values) {
    if (std::abs(std::log(std::max(b, 1.0) / kPreferred)) <
        std::abs(std::log(std::max(best, 1.0) / kPreferred)))
      best = b;
  }
  return best;
}

json fitJson(const ModelFit& m, const std::string& unit) {
  json params = json::array();
  for (const Param& p : m.fit.params) {
    params.push_back({{"name", p.name},
                      {"value", p.value},
                      {"unit", p.unit},
                      {"ci95", {p.ci_low, p.ci_high}},
                      {"se", p.se}});
  }
  json holdout;
  if (m.holdout.available) {
    json cells = json::array();
    for (const HeldOutCell& h : m.holdout.cells) {
      cells.push_back({{"calls", h.cell.calls},
                       {"work_us", h.cell.work_us},
                       {"payload_bytes", h.cell.payload_bytes},
                       {"measured", h.cell.value},
                       {"predicted", h.predicted},
                       {"error_pct", h.error_pct ? json(*h.error_pct) : json()}});
      if (h.error_pct_of_total) cells.back()["error_pct_of_total"] = *h.error_pct_of_total;
    }
    holdout = {
        {"cells", cells},
        {"median_abs_error_pct", m.holdout.median_abs_error_pct},
        {"worst_abs_error_pct", m.holdout.worst_abs_error_pct},
        {"median_abs_error_pct_of_total", m.holdout.median_abs_error_pct_of_total
                                              ? json(*m.holdout.median_abs_error_pct_of_total)
                                              : json()},
        {"worst_abs_error_pct_of_total", m.holdout.worst_abs_error_pct_of_total
                                             ? json(*m.holdout.worst_abs_error_pct_of_total)
                                             : json()},
        {"rule",
         "cells whose ranks in calls, work_us and payload_bytes sum to 3 mod 4; "
         "fitted on the others"},
        {"error",
         "error_pct: (predicted - measured) / |measured| of the fitted figure; "
         "error_pct_of_total: the same difference over the split deployment's "
         "own figure"}};
  } else {
    holdout = {{"cells", json::array()},
               {"median_abs_error_pct", nullptr},
               {"worst_abs_error_pct", nullptr},
               {"why_not", m.holdout.why_not}};
  }
  json out = {{"form", m.form.formula},
              {"unit", unit},
              {"params", params},
              {"r2", m.fit.r2},
              {"n_fit", m.fit.n},
              {"dof", m.fit.dof},
              {"holdout", holdout},
              {"reported", "parameters refitted on every cell, hold-out included"},
              {"why", m.why}};
  if (!m.considered.empty()) {
    json considered = json::array();
    for (const Considered& c : m.considered) {
      json j = {{"form", c.formula}, {"chosen", c.chosen}};
      if (!c.error.empty()) {
        j["error"] = c.error;
      } else {
        j["r2"] = c.r2;
        j["holdout_median_abs_error_pct"] =
            c.holdout_median_abs_error_pct ? json(*c.holdout_median_abs_error_pct) : json();
        j["extra_terms_significant"] = c.extra_terms_significant;
      }
      considered.push_back(j);
    }
    out["considered"] = considered;
  }
  return out;
}

namespace {

json rangeJson(const Range& r) {
  return {{"calls", {r.calls[0], r.calls[1]}},
          {"work_us", {r.work_us[0], r.work_us[1]}},
          {"payload_bytes", {r.payload_bytes[0], r.payload_bytes[1]}}};
}

// calls: powers of two across the measured range (and its ends); work: 0 (if measured) then
// 1-2-5 steps up to the measured maximum, and the maximum itself.
json breakevenJson(const DeploymentModel& dm, const Model& model) {
  const Range& r = dm.range;
  const double b = representativePayload(r);
  std::vector<double> ks, ws;
  for (double k = 1; k <= r.calls[1]; k *= 2) {
    if (k >= r.calls[0]) ks.push_back(k);
  }
  if (ks.empty() || ks.front() != r.calls[0]) ks.insert(ks.begin(), r.calls[0]);
  if (ks.back() != r.calls[1]) ks.push_back(r.calls[1]);
  if (r.work_us[0] == 0) ws.push_back(0);
  for (double decade = 1; decade <= r.work_us[1]; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double w = m * decade;
      if (w >= r.work_us[0] && w <= r.work_us[1]) ws.push_back(w);
    }
  }
  if (ws.empty() || ws.back() != r.work_us[1]) ws.push_back(r.work_us[1]);
  json out = {{"payload_bytes", b}, {"calls", ks}, {"work_us", ws}};
  auto grid = [&](const std::optional<ModelFit>& delta, const ModelFit& ref, const char* tax,
                  const char* at10, const char* at1) {
    if (!delta) return;
    json rows = json::array(), w10 = json::array(), w1 = json::array();
    for (double k : ks) {
      json row = json::array();
      for (double w : ws) {
        const double m = ref.predict(k, w, b);
        row.push_back(m > 0 ? json(delta->predict(k, w, b) / m) : json());
      }
      rows.push_back(row);
      for (auto [f, arr] : {std::pair{0.10, &w10}, std::pair{0.01, &w1}}) {
        const auto w = workAtFraction(*delta, ref, k, b, f);
        arr->push_back(w && *w <= r.work_us[1] ? json(*w) : json());
      }
    }
    out[tax] = rows;
    out[at10] = w10;
    out[at1] = w1;
  };
  grid(dm.latency, model.reference_latency, "tax_latency", "work_us_at_10pct", "work_us_at_1pct");
  grid(dm.cpu, model.reference_cpu, "tax_cpu", "cpu_work_us_at_10pct", "cpu_work_us_at_1pct");
  out["note"] =
      "tax = predicted delta / mono's predicted figure; work_us_at_*: the work per call where the "
      "latency tax falls below 10% / 1% at these calls and payload, null if not within the "
      "measured work range (cpu_*: the same for CPU)";
  return out;
}

}  // namespace

json toJson(const Model& model) {
  json deps = json::object();
  for (const auto& [name, dm] : model.deployments) {
    json d = {{"range", rangeJson(dm.range)}};
    if (dm.latency) d["latency"] = fitJson(*dm.latency, "us");
    if (dm.cpu) d["cpu"] = fitJson(*dm.cpu, "us");
    if (!dm.error.empty()) d["error"] = dm.error;
    d["breakeven"] = breakevenJson(dm, model);
    deps[name] = d;
  }
  return {{"fitted_on", "connections=1"},
          {"reference", model.reference},
          {"method",
           "weighted least squares, noise proportional to size: a delta's weight 1/(split^2 + "
           "mono^2) (the two figures it is the difference of), mono's 1/yhat^2 (iterated twice); "
           "95% intervals Student t at n - p degrees of freedom"},
          {"reference_fit",
           {{"latency", fitJson(model.reference_latency, "us")},
            {"cpu", fitJson(model.reference_cpu, "us")},
            {"range", rangeJson(model.reference_range)}}},
          {"deployments", deps}};
}

json modelOfRun(const json& doc) {
  auto cells = readSweep(doc);
  if (!cells.ok()) return {{"error", cells.status().message()}};
  auto m = buildModel(*cells);
  if (!m.ok()) return {{"error", m.status().message()}};
  return toJson(*m);
}

}  // namespace seams::bench::model

// The boundary-cost model: what a call across the seam costs, fitted from a seam-bench sweep.
//
// Input: the top-level "sweep" of a seam-bench JSON (bench/seam-bench/scenario_sweep.cpp): per
// deployment and cell (calls per request K, work per call W µs, reply payload B bytes,
// connections) the medians over repeats, and for each split deployment its difference from the
// reference (mono) in p50 latency ("delta_latency_us") and CPU per request ("delta_cpu_us").
// Only connections = 1 cells are fitted: at one connection the figures are the cost of one
// request, not of a queue.
//
// Per split deployment the extra latency and CPU over mono are fitted as a linear function of K,
// B and (if the data ask for it) W; mono's own latency and CPU are fitted too, so the tax as a
// fraction of mono's time can be predicted for any (K, W, B). The forms:
//   Δ      = K·(a + b·B)                   the start: a per-call cost and a per-byte cost
//            [+ c]  [+ K·d·W]              kept only when the data need them (ChooseDelta below)
//   mono   = c0 + K·(c1 + w·W + c2·B)      a per-request cost, then K in-process calls, each its
//                                          work (w ≈ 1 if the calibration holds) and its bytes
// Fitting: weighted least squares with the noise taken as proportional to a cell's size, because
// the cells span three orders of magnitude and their noise grows with the figure: unweighted,
// the 1 MiB × 16-call cells alone would decide every parameter and the small cells' predictions
// would be off by more than their size. The weight is 1/s², s the cell's noise_scale (for a Δ:
// hypot of the split and mono figures it is the difference of); where a cell has none, s is the
// prediction ŷ (an unweighted first pass, then twice reweighted).
// Hold-out: cells whose ranks in K, W and B (among the fitted values) sum to 3 modulo 4 — about
// a quarter, spread over every level of each dimension — are left out, the rest fitted, and the
// held-out cells predicted; the reported parameters are then refitted on all cells.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/model/fit.h"
#include "core/common/status.h"

namespace seams::bench::model {

// One measured cell (connections = 1) and the figure fitted there.
struct Cell {
  double calls = 0;          // K
  double work_us = 0;        // W
  double payload_bytes = 0;  // B
  double value = 0;          // µs
  // What the cell's noise scales with, µs; 0: the figure itself. A Δ is the difference of two
  // measured figures, each noisy in proportion to its size, so its noise scales with
  // hypot(split, mono), not with Δ: at 1000 µs of work a 40 µs Δ carries the noise of 1000 µs.
  double noise_scale = 0;
  // For a Δ: the split deployment's own figure (0 if unknown), so a held-out error can also be
  // read against what a user sees: a 40 µs Δ missed by 20 µs is 50% of Δ but 2% of 1000 µs.
  double total = 0;
};

// What one column of a form is, as a function of (K, W, B).
enum class TermKind { one, calls, calls_bytes, calls_work };

struct FormTerm {
  TermKind kind;
  Term term;
};

// A linear form over (K, W, B).
struct Form {
  std::string formula;  // "dt = K*(a + b*B)"
  std::vector<FormTerm> terms;

  std::vector<double> features(double calls, double work_us, double payload_bytes) const;
  std::vector<Term> plainTerms() const;
};

// The forms considered for a split deployment's Δ, simplest first, and mono's form.
std::vector<Form> deltaForms();
Form referenceForm();

struct HeldOutCell {
  Cell cell;
  double predicted = 0;
  std::optional<double> error_pct;  // 100·(predicted − measured)/|measured|; none if measured 0
  std::optional<double> error_pct_of_total;  // 100·(predicted − measured)/total, if total > 0
};

struct Holdout {
  bool available = false;
  std::string why_not;  // when not available
  std::vector<HeldOutCell> cells;
  double median_abs_error_pct = 0, worst_abs_error_pct = 0;
  std::optional<double> median_abs_error_pct_of_total, worst_abs_error_pct_of_total;
};

// A form considered for a figure, and why it was or was not kept.
struct Considered {
  std::string formula;
  double r2 = 0;
  std::optional<double> holdout_median_abs_error_pct;
  bool extra_terms_significant = true;
  bool chosen = false;
  std::string error;  // the form could not be fitted
};

struct ModelFit {
  Form form;
  LinearFit fit;  // on all cells: the reported parameters
  Holdout holdout;
  std::vector<Considered> considered;  // empty for a fixed form
  std::string why;                     // why this form

  double predict(double calls, double work_us, double payload_bytes) const;
  double predictSe(double calls, double work_us, double payload_bytes) const;
};

// Fits `form` to `cells` (relative least squares, see above), with the hold-out.
Result<ModelFit> fitForm(const Form& form, const std::vector<Cell>& cells);
// Fits each of deltaForms() and keeps the simplest that the data do not contradict: a term
// beyond K·(a + b·B) is kept only when its 95% interval excludes 0 *and* it cuts the median
// held-out error materially (by a fifth, and by at least one percentage point). Refuses cells with
// fewer than two distinct K or B (they cannot tell a per-call cost from a per-request one, or a
// per-byte cost from a per-call one).
Result<ModelFit> chooseDelta(const std::vector<Cell>& cells);
// mono's form; also needs two distinct W.
Result<ModelFit> fitReference(const std::vector<Cell>& cells);

struct Range {
  double calls[2] = {0, 0}, work_us[2] = {0, 0}, payload_bytes[2] = {0, 0};
  std::vector<double> calls_values, work_values, payload_values;  // the measured levels, sorted
  bool contains(double calls, double work_us, double payload_bytes) const;
};
Range rangeOf(const std::vector<Cell>& cells);

// The connections = 1 cells of one sweep, by figure.
struct SweepCells {
  std::string reference = "mono";
  std::vector<Cell> reference_latency, reference_cpu;  // p50_us, cpu_us_per_req of mono
  // deployment -> its delta_latency_us / delta_cpu_us cells (null ones left out)
  std::map<std::string, std::vector<Cell>> delta_latency, delta_cpu;
  // deployment -> (K, W, B) -> {p50_us, delta, tax}: the measured cells, for "rests on"
  std::map<std::string, std::vector<nlohmann::json>> measured;
};
// Reads doc["sweep"]. Refused: no "sweep", no cells, no reference cells, no split deployment
// with deltas, a cell whose calls, work_us or payload_bytes are missing or negative.
Result<SweepCells> readSweep(const nlohmann::json& doc);

struct DeploymentModel {
  std::optional<ModelFit> latency, cpu;
  std::string error;  // why a figure could not be fitted (then the other may still be)
  Range range;
};

struct Model {
  std::string reference;
  ModelFit reference_latency, reference_cpu;
  Range reference_range;
  std::map<std::string, DeploymentModel> deployments;
};
Result<Model> buildModel(const SweepCells& cells);

// A predicted tax: Δ in µs and as a fraction of mono's predicted figure, with 95% intervals.
struct Tax {
  double delta = 0, delta_low = 0, delta_high = 0;              // µs
  double reference = 0, reference_low = 0, reference_high = 0;  // mono, µs
  double fraction = 0, fraction_low = 0, fraction_high = 0;     // Δ / mono (delta method)
};
Tax predictTax(const ModelFit& delta, const ModelFit& reference, double calls, double work_us,
               double payload_bytes);

// The work per call W ≥ 0 at which Δ/mono falls to `fraction` for these K and B (0 when it is
// already below at W = 0; none when it never falls that low). Not bounded by the measured range.
std::optional<double> workAtFraction(const ModelFit& delta, const ModelFit& reference, double calls,
                                     double payload_bytes, double fraction);

// The payload of the break-even grid: 4096 B when measured range holds it, else the measured
// payload nearest to it (on a log scale).
double representativePayload(const Range& range);

// doc["model"]: its shape is in README.md beside this file.
nlohmann::json toJson(const Model& model);
nlohmann::json fitJson(const ModelFit& fit, const std::string& unit);

// The one call seam-bench run makes: doc["model"] from doc["sweep"], or {"error": why}.
nlohmann::json modelOfRun(const nlohmann::json& doc);

}  // namespace seams::bench::model

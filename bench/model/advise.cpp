#include "bench/model/advise.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>

#include "bench/model/model.h"

namespace seams::bench::model {
namespace {

using nlohmann::json;

// A non-negative finite number, with an optional K/M/G suffix (powers of 1024) when `sizes`.
std::optional<double> parseNumber(const std::string& s, bool sizes) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno != 0 || !std::isfinite(v)) return std::nullopt;
  std::string rest(end);
  if (sizes && !rest.empty()) {
    if (rest == "K" || rest == "KiB") {
      v *= 1024;
    } else if (rest == "M" || rest == "MiB") {
      v *= 1024 * 1024;
    } else if (rest == "G" || rest == "GiB") {
      v *= 1024.0 * 1024 * 1024;
    } else {
      return std::nullopt;
    }
    rest.clear();
  }
  if (!rest.empty()) return std::nullopt;
  return v;
}

// The measured levels that bracket v: the largest at or below it and the smallest at or above
// (one level when v is one, or outside the range).
std::vector<double> bracket(const std::vector<double>& levels, double v) {
  std::vector<double> out;
  const double* below = nullptr;
  const double* above = nullptr;
  for (const double& l : levels) {
    if (l <= v) below = &l;
    if (l >= v && !above) above = &l;
  }
  if (below) out.push_back(*below);
  if (above && (!below || *above != *below)) out.push_back(*above);
  return out;
}

// 2097152 rather than 2.09715e+06: the inputs and levels are mostly whole numbers.
std::string plain(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

bool isLevel(const std::vector<double>& set, double v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

json taxJson(const Tax& t) {
  return {{"delta_us", t.delta},
          {"delta_ci95_us", {t.delta_low, t.delta_high}},
          {"reference_us", t.reference},
          {"fraction", std::isfinite(t.fraction) ? json(t.fraction) : json()},
          {"fraction_ci95",
           std::isfinite(t.fraction) ? json({t.fraction_low, t.fraction_high}) : json()}};
}

json workJson(const std::optional<double>& w, const Range& r) {
  if (!w) return {{"work_us", nullptr}, {"reached", false}};
  return {{"work_us", *w}, {"reached", true}, {"within_measured_range", *w <= r.work_us[1]}};
}

// "calls 32 is outside the measured 1..16 (mono, split/capnp/push)": each input outside the
// range of any fit, the fits that share a range named together.
std::vector<std::string> outside(const std::vector<std::pair<std::string, const Range*>>& fits,
                                 const AdviseInputs& in) {
  std::vector<std::pair<std::string, std::string>> found;  // (what is outside, who)
  for (const auto& entry : fits) {
    // Named copies, not structured bindings: a lambda may not capture those before C++20's
    // P1091 (clang 14 refuses).
    const auto& who = entry.first;
    const auto& r = entry.second;
    auto check = [&](const char* what, double v, const double(&lim)[2]) {
      if (v >= lim[0] && v <= lim[1]) return;
      const std::string key = fmt::format("{} {} is outside the measured {}..{}", what, plain(v),
                                          plain(lim[0]), plain(lim[1]));
      auto it =
          std::find_if(found.begin(), found.end(), [&](const auto& f) { return f.first == key; });
      if (it == found.end()) {
        found.emplace_back(key, who);
      } else {
        it->second += ", " + who;
      }
    };
    check("calls", in.calls, r->calls);
    check("work_us", in.work_us, r->work_us);
    check("payload_bytes", in.payload_bytes, r->payload_bytes);
  }
  std::vector<std::string> out;
  for (const auto& [what, who] : found) out.push_back(what + " (" + who + ")");
  return out;
}

std::string pct(const json& f) {
  return f.is_number() ? fmt::format("{:.1f}%", 100 * f.get<double>()) : "n/a";
}

std::string interval(const json& ci, bool as_pct) {
  if (!ci.is_array() || ci.size() != 2) return "";
  if (as_pct) return fmt::format(" [{}, {}]", pct(ci[0]), pct(ci[1]));
  return fmt::format(" [{:.1f}, {:.1f}]", ci[0].get<double>(), ci[1].get<double>());
}

std::string workText(const json& w, double measured_max) {
  if (!w.value("reached", false)) return "never (the tax does not fall that low as work grows)";
  const double v = w["work_us"].get<double>();
  std::string s = fmt::format("{:.0f} us", v);
  if (v > measured_max)
    s += fmt::format(" (beyond the measured {} us: extrapolated)", plain(measured_max));
  return s;
}

std::string modelText(const json& fit) {
  std::string s = fit["form"].get<std::string>() + ":";
  bool first = true;
  for (const json& p : fit["params"]) {
    s += fmt::format("{} {} = {:.4g} {} [{:.4g}, {:.4g}]", first ? "" : ",",
                     p["name"].get<std::string>(), p["value"].get<double>(),
                     p["unit"].get<std::string>(), p["ci95"][0].get<double>(),
                     p["ci95"][1].get<double>());
    first = false;
  }
  s += fmt::format("; R² {:.3f}", fit["r2"].get<double>());
  const json& h = fit["holdout"];
  if (h["median_abs_error_pct"].is_number()) {
    s += fmt::format("; held-out error median {:.1f}%, worst {:.1f}% ({} cells)",
                     h["median_abs_error_pct"].get<double>(),
                     h["worst_abs_error_pct"].get<double>(), h["cells"].size());
    if (h.value("median_abs_error_pct_of_total", json()).is_number())
      s += fmt::format(" (of the split figure: median {:.1f}%, worst {:.1f}%)",
                       h["median_abs_error_pct_of_total"].get<double>(),
                       h["worst_abs_error_pct_of_total"].get<double>());
  } else {
    s += "; no hold-out (" + h.value("why_not", std::string()) + ")";
  }
  return s;
}

}  // namespace

Result<json> advise(const json& doc, const AdviseInputs& in) {
  auto cells = readSweep(doc);
  if (!cells.ok()) return cells.status();
  auto model = buildModel(*cells);
  if (!model.ok()) return model.status();
  std::vector<std::pair<std::string, const Range*>> fits = {
      {model->reference, &model->reference_range}};
  for (const auto& [name, dm] : model->deployments) fits.emplace_back(name, &dm.range);
  const std::vector<std::string> out_of_range = outside(fits, in);
  if (!out_of_range.empty() && !in.extrapolate) {
    std::string msg;
    for (const auto& s : out_of_range) msg += (msg.empty() ? "" : "; ") + s;
    return Status(Errc::invalid_argument,
                  msg + " (the model is only measured there; --extrapolate predicts anyway)");
  }
  json warnings = json::array();
  for (const auto& s : out_of_range) warnings.push_back("extrapolated: " + s);
  const ModelFit& ref_lat = model->reference_latency;
  const ModelFit& ref_cpu = model->reference_cpu;
  auto refPoint = [&](const ModelFit& f) {
    const double m = f.predict(in.calls, in.work_us, in.payload_bytes);
    const double h = f.fit.t95 * f.predictSe(in.calls, in.work_us, in.payload_bytes);
    return json{{"us", m}, {"ci95_us", {m - h, m + h}}};
  };
  json deps = json::object();
  for (const auto& [name, dep_model] : model->deployments) {
    const auto& dm = dep_model;  // a lambda below captures it (not a structured binding: clang 14)
    json d = {{"range",
               {{"calls", {dm.range.calls[0], dm.range.calls[1]}},
                {"work_us", {dm.range.work_us[0], dm.range.work_us[1]}},
                {"payload_bytes", {dm.range.payload_bytes[0], dm.range.payload_bytes[1]}}}}};
    if (!dm.error.empty()) d["error"] = dm.error;
    auto figure = [&](const std::optional<ModelFit>& delta, const ModelFit& ref, const char* key) {
      if (!delta) return;
      json f = taxJson(predictTax(*delta, ref, in.calls, in.work_us, in.payload_bytes));
      f["work_for_10pct"] =
          workJson(workAtFraction(*delta, ref, in.calls, in.payload_bytes, 0.10), dm.range);
      f["work_for_1pct"] =
          workJson(workAtFraction(*delta, ref, in.calls, in.payload_bytes, 0.01), dm.range);
      f["model"] = fitJson(*delta, "us");
      d[key] = f;
    };
    figure(dm.latency, ref_lat, "latency");
    figure(dm.cpu, ref_cpu, "cpu");
    // The measured cells at the levels of K, W and B that bracket the inputs.
    const auto ks = bracket(dm.range.calls_values, in.calls),
               ws = bracket(dm.range.work_values, in.work_us),
               bs = bracket(dm.range.payload_values, in.payload_bytes);
    json rests = json::array();
    const auto mit = cells->measured.find(name);
    if (mit != cells->measured.end()) {
      for (const json& c : mit->second) {
        if (isLevel(ks, c["calls"].get<double>()) && isLevel(ws, c["work_us"].get<double>()) &&
            isLevel(bs, c["payload_bytes"].get<double>()))
          rests.push_back(c);
      }
    }
    d["rests_on"] = rests;
    deps[name] = d;
  }
  return json{
      {"inputs",
       {{"calls", in.calls}, {"work_us", in.work_us}, {"payload_bytes", in.payload_bytes}}},
      {"fitted_on", "connections=1"},
      {"reference", model->reference},
      {"reference_predicted", {{"latency", refPoint(ref_lat)}, {"cpu", refPoint(ref_cpu)}}},
      {"reference_model", {{"latency", fitJson(ref_lat, "us")}, {"cpu", fitJson(ref_cpu, "us")}}},
      {"extrapolated", !out_of_range.empty()},
      {"warnings", warnings},
      {"interval",
       "95% for the mean at this point, from the fits' covariances (the fraction's by the "
       "delta method)"},
      {"deployments", deps}};
}

std::string adviceText(const json& a) {
  std::ostringstream s;
  const json& in = a["inputs"];
  s << fmt::format(
      "seam-bench advise: {} calls per request, {} us of work per call, {} bytes per reply "
      "(model fitted on the sweep's {} cells; reference {})\n",
      plain(in["calls"].get<double>()), plain(in["work_us"].get<double>()),
      plain(in["payload_bytes"].get<double>()), a["fitted_on"].get<std::string>(),
      a["reference"].get<std::string>());
  for (const json& w : a["warnings"]) s << "WARNING: " << w.get<std::string>() << "\n";
  const json& rp = a["reference_predicted"];
  s << fmt::format("{} predicted: latency {:.1f} us{}, CPU {:.1f} us per request{}\n",
                   a["reference"].get<std::string>(), rp["latency"]["us"].get<double>(),
                   interval(rp["latency"]["ci95_us"], false), rp["cpu"]["us"].get<double>(),
                   interval(rp["cpu"]["ci95_us"], false));
  s << "  model: " << modelText(a["reference_model"]["latency"]) << "\n";
  s << "  CPU model: " << modelText(a["reference_model"]["cpu"]) << "\n";
  for (const auto& [name, d] : a["deployments"].items()) {
    s << "\n" << name << "\n";
    if (d.contains("error")) s << "  not fitted: " << d["error"].get<std::string>() << "\n";
    const double wmax = d["range"]["work_us"][1].get<double>();
    for (const auto& [key, label] : {std::pair{"latency", "latency"}, std::pair{"cpu", "CPU"}}) {
      if (!d.contains(key)) continue;
      const json& f = d[key];
      s << fmt::format("  {} tax: {:+.1f} us{} = {}{} of {}'s {:.1f} us\n", label,
                       f["delta_us"].get<double>(), interval(f["delta_ci95_us"], false),
                       pct(f["fraction"]), interval(f["fraction_ci95"], true),
                       a["reference"].get<std::string>(), f["reference_us"].get<double>());
      s << fmt::format("    work per call for a {} tax below 10%: {}; below 1%: {}\n", label,
                       workText(f["work_for_10pct"], wmax), workText(f["work_for_1pct"], wmax));
      s << "    model: " << modelText(f["model"]) << "\n";
    }
    s << "  rests on the measured cells:";
    if (d["rests_on"].empty()) s << " none near these inputs";
    s << "\n";
    for (const json& c : d["rests_on"]) {
      s << fmt::format("    K={} W={} B={}:", plain(c["calls"].get<double>()),
                       plain(c["work_us"].get<double>()), plain(c["payload_bytes"].get<double>()));
      if (c.contains("delta_latency_us"))
        s << fmt::format(" latency {:+.1f} us ({})", c["delta_latency_us"].get<double>(),
                         pct(c.value("tax_latency", json())));
      if (c.contains("delta_cpu_us"))
        s << fmt::format(", CPU {:+.1f} us ({})", c["delta_cpu_us"].get<double>(),
                         pct(c.value("tax_cpu", json())));
      s << "\n";
    }
  }
  return s.str();
}

int runAdvise(const AdviseOptions& o, std::ostream& out, std::ostream& err) {
  auto refuse = [&](const std::string& why) {
    err << "seam-bench advise: " << why << "\n";
    return 2;
  };
  if (o.from.empty()) return refuse("--from RESULTS.json is required");
  if (o.calls.empty()) return refuse("--calls K is required (calls per request, >= 1)");
  if (o.work_us.empty()) return refuse("--work-us W is required (work per call in us, >= 0)");
  if (o.payload.empty()) return refuse("--payload B is required (bytes per reply, >= 0)");
  AdviseInputs in;
  in.extrapolate = o.extrapolate;
  const auto k = parseNumber(o.calls, false);
  if (!k || *k < 1 || *k != std::floor(*k))
    return refuse("--calls must be a whole number >= 1, not '" + o.calls + "'");
  const auto w = parseNumber(o.work_us, false);
  if (!w || *w < 0) return refuse("--work-us must be a number >= 0, not '" + o.work_us + "'");
  const auto b = parseNumber(o.payload, true);
  if (!b || *b < 0)
    return refuse("--payload must be a number of bytes >= 0 (K, M, G suffixes allowed), not '" +
                  o.payload + "'");
  in.calls = *k, in.work_us = *w, in.payload_bytes = *b;
  if (!o.rtt_us.empty()) {
    const auto rtt = parseNumber(o.rtt_us, false);
    if (!rtt || *rtt < 0) return refuse("--rtt-us must be a number >= 0, not '" + o.rtt_us + "'");
  }
  std::ifstream f(o.from);
  if (!f) return refuse("cannot read " + o.from + ": " + std::strerror(errno));
  const json doc = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return refuse(o.from + " is not JSON");
  if (!doc.is_object() || doc.value("schema", json()) != "seam-bench/1")
    return refuse(o.from + " is not a seam-bench JSON (no \"schema\": \"seam-bench/1\")");
  if (!o.rtt_us.empty()) {
    // Issue 17's placements will measure the seam at a distance and refit with an RTT term;
    // until a JSON carries them there is nothing to scale.
    bool has_rtt = doc.contains("placements");
    if (doc.contains("sweep") && doc["sweep"].is_object() && doc["sweep"].contains("cells") &&
        doc["sweep"]["cells"].is_array()) {
      for (const json& c : doc["sweep"]["cells"]) {
        if (c.is_object() && c.contains("rtt_us")) has_rtt = true;
      }
    }
    if (!has_rtt)
      return refuse("--rtt-us: no RTT was measured in " + o.from +
                    " (its sweep ran on one host over UNIX sockets; the model has no RTT term to "
                    "scale)");
    return refuse("--rtt-us: " + o.from +
                  " has placements with an RTT, but this seam-bench cannot fit an RTT term yet");
  }
  auto a = advise(doc, in);
  if (!a.ok()) return refuse(o.from + ": " + a.status().message());
  if (o.json) {
    out << a->dump(2) << "\n";
  } else {
    out << adviceText(*a);
  }
  return 0;
}

}  // namespace seams::bench::model

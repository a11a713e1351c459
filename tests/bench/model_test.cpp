// The boundary-cost model on synthetic sweeps with known answers, and `seam-bench advise` on
// crafted JSON documents of the shape scenario_sweep writes (issue 14's contract).
#include "bench/model/model.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/model/advise.h"
#include "bench/model/fit.h"

namespace seams::bench::model {
namespace {

using nlohmann::json;

const std::vector<double> kCalls = {1, 2, 4, 8, 16};
const std::vector<double> kWork = {0, 10, 100, 1000};
const std::vector<double> kBytes = {64, 4096, 65536, 1048576};

// The truth the synthetic sweeps are made from (µs; bytes).
double monoLatency(double k, double w, double b) {
  return 20 + k * (5 + w + 0.0002 * b);
}
double monoCpu(double k, double w, double b) {
  return 30 + k * (8 + w + 0.0003 * b);
}
double splitLatency(double k, double b) {
  return k * (30 + 0.001 * b);
}
double splitCpu(double k, double b) {
  return k * (50 + 0.002 * b);
}

// Multiplicative noise of `rel` (standard deviation), seeded: the same sweep every run.
struct Noise {
  explicit Noise(double rel) : rel_(rel) {}
  double operator()(double v) { return rel_ == 0 ? v : v * (1 + rel_ * normal_(rng_)); }
  double rel_;
  std::mt19937 rng_{14};
  std::normal_distribution<double> normal_{0, 1};
};

json cell(const std::string& dep, double k, double w, double b, int conns) {
  return {{"deployment", dep},  {"calls", k},           {"work_us", w},
          {"payload_bytes", b}, {"connections", conns}, {"repeats", 2}};
}

// A seam-bench document whose sweep has mono and one split deployment over `calls` ×
// kWork × kBytes, plus connections = 4 cells with absurd figures that must not be fitted.
json sweepDoc(double rel_noise, const std::vector<double>& calls = kCalls) {
  Noise noise(rel_noise);
  json cells = json::array();
  for (double k : calls) {
    for (double w : kWork) {
      for (double b : kBytes) {
        // Each figure measured with its own noise; the Δ is their difference, as in a real sweep.
        const double ml = noise(monoLatency(k, w, b)), mc = noise(monoCpu(k, w, b));
        const double sl = noise(monoLatency(k, w, b) + splitLatency(k, b)),
                     sc = noise(monoCpu(k, w, b) + splitCpu(k, b));
        json m = cell("mono", k, w, b, 1);
        m["p50_us"] = ml;
        m["cpu_us_per_req"] = mc;
        m["tax_latency"] = nullptr;
        m["delta_latency_us"] = nullptr;
        cells.push_back(m);
        const double dl = sl - ml, dc = sc - mc;
        json s = cell("split/capnp/push", k, w, b, 1);
        s["p50_us"] = sl;
        s["cpu_us_per_req"] = sc;
        s["delta_latency_us"] = dl;
        s["delta_cpu_us"] = dc;
        s["tax_latency"] = dl / ml;
        s["tax_cpu"] = dc / mc;
        cells.push_back(s);
        json wild = cell("split/capnp/push", k, w, b, 4);
        wild["delta_latency_us"] = 1e9;
        wild["delta_cpu_us"] = -1e9;
        cells.push_back(wild);
      }
    }
  }
  return {{"schema", "seam-bench/1"},
          {"runs", json::array()},
          {"sweep", {{"reference", "mono"}, {"cells", cells}}}};
}

std::vector<Cell> deltaCells(double rel_noise, double intercept = 0) {
  Noise noise(rel_noise);
  std::vector<Cell> out;
  for (double k : kCalls) {
    for (double w : kWork) {
      for (double b : kBytes) out.push_back({k, w, b, noise(intercept + splitLatency(k, b))});
    }
  }
  return out;
}

const Param& param(const ModelFit& m, const std::string& name) {
  for (const Param& p : m.fit.params) {
    if (p.name == name) return p;
  }
  ADD_FAILURE() << "no parameter " << name << " in " << m.form.formula;
  static Param none;
  return none;
}

void expectWithin(const Param& p, double truth) {
  EXPECT_LE(p.ci_low, truth) << p.name;
  EXPECT_GE(p.ci_high, truth) << p.name;
  EXPECT_LT(p.ci_low, p.ci_high) << p.name;
}

TEST(LeastSquares, RecoversAKnownLineExactlyWithoutNoise) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (double u = 0; u < 10; ++u) {
    for (double v = 0; v < 3; ++v) {
      x.push_back({1, u, v * 1e6});
      y.push_back(3 + 2 * u + 5e-7 * v * 1e6);
    }
  }
  auto fit = leastSquares(x, y, {{"c", "us"}, {"u", "us"}, {"v", "us/byte"}});
  ASSERT_TRUE(fit.ok()) << fit.status().toString();
  EXPECT_NEAR(fit->params[0].value, 3, 1e-9);
  EXPECT_NEAR(fit->params[1].value, 2, 1e-9);
  EXPECT_NEAR(fit->params[2].value, 5e-7, 1e-15);
  EXPECT_NEAR(fit->r2, 1, 1e-12);
  EXPECT_EQ(fit->dof, 27);
}

TEST(LeastSquares, TheTrueParametersFallInsideTheIntervalsUnderNoise) {
  std::mt19937 rng(7);
  std::normal_distribution<double> e(0, 0.5);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 0; i < 60; ++i) {
    const double u = i % 12, v = i / 12;
    x.push_back({1, u, v});
    y.push_back(3 + 2 * u - 1.5 * v + e(rng));
  }
  auto fit = leastSquares(x, y, {{"c", ""}, {"u", ""}, {"v", ""}});
  ASSERT_TRUE(fit.ok());
  const double truth[] = {3, 2, -1.5};
  for (int j = 0; j < 3; ++j) expectWithin(fit->params[j], truth[j]);
  EXPECT_GT(fit->r2, 0.9);
  EXPECT_LT(fit->r2, 1);
  // t at 57 degrees of freedom is a little above the normal 1.96.
  EXPECT_NEAR(fit->t95, 2.0025, 1e-3);
}

TEST(LeastSquares, RefusesTooFewRowsAndCollinearColumns) {
  auto few = leastSquares({{1, 1}, {1, 2}}, {1, 2}, {{"c", ""}, {"a", ""}});
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("too few cells"), std::string::npos);
  // Every row has K = 4: "calls" is a multiple of the intercept.
  auto same = leastSquares({{1, 4}, {1, 4}, {1, 4}, {1, 4}}, {1, 2, 3, 4}, {{"c", ""}, {"a", ""}});
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("do not determine a"), std::string::npos);
  auto weights = leastSquares({{1}, {2}, {3}}, {1, 2, 3}, {{"a", ""}}, {1, 0, 1});
  EXPECT_FALSE(weights.ok());
  auto nan = leastSquares({{1}, {2}, {3}}, {1, std::nan(""), 3}, {{"a", ""}});
  EXPECT_FALSE(nan.ok());
}

TEST(DeltaModel, ThePerCallFormIsChosenAndRecoveredWithoutNoise) {
  auto m = chooseDelta(deltaCells(0));
  ASSERT_TRUE(m.ok()) << m.status().toString();
  EXPECT_EQ(m->form.formula, "dt = K*(a + b*B)");
  EXPECT_NEAR(param(*m, "a").value, 30, 1e-6);
  EXPECT_NEAR(param(*m, "b").value, 0.001, 1e-10);
  EXPECT_NEAR(m->fit.r2, 1, 1e-9);
  ASSERT_TRUE(m->holdout.available) << m->holdout.why_not;
  EXPECT_FALSE(m->holdout.cells.empty());
  EXPECT_LT(m->holdout.worst_abs_error_pct, 1e-6);
  EXPECT_EQ(m->considered.size(), 4u);
}

TEST(DeltaModel, UnderNoiseTheTruthIsInsideTheIntervalsAndTheHoldOutErrorIsSmall) {
  auto m = chooseDelta(deltaCells(0.03));
  ASSERT_TRUE(m.ok()) << m.status().toString();
  expectWithin(param(*m, "a"), 30);
  expectWithin(param(*m, "b"), 0.001);
  EXPECT_GT(m->fit.r2, 0.99);
  ASSERT_TRUE(m->holdout.available);
  // About a quarter of the 80 cells, spread over every level of K, W and B.
  EXPECT_GE(m->holdout.cells.size(), 15u);
  EXPECT_LE(m->holdout.cells.size(), 25u);
  std::set<double> ks, bs;
  for (const HeldOutCell& h : m->holdout.cells)
    ks.insert(h.cell.calls), bs.insert(h.cell.payload_bytes);
  EXPECT_EQ(ks.size(), kCalls.size());
  EXPECT_EQ(bs.size(), kBytes.size());
  EXPECT_GT(m->holdout.median_abs_error_pct, 0);
  EXPECT_LT(m->holdout.median_abs_error_pct, 6);
  EXPECT_GE(m->holdout.worst_abs_error_pct, m->holdout.median_abs_error_pct);
}

TEST(DeltaModel, APerRequestCostInTheDataBringsInTheIntercept) {
  auto m = chooseDelta(deltaCells(0.01, 200));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->form.formula, "dt = c + K*(a + b*B)") << m->why;
  expectWithin(param(*m, "c"), 200);
  expectWithin(param(*m, "a"), 30);
}

TEST(DeltaModel, TheQuickGridStillHasAHoldOutAndTheTruthInsideTheIntervals) {
  // --quick's grid: 3 K × 2 W × 2 B = 12 cells, 3 of them held out.
  std::vector<Cell> quick;
  for (const Cell& c : deltaCells(0.02)) {
    if ((c.calls == 1 || c.calls == 4 || c.calls == 16) && (c.work_us == 0 || c.work_us == 100) &&
        (c.payload_bytes == 64 || c.payload_bytes == 65536))
      quick.push_back(c);
  }
  ASSERT_EQ(quick.size(), 12u);
  auto m = chooseDelta(quick);
  ASSERT_TRUE(m.ok()) << m.status().toString();
  ASSERT_TRUE(m->holdout.available) << m->holdout.why_not;
  EXPECT_EQ(m->holdout.cells.size(), 3u);
  EXPECT_EQ(m->fit.n, 12);  // the reported parameters are refitted on every cell
  expectWithin(param(*m, "a"), 30);
  expectWithin(param(*m, "b"), 0.001);
}

TEST(DeltaModel, DegenerateSweepsAreRefusedSayingWhy) {
  std::vector<Cell> one_k;
  for (const Cell& c : deltaCells(0)) {
    if (c.calls == 4) one_k.push_back(c);
  }
  auto single = chooseDelta(one_k);
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.status().message().find("single number of calls"), std::string::npos);
  auto few = chooseDelta({{1, 0, 64, 30}, {4, 0, 4096, 140}});
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("too few cells"), std::string::npos);
  EXPECT_FALSE(chooseDelta({}).ok());
}

TEST(ReferenceModel, MonoIsRecoveredWithItsWorkCoefficient) {
  auto cells = readSweep(sweepDoc(0));
  ASSERT_TRUE(cells.ok()) << cells.status().toString();
  auto m = fitReference(cells->reference_latency);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(param(*m, "c0").value, 20, 1e-6);
  EXPECT_NEAR(param(*m, "c1").value, 5, 1e-6);
  EXPECT_NEAR(param(*m, "w").value, 1, 1e-9);
  EXPECT_NEAR(param(*m, "c2").value, 0.0002, 1e-12);
}

TEST(Model, WorkAtTheBreakEvenMakesTheTaxTheFraction) {
  auto cells = readSweep(sweepDoc(0));
  ASSERT_TRUE(cells.ok());
  auto m = buildModel(*cells);
  ASSERT_TRUE(m.ok()) << m.status().toString();
  const DeploymentModel& d = m->deployments.at("split/capnp/push");
  ASSERT_TRUE(d.latency.has_value());
  // Δ = 4·(30 + 4.096) = 136.384; mono = 20 + 4·(5 + W + 0.8192): W where Δ/mono = 0.1.
  const auto w = workAtFraction(*d.latency, m->reference_latency, 4, 4096, 0.10);
  ASSERT_TRUE(w.has_value());
  EXPECT_NEAR(*w, (136.384 / 0.1 - 20) / 4 - 5.8192, 1e-6);
  const Tax t = predictTax(*d.latency, m->reference_latency, 4, *w, 4096);
  EXPECT_NEAR(t.fraction, 0.10, 1e-9);
  // Already below 10% at no work with a tiny K·B: 0; never below 0% of anything: none.
  EXPECT_FALSE(workAtFraction(*d.latency, m->reference_latency, 4, 4096, 0).has_value());
}

TEST(Model, TheRunDocumentHasTheContractsShape) {
  const json model = modelOfRun(sweepDoc(0.02));
  ASSERT_FALSE(model.contains("error")) << model.dump();
  EXPECT_EQ(model["fitted_on"], "connections=1");
  const json& d = model["deployments"]["split/capnp/push"];
  for (const char* fig : {"latency", "cpu"}) {
    const json& f = d[fig];
    EXPECT_EQ(f["unit"], "us");
    EXPECT_EQ(f["params"][0]["name"], "a") << f["form"];
    EXPECT_EQ(f["params"][0]["ci95"].size(), 2u);
    EXPECT_GT(f["r2"].get<double>(), 0.99);
    EXPECT_EQ(f["n_fit"], 80);  // the connections = 4 cells are not fitted
    EXPECT_TRUE(f["holdout"]["median_abs_error_pct"].is_number());
    EXPECT_TRUE(f["holdout"]["cells"][0].contains("error_pct"));
    // Also against the split figure a user sees, which the Δ is a part of.
    EXPECT_TRUE(f["holdout"]["cells"][0].contains("error_pct_of_total"));
    EXPECT_LT(f["holdout"]["median_abs_error_pct_of_total"].get<double>(),
              f["holdout"]["median_abs_error_pct"].get<double>() + 1e-9);
  }
  EXPECT_EQ(d["range"]["calls"], json({1.0, 16.0}));
  EXPECT_EQ(d["range"]["payload_bytes"], json({64.0, 1048576.0}));
  const json& be = d["breakeven"];
  EXPECT_EQ(be["payload_bytes"], 4096.0);
  EXPECT_EQ(be["calls"], json({1.0, 2.0, 4.0, 8.0, 16.0}));
  EXPECT_EQ(be["work_us"].front(), 0.0);
  EXPECT_EQ(be["work_us"].back(), 1000.0);
  ASSERT_EQ(be["tax_latency"].size(), 5u);
  EXPECT_EQ(be["tax_latency"][0].size(), be["work_us"].size());
  // The tax falls as work grows, for every K.
  for (const json& row : be["tax_latency"]) EXPECT_GT(row.front(), row.back());
  ASSERT_EQ(be["work_us_at_10pct"].size(), 5u);
  // 10% is reached within 1000 us of work; 1% is not (Δ/(W) ≈ 34/W at K = 1).
  EXPECT_TRUE(be["work_us_at_10pct"][0].is_number());
  EXPECT_TRUE(be["work_us_at_1pct"][0].is_null());
  EXPECT_EQ(model["reference_fit"]["latency"]["form"], "t = c0 + K*(c1 + w*W + c2*B)");
}

TEST(Model, ASweepWithoutASplitDeploymentOrMonoIsAnError) {
  json doc = sweepDoc(0);
  json only_mono = json::array();
  for (const json& c : doc["sweep"]["cells"]) {
    if (c["deployment"] == "mono") only_mono.push_back(c);
  }
  doc["sweep"]["cells"] = only_mono;
  EXPECT_TRUE(modelOfRun(doc).contains("error"));
  EXPECT_TRUE(modelOfRun(json{{"schema", "seam-bench/1"}}).contains("error"));
}

// A file in a fresh temporary directory, removed with it.
class AdviseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-advise-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  int run(AdviseOptions o) {
    out_.str(""), err_.str("");
    return runAdvise(o, out_, err_);
  }
  AdviseOptions opts(const std::string& from, std::string k, std::string w, std::string b) {
    AdviseOptions o;
    o.from = from, o.calls = std::move(k), o.work_us = std::move(w), o.payload = std::move(b);
    return o;
  }
  std::string dir_;
  std::ostringstream out_, err_;
};

TEST_F(AdviseTest, InRangeItPredictsTheTaxWithAnIntervalAndTheCellsItRestsOn) {
  const std::string from = write("r.json", sweepDoc(0.02).dump());
  AdviseOptions o = opts(from, "4", "100", "4K");
  o.json = true;
  ASSERT_EQ(run(o), 0) << err_.str();
  const json a = json::parse(out_.str());
  EXPECT_FALSE(a["extrapolated"].get<bool>());
  const json& lat = a["deployments"]["split/capnp/push"]["latency"];
  const double truth = splitLatency(4, 4096);
  EXPECT_LE(lat["delta_ci95_us"][0].get<double>(), truth);
  EXPECT_GE(lat["delta_ci95_us"][1].get<double>(), truth);
  const double frac = truth / monoLatency(4, 100, 4096);
  EXPECT_LE(lat["fraction_ci95"][0].get<double>(), frac);
  EXPECT_GE(lat["fraction_ci95"][1].get<double>(), frac);
  EXPECT_TRUE(lat["work_for_10pct"]["reached"].get<bool>());
  // On a grid point it rests on that one cell.
  const json& rests = a["deployments"]["split/capnp/push"]["rests_on"];
  ASSERT_EQ(rests.size(), 1u);
  EXPECT_EQ(rests[0]["calls"], 4.0);
  EXPECT_EQ(rests[0]["payload_bytes"], 4096.0);
  // Between grid points, on the bracketing levels: K 4..8 × W 10..100 × B 4096..65536.
  o = opts(from, "5", "50", "10000");
  o.json = true;
  ASSERT_EQ(run(o), 0) << err_.str();
  EXPECT_EQ(json::parse(out_.str())["deployments"]["split/capnp/push"]["rests_on"].size(), 8u);
  // As text: the tax, the break-even work and the model, per deployment.
  ASSERT_EQ(run(opts(from, "4", "100", "4096")), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("split/capnp/push"), std::string::npos);
  EXPECT_NE(text.find("latency tax: +"), std::string::npos) << text;
  EXPECT_NE(text.find("CPU tax: +"), std::string::npos) << text;
  EXPECT_NE(text.find("below 10%"), std::string::npos);
  EXPECT_NE(text.find("held-out error median"), std::string::npos);
  EXPECT_NE(text.find("K=4 W=100 B=4096"), std::string::npos);
  EXPECT_EQ(text.find("WARNING"), std::string::npos);
}

TEST_F(AdviseTest, OutOfRangeIsRefusedUnlessExtrapolateAndThenItWarns) {
  const std::string from = write("r.json", sweepDoc(0.02).dump());
  EXPECT_EQ(run(opts(from, "32", "100", "4096")), 2);
  EXPECT_NE(err_.str().find("calls 32 is outside"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--extrapolate"), std::string::npos);
  EXPECT_EQ(run(opts(from, "4", "5000", "4096")), 2);
  EXPECT_NE(err_.str().find("work_us 5000"), std::string::npos) << err_.str();
  EXPECT_EQ(run(opts(from, "4", "100", "2M")), 2);
  EXPECT_NE(err_.str().find("payload_bytes 2097152"), std::string::npos) << err_.str();
  EXPECT_TRUE(out_.str().empty());

  AdviseOptions o = opts(from, "32", "100", "4096");
  o.extrapolate = true;
  ASSERT_EQ(run(o), 0) << err_.str();
  EXPECT_NE(out_.str().find("WARNING: extrapolated: calls 32 is outside"), std::string::npos)
      << out_.str();
  o.json = true;
  ASSERT_EQ(run(o), 0);
  const json a = json::parse(out_.str());
  EXPECT_TRUE(a["extrapolated"].get<bool>());
  EXPECT_FALSE(a["warnings"].empty());
  // The per-call model extrapolates linearly: 32 calls cost twice 16.
  const json& lat = a["deployments"]["split/capnp/push"]["latency"];
  EXPECT_NEAR(lat["delta_us"].get<double>(), splitLatency(32, 4096), 0.05 * splitLatency(32, 4096));
}

TEST_F(AdviseTest, BadInputIsRefusedClearlyWithExitCode2) {
  const std::string good = write("r.json", sweepDoc(0.02).dump());
  struct Case {
    AdviseOptions o;
    std::string says;
  };
  json no_sweep = sweepDoc(0);
  no_sweep.erase("sweep");
  json other = {{"schema", "something-else/1"}};
  std::vector<Case> cases = {
      {opts(dir_ + "/missing.json", "4", "100", "4096"), "cannot read"},
      {opts(write("bad.json", "{not json"), "4", "100", "4096"), "is not JSON"},
      {opts(write("other.json", other.dump()), "4", "100", "4096"), "not a seam-bench JSON"},
      {opts(write("nosweep.json", no_sweep.dump()), "4", "100", "4096"), "no \"sweep\""},
      {opts(good, "-3", "100", "4096"), "--calls must be a whole number >= 1"},
      {opts(good, "0", "100", "4096"), "--calls must be"},
      {opts(good, "2.5", "100", "4096"), "--calls must be"},
      {opts(good, "4", "-1", "4096"), "--work-us must be"},
      {opts(good, "4", "100", "4Q"), "--payload must be"},
      {opts(good, "", "100", "4096"), "--calls K is required"},
      {opts("", "4", "100", "4096"), "--from"},
  };
  for (Case& c : cases) {
    EXPECT_EQ(run(c.o), 2) << c.says;
    EXPECT_NE(err_.str().find(c.says), std::string::npos) << err_.str();
    EXPECT_TRUE(out_.str().empty());
  }
}

TEST_F(AdviseTest, RttIsRefusedWhileTheJsonHasNoMeasuredRtt) {
  AdviseOptions o = opts(write("r.json", sweepDoc(0.02).dump()), "4", "100", "4096");
  o.rtt_us = "200";
  EXPECT_EQ(run(o), 2);
  EXPECT_NE(err_.str().find("no RTT was measured in"), std::string::npos) << err_.str();
  o.rtt_us = "-5";
  EXPECT_EQ(run(o), 2);
  EXPECT_NE(err_.str().find("--rtt-us must be"), std::string::npos);
}

}  // namespace
}  // namespace seams::bench::model

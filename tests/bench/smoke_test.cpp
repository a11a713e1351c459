// Runs `seam-bench run --quick` on a tiny data set against mono (and split/capnp/push when
// seam-split is built) and checks the JSON against the shape --help documents. Figures are
// reported by the bench, never asserted here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/machine/codec_versions.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void expectFigure(const json& j, const std::string& what) {
  ASSERT_TRUE(j.is_object()) << what << ": " << j.dump();
  EXPECT_TRUE(j.contains("value") && j.contains("unit")) << what << ": " << j.dump();
  if (j.contains("unit")) {
    EXPECT_TRUE(j["unit"].is_string()) << what;
  }
}

void expectLoad(const json& j, const std::string& what) {
  ASSERT_TRUE(j.is_object()) << what;
  for (const char* k :
       {"workers", "seconds", "ok", "errors", "throughput", "latency", "histogram_ns"}) {
    EXPECT_TRUE(j.contains(k)) << what << " lacks " << k;
  }
  for (const char* k : {"unit", "count", "mean", "p50", "p90", "p99", "p99.9", "max"}) {
    EXPECT_TRUE(j["latency"].contains(k)) << what << ".latency lacks " << k;
  }
  for (const char* k : {"count", "sum", "min", "max", "buckets"}) {
    EXPECT_TRUE(j["histogram_ns"].contains(k)) << what << ".histogram_ns lacks " << k;
  }
  expectFigure(j["throughput"], what + ".throughput");
}

void expectFloor(const json& floor, const std::string& what) {
  ASSERT_TRUE(floor.is_object()) << what;
  for (const char* when : {"before", "after"}) {
    for (const char* kind : {"unix", "tcp"}) {
      const json& p = floor[when][kind];
      ASSERT_TRUE(p.contains("latency")) << what << "." << when << "." << kind << ": " << p.dump();
      EXPECT_GT(p["round_trips"].get<std::uint64_t>(), 0u) << what;
      EXPECT_TRUE(p.contains("histogram_ns")) << what;
    }
  }
  EXPECT_EQ(floor["before"]["tcp"]["response_bytes"], 4096 + 200) << what;
  for (const char* kind : {"unix", "tcp"}) {
    EXPECT_TRUE(floor["shift"][kind]["moved"].is_boolean()) << what << ".shift." << kind;
  }
  EXPECT_TRUE(floor["moved"].is_boolean()) << what;
}

// fio's four jobs, each parsed (a failed one says why); a failed verify would have failed the run.
void expectFio(const json& fio, const std::string& what) {
  ASSERT_TRUE(fio.is_object()) << what;
  ASSERT_TRUE(fio.contains("jobs")) << what << ": " << fio.dump();
  EXPECT_TRUE(fio["settings"]["quick"].get<bool>()) << what;
  for (const char* job : {"randread-4k", "randwrite-4k", "randrw-4k-verify", "seqread-1m"}) {
    const json& j = fio["jobs"][job];
    ASSERT_TRUE(j.is_object()) << what << " lacks " << job;
    EXPECT_FALSE(j.value("verify_failed", false)) << what << "." << job << ": " << j.dump();
    if (!j.value("ok", false)) {
      EXPECT_TRUE(j.contains("failure")) << what << "." << job;
      continue;
    }
    const char* dir = std::string(job).find("write") != std::string::npos ? "write" : "read";
    for (const char* k : {"iops", "bandwidth", "clat_p50", "clat_p99"})
      expectFigure(j[dir][k], what + "." + job + "." + dir + "." + k);
    EXPECT_GT(j[dir]["total_ios"].get<std::uint64_t>(), 0u) << what << "." << job;
  }
}

// The git workload's steps in order; a failed step carries its output and stops the rest.
void expectGit(const json& git, const std::string& what) {
  ASSERT_TRUE(git.is_object()) << what;
  ASSERT_TRUE(git["steps"].is_array()) << what << ": " << git.dump();
  ASSERT_FALSE(git["steps"].empty()) << what;
  EXPECT_EQ(git["steps"][0]["name"], "extract") << what;
  if (git["ok"].get<bool>()) {
    EXPECT_EQ(git["steps"].size(), 5u) << what;
    EXPECT_GT(git["extracted_files"].get<std::uint64_t>(), 0u) << what;
  } else {
    EXPECT_TRUE(git["steps"].back().contains("output")) << what;
    EXPECT_EQ(git["steps"].size() + git["not_run"].size(), 5u) << what;
  }
}

void expectDeploymentRun(const json& run) {
  const std::string name = run.at("deployment");
  ASSERT_FALSE(run.contains("error")) << name << ": " << run["error"];
  for (const char* k : {"config", "config_overrides", "dataset", "startup", "http", "fuse", "drift",
                        "memory", "fio", "git", "fault", "floor", "loadavg"}) {
    ASSERT_TRUE(run.contains(k)) << name << " lacks " << k;
  }
  expectFloor(run["floor"], name + ".floor");
  // The quick run's second repeat is for the latency intervals: no fault scenario, no wrk check.
  const bool later_repeat = run.at("repeat").get<int>() > 1;
  for (const char* k : {"ready", "first_http_get", "first_fuse_stat", "shutdown"}) {
    expectFigure(run["startup"][k]["median"], name + ".startup." + k);
  }
  for (const char* op : {"get_cached", "get_uncached", "stat", "list", "put", "mixed"}) {
    expectLoad(run["http"]["closed_loop"][op]["c1"], name + ".http." + op);
    EXPECT_TRUE(run["http"]["closed_loop"][op]["c1"].contains("cpu_per_request"));
  }
  ASSERT_TRUE(run["http"]["open_loop"]["get_cached"]["points"].is_array());
  expectFigure(run["http"]["open_loop"]["get_cached"]["knee"], name + ".knee");
  if (later_repeat) {
    EXPECT_TRUE(run["http"]["wrk_crosscheck"].contains("skipped")) << name;
  } else {
    EXPECT_TRUE(run["http"]["wrk_crosscheck"]["c1"].contains("ours_p50")) << name;
  }
  EXPECT_TRUE(run["fuse"].contains("kernel_cache_settings"));
  for (const char* op : {"stat", "read4k", "read1m", "readdir", "create", "mix"}) {
    expectLoad(run["fuse"]["ops"][op]["t1"], name + ".fuse." + op);
    // Split: seam-fused's calls to seam-fsd per operation, read from its metrics; mono has none.
    if (run["launcher"] == "seam-split")
      expectFigure(run["fuse"]["ops"][op]["t1"]["fsd_calls_per_op"], name + ".fuse.calls." + op);
    else
      EXPECT_FALSE(run["fuse"]["ops"][op]["t1"].contains("fsd_calls_per_op")) << name;
  }
  for (const char* k : {"visibility_lag_http_to_fuse", "visibility_lag_fuse_to_http",
                        "revocation_lag_http", "revocation_lag_fuse", "logout_lag_http"}) {
    EXPECT_TRUE(run["drift"].contains(k)) << name << " drift lacks " << k;
    expectFigure(run["drift"][k]["median"], name + "." + k);
  }
  expectFigure(run["drift"]["stale_read_ratio"]["ratio"], name + ".stale_read_ratio");
  expectFigure(run["memory"]["after_warmup"]["pss"], name + ".pss");
  expectFigure(run["memory"]["under_load"]["uss"], name + ".uss");
  expectFigure(run["memory"]["cache_bytes_held_twice"], name + ".cache_bytes_held_twice");
  EXPECT_TRUE(run["memory"]["cache_bytes_held_twice"]["per_cache_bytes"].is_object()) << name;
  if (later_repeat) {
    EXPECT_TRUE(run["fault"].contains("skipped")) << name;
    EXPECT_TRUE(run["fio"].contains("skipped")) << name;
    EXPECT_TRUE(run["git"].contains("skipped")) << name;
    return;
  }
  expectFio(run["fio"], name + ".fio");
  expectGit(run["git"], name + ".git");
  ASSERT_TRUE(run["fault"]["soft"].is_array());
  EXPECT_FALSE(run["fault"]["soft"].empty());
  ASSERT_TRUE(run["fault"]["hard"].is_array());
  EXPECT_FALSE(run["fault"]["hard"].empty());
  for (const auto& f : run["fault"]["soft"]) {
    EXPECT_TRUE(f.contains("paths_failed"));
    expectFigure(f["http"]["recovery"], name + ".fault.http.recovery");
    EXPECT_TRUE(f["cache_hit_ratio"].contains("after")) << name;
  }
  const auto& tl = run["fault"]["timeline"];
  ASSERT_TRUE(tl["http_ok"].is_array()) << name;
  EXPECT_EQ(tl["http_ok"].size(), tl["fuse_failed"].size()) << name;
  EXPECT_EQ(tl["http_ok"].size(), tl["cache_hit_ratio"].size()) << name;
  EXPECT_FALSE(tl["faults"].empty()) << name;
}

TEST(SeamBenchQuick, WritesAJsonDocumentOfTheDocumentedShape) {
  char tmpl[] = "/tmp/seam-bench-smoke-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string out = tmpl;
  std::string deployments = "mono";
  const bool split_built = ::access(SEAMS_BUILD_DIR "/split/bin/seam-split", X_OK) == 0 ||
                           ::access(SEAMS_BUILD_DIR "/split/seam-split", X_OK) == 0;
  if (split_built) deployments += ",split/capnp/push";
  const std::string cmd = std::string(SEAMS_SEAM_BENCH_PATH) +
                          " run --quick --files 20 --deployments " + deployments + " --out " + out +
                          " --bin-dir " SEAMS_BUILD_DIR " > " + out + "/log.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(out + "/log.txt");
  std::string log_text((std::istreambuf_iterator<char>(log)), {});
  ASSERT_EQ(rc, 0) << log_text;

  std::string file;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().extension() == ".json") file = e.path();
  }
  ASSERT_FALSE(file.empty()) << log_text;
  std::ifstream in(file);
  json doc = json::parse(in);
  EXPECT_EQ(doc["schema"], "seam-bench/1");
  for (const char* k : {"hostname", "kernel", "cpu_model", "cores"}) {
    EXPECT_TRUE(doc["machine"].contains(k)) << k;
  }
  for (const char* k : {"compiler", "build_type", "git_revision"}) {
    EXPECT_TRUE(doc["build"].contains(k)) << k;
  }
  // Every codec library's version, as this test binary was built against the same ones.
  EXPECT_EQ(doc["build"]["codecs"], seams::bench::codecVersions()) << doc["build"].dump();
  EXPECT_EQ(doc["build"]["capnp_source"], seams::bench::capnpSource());
  // PM QoS is held by default wherever the device can be written, and says why where not.
  const bool device_writable = ::access("/dev/cpu_dma_latency", W_OK) == 0;
  EXPECT_TRUE(doc["pm_qos"]["requested"].get<bool>());
  EXPECT_EQ(doc["pm_qos"]["held"].get<bool>(), device_writable) << doc["pm_qos"].dump();
  EXPECT_FALSE(doc["pm_qos"]["status"].get<std::string>().empty());
  EXPECT_NE(log_text.find("PM QoS"), std::string::npos);
  EXPECT_FALSE(doc["pinning"]["pinned"].get<bool>());
  ASSERT_TRUE(doc["runs"].is_array());
  // --quick: two interleaved repeats.
  EXPECT_EQ(doc["options"]["repeat"], 2);
  ASSERT_EQ(doc["runs"].size(), split_built ? 4u : 2u);
  for (const auto& run : doc["runs"]) expectDeploymentRun(run);
  EXPECT_EQ(doc["runs"][0]["repeat"], 1);
  EXPECT_EQ(doc["runs"].back()["repeat"], 2);
  ASSERT_EQ(doc["baselines"].size(), 2u);
  const json& b = doc["baselines"][0];
  expectLoad(b["direct"]["stat"]["t1"], "baseline.direct.stat");
  for (const char* k : {"passthrough_ll", "nginx", "unix_pingpong"})
    EXPECT_TRUE(b.contains(k)) << k;
  // fio and git on the floors too (first repeat of a quick run). On the backing directory itself
  // every step must work: that checks the workloads, not a filesystem under test.
  expectFio(b["fio"]["direct"], "baseline.fio.direct");
  expectGit(b["git"]["direct"], "baseline.git.direct");
  EXPECT_TRUE(b["git"]["direct"]["ok"].get<bool>()) << b["git"]["direct"].dump();
  for (const char* k : {"randread-4k", "randwrite-4k", "randrw-4k-verify", "seqread-1m"})
    EXPECT_TRUE(b["fio"]["direct"]["jobs"][k]["ok"].get<bool>()) << k;
  EXPECT_TRUE(b["fio"].contains("passthrough_ll"));
  EXPECT_TRUE(b["git"].contains("passthrough_ll"));
  EXPECT_FALSE(doc["baselines"][1].contains("fio")) << "quick: the floors' fio runs once";
  ASSERT_TRUE(doc["summary"].is_array());
  EXPECT_FALSE(doc["summary"].empty());
  for (const auto& row : doc["summary"]) {
    for (const char* k : {"deployment", "metric", "unit", "median", "ci95_low", "ci95_high"}) {
      EXPECT_TRUE(row.contains(k)) << k;
    }
  }
  std::error_code ec;
  fs::remove_all(out, ec);
}

}  // namespace

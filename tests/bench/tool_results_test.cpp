// The parsers of the tools seam-bench runs on a mount, on output captured from the real tools
// (fio-3.33, Debian 12; tests/bench/fixtures/):
//   fio-randrw-verify-ok.json       randrw 4k, verify=crc32c, 2 jobs, --group_reporting, --output
//   fio-randrw-verify-warning.json  the same with fio's "multiple writers" warning before the JSON
//   fio-verify-failed.out           stdout + stderr of a verify_only read over random bytes
#include "bench/seam-bench/tool_results.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace seams::bench {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SEAMS_BENCH_FIXTURES) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FioJson, ReadsIopsBandwidthAndCompletionPercentilesOfTheGroup) {
  auto r = parseFioJson(fixture("fio-randrw-verify-ok.json"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->jobname, "randrw_verify");
  EXPECT_EQ(r->error, 0);
  EXPECT_DOUBLE_EQ(r->runtime_s, 0.418);
  EXPECT_DOUBLE_EQ(r->read.iops, 9706.161137);
  EXPECT_DOUBLE_EQ(r->read.bw_bytes_per_s, 39756436);
  EXPECT_EQ(r->read.total_ios, 2048u);
  EXPECT_DOUBLE_EQ(r->read.clat_p50_us, 61.184);
  EXPECT_DOUBLE_EQ(r->read.clat_p99_us, 3981.312);
  EXPECT_DOUBLE_EQ(r->write.iops, 9962.616822);
  EXPECT_EQ(r->write.total_ios, 1066u);
  EXPECT_GT(r->write.clat_p99_us, 0);
  EXPECT_TRUE(fioVerdict(0, *r, "").ok);
}

TEST(FioJson, SkipsFiosWarningsBeforeTheDocument) {
  const std::string text = fixture("fio-randrw-verify-warning.json");
  ASSERT_EQ(text.rfind("fio: multiple writers", 0), 0u) << "the fixture starts with the warning";
  auto r = parseFioJson(text);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->jobname, "randrw_verify");
  EXPECT_GT(r->read.iops, 0);
  FioVerdict v = fioVerdict(0, *r, text);
  EXPECT_TRUE(v.ok) << v.message;
}

TEST(FioJson, BadInputIsAnErrorNotACrash) {
  EXPECT_FALSE(parseFioJson("").ok());
  EXPECT_FALSE(parseFioJson("fio: engine psync not loadable\n").ok());
  EXPECT_FALSE(parseFioJson("{\"jobs\": [").ok());
  EXPECT_FALSE(parseFioJson("{\"jobs\": []}").ok());
  EXPECT_FALSE(parseFioJson("{\"jobs\": [1]}").ok());
  // A job with fields of the wrong type reads as zeros rather than throwing.
  auto r = parseFioJson("{\"jobs\": [{\"jobname\": \"x\", \"read\": {\"iops\": \"many\"}}]}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->read.iops, 0);
}

TEST(FioVerdict, AFailedVerifyFailsTheRunAndQuotesFio) {
  const std::string text = fixture("fio-verify-failed.out");
  auto r = parseFioJson(text);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->error, 84);  // EILSEQ
  FioVerdict v = fioVerdict(1, *r, text);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(v.verify_failed);
  EXPECT_NE(v.message.find("verify FAILED"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("bad magic header"), std::string::npos) << v.message;
  // Either sign alone is enough: the job's EILSEQ without the text, or the text alone.
  EXPECT_TRUE(fioVerdict(1, *r, "").verify_failed);
  EXPECT_TRUE(fioVerdict(0, std::nullopt, text).verify_failed);
}

TEST(FioVerdict, OtherFailuresAreFailuresButNotVerifyFailures) {
  auto ok = parseFioJson(fixture("fio-randrw-verify-ok.json"));
  ASSERT_TRUE(ok.ok());
  FioVerdict exit_code = fioVerdict(1, *ok, "fio: some option is bad\n");
  EXPECT_FALSE(exit_code.ok);
  EXPECT_FALSE(exit_code.verify_failed);
  EXPECT_NE(exit_code.message.find("some option is bad"), std::string::npos);
  FioJobResult enospc = *ok;
  enospc.error = 28;
  EXPECT_FALSE(fioVerdict(0, enospc, "").ok);
  EXPECT_FALSE(fioVerdict(0, enospc, "").verify_failed);
  EXPECT_FALSE(fioVerdict(0, std::nullopt, "").ok);  // no JSON at all
}

TEST(FioSuite, AFailedVerifyInAnyJobFailsTheRun) {
  nlohmann::json suite;
  addFioJob(suite, "randread-4k",
            fioRun("fio --name=randread-4k", 0, 2.3, fixture("fio-randrw-verify-ok.json")));
  EXPECT_FALSE(fioRunFailure(suite).has_value()) << suite.dump();
  EXPECT_FALSE(suite.contains("error"));
  EXPECT_TRUE(suite["jobs"]["randread-4k"]["ok"].get<bool>());
  EXPECT_DOUBLE_EQ(suite["jobs"]["randread-4k"]["read"]["iops"]["value"].get<double>(),
                   9706.161137);

  const FioRun bad =
      fioRun("fio --name=randrw-4k-verify", 1, 2.4, fixture("fio-verify-failed.out"));
  EXPECT_FALSE(bad.verdict.ok);
  addFioJob(suite, "randrw-4k-verify", bad);
  const nlohmann::json& job = suite["jobs"]["randrw-4k-verify"];
  EXPECT_FALSE(job["ok"].get<bool>());
  EXPECT_TRUE(job["verify_failed"].get<bool>());
  EXPECT_NE(job["output"].get<std::string>().find("bad magic header"), std::string::npos);
  const auto failure = fioRunFailure(suite);
  ASSERT_TRUE(failure.has_value()) << suite.dump();
  EXPECT_EQ(failure->rfind("fio verify failed: randrw-4k-verify: fio verify FAILED", 0), 0u)
      << *failure;
  EXPECT_NE(failure->find("bad magic header"), std::string::npos) << *failure;
}

TEST(FioSuite, AFailureThatIsNotAVerifyIsReportedButDoesNotFailTheRun) {
  nlohmann::json suite;
  addFioJob(suite, "seqread-1m",
            fioRun("fio --name=seqread-1m", 1, 0.1,
                   "fio: failed to open /m/seams-fio.0: Permission denied\n"));
  EXPECT_FALSE(suite["jobs"]["seqread-1m"]["ok"].get<bool>());
  EXPECT_TRUE(suite["jobs"]["seqread-1m"].contains("parse_error"));
  EXPECT_NE(suite["error"].get<std::string>().find("Permission denied"), std::string::npos);
  EXPECT_FALSE(fioRunFailure(suite).has_value());
  EXPECT_FALSE(fioRunFailure(nlohmann::json()).has_value());
}

TEST(Steps, TheFirstFailedStepIsTheFailureWithItsOutput) {
  nlohmann::json j = stepsJson({{"extract", "tar -xf core.tar", 0.5, 0, ""},
                                {"git init", "git init -q", 0.1, 128,
                                 "error: chmod on .git/config.lock failed: Operation not "
                                 "permitted\nfatal: could not set 'core.filemode' to 'false'\n"}},
                               {"git add -A", "git commit", "git fsck"});
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["failed_step"], "git init");
  EXPECT_NE(j["failure"].get<std::string>().find("chmod on .git/config.lock"), std::string::npos);
  EXPECT_EQ(j["steps"].size(), 2u);
  EXPECT_TRUE(j["steps"][0]["ok"].get<bool>());
  EXPECT_FALSE(j["steps"][0].contains("output"));
  EXPECT_EQ(j["steps"][1]["exit_code"], 128);
  EXPECT_EQ(j["not_run"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["total"]["value"].get<double>(), 0.6);
}

TEST(Steps, AllStepsOkIsOk) {
  nlohmann::json j =
      stepsJson({{"extract", "tar", 1.0, 0, ""}, {"git init", "git", 2.0, 0, ""}}, {});
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_FALSE(j.contains("failure"));
  EXPECT_DOUBLE_EQ(j["total"]["value"].get<double>(), 3.0);
}

TEST(Steps, AFailedStepKeepsOnlyTheTailOfALongOutput) {
  const std::string long_output = std::string(10000, 'x') + "the last line";
  nlohmann::json j = stepsJson({{"git add -A", "git add -A", 1.0, 1, long_output}}, {});
  const std::string kept = j["steps"][0]["output"];
  EXPECT_EQ(kept.size(), 4096u);
  EXPECT_NE(kept.find("the last line"), std::string::npos);
}

}  // namespace
}  // namespace seams::bench

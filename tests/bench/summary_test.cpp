// seam-bench's terminal headline (Summary::table): one row per deployment, a few key figures
// each with its ratio to mono, thousands separators, and the baselines left out.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "bench/seam-bench/scenarios.h"

namespace seams::bench {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string rowOf(const std::string& table, const std::string& deployment) {
  for (const auto& l : lines(table)) {
    if (l.rfind(deployment + " ", 0) == 0) return l;
  }
  return "";
}

TEST(SummaryHeadline, EachDeploymentHasItsKeyFiguresAndTheirRatioToMono) {
  Summary s;
  s.add("mono", "http get_cached c1 p50", 20.0, "us");
  s.add("mono", "http get_cached c1 p50", 24.0, "us");  // median 22
  s.add("split/capnp/push", "http get_cached c1 p50", 44.0, "us");
  s.add("mono", "http get_cached c8 throughput", 64490.0, "req/s");
  s.add("split/capnp/push", "http get_cached c8 throughput", 32245.0, "req/s");
  s.add("mono", "fuse stat t1 p50", 1.6, "us");  // not a key figure: no column
  s.add("baseline", "nginx GET 4K c1 p50", 27.0, "us");
  const std::string t = s.table();
  const std::string mono = rowOf(t, "mono");
  const std::string split = rowOf(t, "split/capnp/push");
  ASSERT_FALSE(mono.empty()) << t;
  ASSERT_FALSE(split.empty()) << t;
  EXPECT_NE(mono.find("22.0 x1.00"), std::string::npos) << t;
  EXPECT_NE(split.find("44.0 x2.00"), std::string::npos) << t;
  EXPECT_NE(mono.find("64,490 x1.00"), std::string::npos) << t;
  EXPECT_NE(split.find("32,245 x0.50"), std::string::npos) << t;
  EXPECT_NE(t.find("GET hot (req/s)"), std::string::npos) << t;
  EXPECT_EQ(t.find("fuse stat"), std::string::npos) << t;
  EXPECT_TRUE(rowOf(t, "baseline").empty()) << t;
}

TEST(SummaryHeadline, WithoutMonoTheRatiosAreBlankAndMissingFiguresAreDashes) {
  Summary s;
  s.add("split/capnp/push", "http get_cached c1 p50", 30.0, "us");
  s.add("split/protobuf/push", "memory PSS under load", 40.0, "MiB");
  const std::string t = s.table();
  EXPECT_EQ(t.find(" x"), std::string::npos) << t;
  const std::string proto = rowOf(t, "split/protobuf/push");
  ASSERT_FALSE(proto.empty()) << t;
  EXPECT_NE(proto.find(" - "), std::string::npos) << t;  // no GET figure for it
}

TEST(SummaryHeadline, NoKeyFigureSaysSo) {
  Summary s;
  s.add("mono", "fuse stat t1 p50", 1.6, "us");
  EXPECT_EQ(s.table(), "(no headline figures measured)\n");
}

}  // namespace
}  // namespace seams::bench

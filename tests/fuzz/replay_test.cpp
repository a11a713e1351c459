// Every committed fuzz input (the seed corpora and the regressions, tests/fuzz/corpus/<target>/
// and tests/fuzz/regressions/<target>/) replayed through its harness in the ordinary build: the
// inputs libFuzzer found a crash with stay fixed, and the seeds keep reaching the code they were
// written for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/harness.h"

namespace seams::fuzz {
namespace {

namespace fs = std::filesystem;

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The inputs of one target under `kind` ("corpus" or "regressions"), in name order.
std::vector<fs::path> inputsOf(std::string_view kind, std::string_view target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(SEAMS_FUZZ_DIR) / kind / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzReplay, EveryTargetHasASeedCorpus) {
  for (const Target& t : targets()) {
    EXPECT_FALSE(inputsOf("corpus", t.name).empty()) << "no seeds for " << t.name;
  }
}

TEST(FuzzReplay, EverySeedAndRegressionInputIsHandledWithinTheContract) {
  std::size_t replayed = 0;
  for (const Target& t : targets()) {
    for (std::string_view kind : {"corpus", "regressions"}) {
      for (const fs::path& p : inputsOf(kind, t.name)) {
        const Status s = t.run(readAll(p));
        EXPECT_TRUE(s.ok()) << p << ": " << s.toString();
        ++replayed;
      }
    }
  }
  EXPECT_GT(replayed, targets().size());
}

}  // namespace
}  // namespace seams::fuzz

// VersionCounter: versions are never handed out twice, across threads, restarts and counters.
#include "core/storage/version_counter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

using testing::readFile;
using testing::TempDir;
using testing::writeFile;

class VersionCounterTest : public ::testing::Test {
 protected:
  VersionCounterTest() : state_fd_(::open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY)) {}

  std::unique_ptr<VersionCounter> open() {
    auto c = VersionCounter::open(state_fd_.get(), dir_.str());
    EXPECT_TRUE(c.ok()) << c.status().toString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::uint64_t markOnDisk() { return std::stoull(readFile(dir_.path() / "version-mark")); }

  TempDir dir_;
  UniqueFd state_fd_;
};

TEST_F(VersionCounterTest, AFreshDirectoryStartsAtOneAndCountsUp) {
  auto c = open();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->peekNext(), 1u);
  EXPECT_EQ(c->next().value(), 1u);
  EXPECT_EQ(c->next().value(), 2u);
  EXPECT_EQ(c->next().value(), 3u);
}

TEST_F(VersionCounterTest, TheMarkOnDiskIsReservedBeforeAVersionIsHandedOut) {
  auto c = open();
  ASSERT_NE(c, nullptr);
  std::uint64_t v = c->next().value();
  EXPECT_GE(markOnDisk(), v);
  EXPECT_EQ(markOnDisk(), VersionCounter::kBlock + 1) << "one block reserved past the first";
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "version-mark.tmp"));
}

TEST_F(VersionCounterTest, AfterARestartTheCounterStartsAboveEverythingReserved) {
  std::uint64_t last = 0;
  {
    auto c = open();
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 10; ++i) last = c->next().value();
  }
  auto again = open();
  ASSERT_NE(again, nullptr);
  std::uint64_t v = again->next().value();
  EXPECT_GT(v, last);
  EXPECT_GT(v, VersionCounter::kBlock) << "the whole reserved block is skipped, not just the used";
}

TEST_F(VersionCounterTest, CrossingABlockReservesTheNextOne) {
  writeFile(dir_.path() / "version-mark", "100\n");
  auto c = open();
  ASSERT_NE(c, nullptr);
  std::uint64_t prev = 0;
  for (std::uint64_t i = 0; i < VersionCounter::kBlock + 5; ++i) {
    std::uint64_t v = c->next().value();
    ASSERT_GT(v, prev);
    prev = v;
  }
  EXPECT_GT(prev, 100 + VersionCounter::kBlock);
  EXPECT_GE(markOnDisk(), prev);
}

TEST_F(VersionCounterTest, TwoCountersOnOneDirectoryNeverHandOutTheSameVersion) {
  auto a = open();
  auto b = open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(a->next().value()).second);
    EXPECT_TRUE(seen.insert(b->next().value()).second);
  }
}

TEST_F(VersionCounterTest, ConcurrentCallersGetDistinctVersions) {
  auto c = open();
  ASSERT_NE(c, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 40000;  // together more than one block, so reservations race too
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(c->next().value());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_GE(markOnDisk(), *all.rbegin());
}

TEST_F(VersionCounterTest, AboveReturnsMoreThanTheEntryHoldsAndMovesTheCounterPastIt) {
  auto c = open();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->above(0).value(), 1u);
  std::uint64_t v = c->above(500000).value();
  EXPECT_GT(v, 500000u);
  EXPECT_GT(c->next().value(), v) << "later versions stay above the one the entry got";
  EXPECT_GE(markOnDisk(), v);
}

TEST_F(VersionCounterTest, ACorruptMarkIsAnIoErrorNotAFreshStart) {
  writeFile(dir_.path() / "version-mark", "12x\n");
  auto c = VersionCounter::open(state_fd_.get(), dir_.str());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Errc::io_error);
}

TEST_F(VersionCounterTest, AMissingStateDirectoryIsAnError) {
  auto c = VersionCounter::open(-1, "nowhere");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("mark.lock in nowhere"), std::string::npos)
      << c.status().toString();
}

}  // namespace
}  // namespace seams

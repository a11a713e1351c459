#include "core/fuse/inode_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace seams {
namespace {

VaultPath P(std::string_view s) {
  return VaultPath::parse(s).value();
}

TEST(InodeTable, RootIsNodeOneAndNeverForgotten) {
  InodeTable table;
  EXPECT_EQ(table.path(InodeTable::kRootIno), VaultPath::root());
  table.forget(InodeTable::kRootIno, 1000);
  EXPECT_EQ(table.path(InodeTable::kRootIno), VaultPath::root());
  EXPECT_EQ(table.find(VaultPath::root()), InodeTable::kRootIno);
}

TEST(InodeTable, RememberingAPathTwiceGivesTheSameIdAndCountsBoth) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  EXPECT_NE(a, InodeTable::kRootIno);
  EXPECT_EQ(table.remember(P("/a")), a);
  EXPECT_EQ(table.lookupCount(a), 2u);
  EXPECT_EQ(table.path(a), P("/a"));
  EXPECT_NE(table.remember(P("/b")), a);
}

TEST(InodeTable, AnIdLivesUntilTheKernelForgetsEveryReference) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  table.remember(P("/a"));
  table.forget(a, 1);
  EXPECT_EQ(table.path(a), P("/a"));
  table.forget(a, 1);
  EXPECT_EQ(table.path(a), std::nullopt);
  EXPECT_EQ(table.find(P("/a")), std::nullopt);
  EXPECT_EQ(table.size(), 1u);  // the root
}

TEST(InodeTable, IdsAreNeverReused) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  table.forget(a, 1);
  EXPECT_NE(table.remember(P("/a")), a);
}

TEST(InodeTable, ForgettingMoreThanRememberedClampsAtZero) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  table.forget(a, 5);
  EXPECT_EQ(table.size(), 1u);
  table.forget(a, 1);  // unknown id: ignored
  table.forget(12345, 1);
}

TEST(InodeTable, RenameMovesTheIdAndEverythingBeneathIt) {
  InodeTable table;
  auto dir = table.remember(P("/d"));
  auto file = table.remember(P("/d/f"));
  auto deep = table.remember(P("/d/e/g"));
  auto sibling = table.remember(P("/dx"));
  table.rename(P("/d"), P("/n/m"));
  EXPECT_EQ(table.path(dir), P("/n/m"));
  EXPECT_EQ(table.path(file), P("/n/m/f"));
  EXPECT_EQ(table.path(deep), P("/n/m/e/g"));
  EXPECT_EQ(table.path(sibling), P("/dx"));  // a name prefix is not a path prefix
  EXPECT_EQ(table.find(P("/d/f")), std::nullopt);
  EXPECT_EQ(table.find(P("/n/m/f")), file);
}

TEST(InodeTable, RenameOntoAnExistingNameDetachesTheReplacedId) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  auto b = table.remember(P("/b"));
  table.rename(P("/a"), P("/b"));
  EXPECT_EQ(table.find(P("/b")), a);
  EXPECT_EQ(table.path(b), std::nullopt);  // no longer answers to /b
  EXPECT_EQ(table.lookupCount(b), 1u);     // but lives until forgotten
  table.forget(b, 1);
  EXPECT_EQ(table.find(P("/b")), a);  // forgetting it leaves /b alone
}

TEST(InodeTable, UnlinkDetachesSoANewFileUnderTheSameNameGetsANewId) {
  InodeTable table;
  auto a = table.remember(P("/a"));
  table.detach(P("/a"));
  EXPECT_EQ(table.path(a), std::nullopt);
  auto again = table.remember(P("/a"));
  EXPECT_NE(again, a);
  table.forget(a, 1);
  EXPECT_EQ(table.find(P("/a")), again);
}

TEST(InodeTable, ANameWhoseBackingFileChangedGetsANewIdAndTheOldOneIsDetached) {
  InodeTable t;
  const auto a = t.remember(P("/f"), 100);
  EXPECT_EQ(t.remember(P("/f"), 100), a);   // the same file
  EXPECT_EQ(t.remember(P("/f"), 0), a);     // unknown: no change
  const auto b = t.remember(P("/f"), 200);  // replaced behind the mount
  EXPECT_NE(b, a);
  EXPECT_FALSE(t.path(a).has_value());
  EXPECT_EQ(t.lookupCount(a), 3u);  // still held by the kernel until it forgets
  EXPECT_EQ(t.find(P("/f")), b);
}

TEST(InodeTable, TheRootCannotBeDetached) {
  InodeTable table;
  table.detach(VaultPath::root());
  EXPECT_EQ(table.path(InodeTable::kRootIno), VaultPath::root());
}

TEST(InodeTable, ConcurrentRememberAndForgetKeepCountsExact) {
  InodeTable table;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto path = P("/f" + std::to_string(i % 7));
        auto ino = table.remember(path);
        if (t % 2 == 0) table.rename(P("/zz"), P("/zy"));  // unrelated renames interleave
        table.forget(ino, 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace seams

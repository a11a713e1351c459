// The read-through steps LocalVault and CachingVault share: ranges of a whole file, and when the
// cache may answer for a name or for an open file.
#include "core/vault/read_through.h"

#include <gtest/gtest.h>

#include "core/common/clock.h"

namespace seams {
namespace {

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

TEST(RangeOfWhole, AnswersTheRangeClippedToTheEndAndRefusesPastIt) {
  auto mid = rangeOfWhole("abcdef", 7, 2, 3, P("/f"));
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->data, "cde");
  EXPECT_EQ(mid->version, 7u);
  EXPECT_EQ(mid->file_size, 6u);
  EXPECT_EQ(rangeOfWhole("abcdef", 7, 4, 100, P("/f"))->data, "ef");
  EXPECT_EQ(rangeOfWhole("abcdef", 7, 6, 1, P("/f"))->data, "");  // at the end: empty
  auto past = rangeOfWhole("abcdef", 7, 7, 1, P("/f"));
  EXPECT_EQ(past.code(), Errc::range_not_satisfiable);
  EXPECT_NE(past.status().message().find("/f"), std::string::npos);
}

class ReadThroughTest : public ::testing::Test {
 protected:
  FillTicket fill(const char* path) { return cache_.beginFill(P(path)); }
  ManualClock clock_;
  FsCache cache_{FsCache::Options{}, clock_};
};

TEST_F(ReadThroughTest, ANameIsAnsweredWhileItsContentIsCached) {
  EXPECT_FALSE(readCached(cache_, P("/f"), 0, 10));
  cache_.putContent(P("/f"), 3, "hello", fill("/f"));
  auto hit = readCached(cache_, P("/f"), 1, 3);
  ASSERT_TRUE(hit && hit->ok());
  EXPECT_EQ((*hit)->data, "ell");
  cache_.invalidate(P("/f"));
  EXPECT_FALSE(readCached(cache_, P("/f"), 0, 10));
}

TEST_F(ReadThroughTest, AnOpenFileIsAnsweredOnlyFromItsOwnInodeAtOneVersion) {
  FileAttr attr;
  attr.size = 5;
  attr.version = 3;
  attr.inode = 42;
  FillTicket t = fill("/f");
  cache_.putAttr(P("/f"), attr, t);
  EXPECT_FALSE(readCachedFile(cache_, P("/f"), 42, 0, 5)) << "no content yet";
  cache_.putContent(P("/f"), 3, "hello", t);
  auto hit = readCachedFile(cache_, P("/f"), 42, 0, 5);
  ASSERT_TRUE(hit && hit->ok());
  EXPECT_EQ((*hit)->data, "hello");
  EXPECT_FALSE(readCachedFile(cache_, P("/f"), 43, 0, 5)) << "another file now has the name";
  attr.version = 4;  // attributes newer than the content: not known to be these bytes
  FillTicket t2 = fill("/f");
  cache_.putAttr(P("/f"), attr, t2);
  EXPECT_FALSE(readCachedFile(cache_, P("/f"), 42, 0, 5));
}

}  // namespace
}  // namespace seams

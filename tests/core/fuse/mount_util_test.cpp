#include "core/fuse/mount_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace seams {
namespace {

TEST(MountInfo, ParsesFieldsAroundTheOptionalOnes) {
  const auto entries = parseMountInfo(
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
      "80 25 0:52 / /tmp/with\\040space rw,nosuid,nodev,relatime shared:40 - fuse.seams seams "
      "rw,user_id=0,group_id=0,allow_other\n"
      "garbage line\n"
      "81 25 0:53 / /x rw - fuse\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].mount_point, "/mnt2");
  EXPECT_EQ(entries[0].fs_type, "ext3");
  EXPECT_EQ(entries[0].major, 98u);
  EXPECT_FALSE(entries[0].isFuse());
  EXPECT_EQ(entries[1].mount_point, "/tmp/with space");
  EXPECT_EQ(entries[1].fs_type, "fuse.seams");
  EXPECT_EQ(entries[1].minor, 52u);
  EXPECT_TRUE(entries[1].isFuse());
}

TEST(MountInfo, TheRealTableOfThisProcessIsReadable) {
  const auto entries = readMountTable();
  ASSERT_FALSE(entries.empty());
  bool root = false;
  for (const auto& e : entries) root = root || e.mount_point == "/";
  EXPECT_TRUE(root);
}

TEST(CanonicalMountPoint, ResolvesTheParentButNotTheLeaf) {
  char tmpl[] = "/tmp/seams-mp-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_directory(dir + "/real");
  std::filesystem::create_directory_symlink(dir + "/real", dir + "/link");
  auto p = canonicalMountPoint(dir + "/link/mnt/");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(*p, dir + "/real/mnt");
  EXPECT_FALSE(canonicalMountPoint(dir + "/missing/mnt").ok());
  EXPECT_FALSE(canonicalMountPoint("").ok());
  std::filesystem::remove_all(dir);
}

TEST(ClearStaleMount, AnUnmountedDirectoryNeedsNothing) {
  char tmpl[] = "/tmp/seams-mp-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  EXPECT_TRUE(clearStaleMount(tmpl).ok());
  EXPECT_TRUE(fuseMountsAt(tmpl).empty());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace seams

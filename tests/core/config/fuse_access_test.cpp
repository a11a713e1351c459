// What /etc/fuse.conf allows (issue 12, defect 10): `seamctl init` chooses allow_other from it.
#include "core/config/fuse_access.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace seams {
namespace {

TEST(FuseAccessTest, UserAllowOtherCountsOnlyOnALineOfItsOwn) {
  EXPECT_TRUE(fuseConfAllowsOther("user_allow_other\n"));
  EXPECT_TRUE(fuseConfAllowsOther("# comment\n  user_allow_other  \nmount_max = 1000\n"));
  EXPECT_TRUE(fuseConfAllowsOther("user_allow_other"));
  EXPECT_TRUE(fuseConfAllowsOther("user_allow_other # allowed\n"));
  EXPECT_FALSE(fuseConfAllowsOther(""));
  EXPECT_FALSE(fuseConfAllowsOther("#user_allow_other\n"));
  EXPECT_FALSE(fuseConfAllowsOther("# user_allow_other - lets users use allow_other\n"));
  EXPECT_FALSE(fuseConfAllowsOther("user_allow_others\n"));
  EXPECT_FALSE(fuseConfAllowsOther("mount_max = 1000\n"));
}

TEST(FuseAccessTest, RootMayAlwaysUseAllowOther) {
  if (::geteuid() != 0) GTEST_SKIP() << "checks root's answer";
  EXPECT_TRUE(allowOtherCanWork());
  EXPECT_TRUE(checkAllowOther(true).ok());
  EXPECT_TRUE(checkAllowOther(false).ok());
}

}  // namespace
}  // namespace seams

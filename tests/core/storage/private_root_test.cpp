// checkPrivateRoot: the vault root seamd and seam-fsd accept (defect 4 of issue 12).
#include "core/storage/private_root.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

TEST(PrivateRootTest, ADirectoryOnlyItsOwnerCanReachIsAccepted) {
  testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.str().c_str(), 0700), 0);
  EXPECT_TRUE(checkPrivateRoot(dir.str()).ok());
  ASSERT_EQ(::chmod(dir.str().c_str(), 0500), 0);
  EXPECT_TRUE(checkPrivateRoot(dir.str()).ok()) << "tighter than 0700 is fine too";
}

TEST(PrivateRootTest, AnyGroupOrOtherBitIsRefusedNamingTheKeyAndTheFix) {
  testing::TempDir dir;
  for (mode_t mode : {0755, 0750, 0711, 0701, 0770, 0707}) {
    ASSERT_EQ(::chmod(dir.str().c_str(), mode), 0);
    Status s = checkPrivateRoot(dir.str());
    EXPECT_EQ(s.code(), Errc::permission_denied) << std::oct << mode;
    EXPECT_NE(s.message().find("vault_root: "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("chmod 0700"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("allow_shared_vault_root = true"), std::string::npos) << s.message();
  }
  ASSERT_EQ(::chmod(dir.str().c_str(), 0700), 0);
}

TEST(PrivateRootTest, ARootOwnedBySomeoneElseIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.str().c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.str().c_str(), 65534, 65534), 0);
  Status s = checkPrivateRoot(dir.str());
  EXPECT_EQ(s.code(), Errc::permission_denied);
  EXPECT_NE(s.message().find("belongs to uid 65534"), std::string::npos) << s.message();
  ASSERT_EQ(::chown(dir.str().c_str(), 0, 0), 0);
}

TEST(PrivateRootTest, AMissingRootOrAFileIsAClearError) {
  testing::TempDir dir;
  EXPECT_EQ(checkPrivateRoot(dir.str() + "/missing").code(), Errc::not_found);
  const std::string file = dir.str() + "/file";
  std::ofstream(file) << "x";
  EXPECT_EQ(checkPrivateRoot(file).code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace seams

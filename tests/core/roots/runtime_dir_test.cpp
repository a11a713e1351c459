// prepareRuntimeDir(): one deployment per runtime directory, and a directory nobody else can
// reach. flock() locks belong to an open file description, so a second attempt from this same
// process is refused just as a second seamd would be.
#include "core/roots/runtime_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

class RuntimeDirTest : public ::testing::Test {
 protected:
  static mode_t modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  testing::TempDir dir_;
  const std::string base_ = dir_.str();
  const std::string run_ = base_ + "/run";
};

TEST_F(RuntimeDirTest, AMissingDirectoryIsCreatedForUsAlone) {
  Result<RuntimeDirLock> lock = prepareRuntimeDir(run_, "deployment", "seamd");
  ASSERT_TRUE(lock.ok()) << lock.status().toString();
  EXPECT_TRUE(lock->held());
  EXPECT_EQ(lock->path(), run_ + "/deployment.lock");
  EXPECT_EQ(modeOf(run_), 0700u);
}

TEST_F(RuntimeDirTest, AnExistingDirectoryOpenToOthersIsTightened) {
  ASSERT_EQ(::mkdir(run_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(run_.c_str(), 0755), 0);
  ASSERT_TRUE(prepareRuntimeDir(run_, "deployment", "seamd").ok());
  EXPECT_EQ(modeOf(run_), 0700u);
}

TEST_F(RuntimeDirTest, AFileWhereTheDirectoryShouldBeIsRefused) {
  testing::writeFile(run_, "not a directory");
  Result<RuntimeDirLock> lock = prepareRuntimeDir(run_, "deployment", "seamd");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Errc::not_a_directory) << lock.status().toString();
}

TEST_F(RuntimeDirTest, ASymlinkToADirectoryIsRefusedNotFollowed) {
  const std::string real = base_ + "/elsewhere";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), run_.c_str()), 0);
  Result<RuntimeDirLock> lock = prepareRuntimeDir(run_, "deployment", "seamd");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Errc::invalid_argument) << lock.status().toString();
  EXPECT_NE(::access((real + "/deployment.lock").c_str(), F_OK), 0);
}

TEST_F(RuntimeDirTest, ASecondHolderIsRefusedNamingTheFirstAndItsPid) {
  Result<RuntimeDirLock> first = prepareRuntimeDir(run_, "deployment", "seamd");
  ASSERT_TRUE(first.ok());
  Result<RuntimeDirLock> second = prepareRuntimeDir(run_, "deployment", "seam-split");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::conflict);
  const std::string expected = "runtime_dir " + run_ + " is in use by seamd (pid " +
                               std::to_string(::getpid()) + ", lock " + run_ + "/deployment.lock)";
  EXPECT_NE(second.status().message().find(expected), std::string::npos)
      << second.status().message();
}

TEST_F(RuntimeDirTest, LocksOfOtherNamesInTheSameDirectoryDoNotConflict) {
  Result<RuntimeDirLock> deployment = prepareRuntimeDir(run_, "deployment", "seam-split");
  Result<RuntimeDirLock> fsd = prepareRuntimeDir(run_, "seam-fsd", "seam-fsd");
  EXPECT_TRUE(deployment.ok());
  EXPECT_TRUE(fsd.ok());
}

TEST_F(RuntimeDirTest, ReleasingRemovesTheLockFileAndLetsTheNextHolderIn) {
  Result<RuntimeDirLock> first = prepareRuntimeDir(run_, "deployment", "seamd");
  ASSERT_TRUE(first.ok());
  const std::string path = first->path();
  first->release();
  first->release();  // safe twice
  EXPECT_FALSE(first->held());
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  Result<RuntimeDirLock> next = prepareRuntimeDir(run_, "deployment", "seam-split");
  EXPECT_TRUE(next.ok()) << next.status().toString();
}

TEST_F(RuntimeDirTest, ALockFileACrashLeftBehindIsTakenOver) {
  ASSERT_EQ(::mkdir(run_.c_str(), 0700), 0);
  testing::writeFile(run_ + "/deployment.lock", "99999 seamd\n");  // nobody holds it
  Result<RuntimeDirLock> lock = prepareRuntimeDir(run_, "deployment", "seam-split");
  ASSERT_TRUE(lock.ok()) << lock.status().toString();
  EXPECT_EQ(testing::readFile(run_ + "/deployment.lock"),
            std::to_string(::getpid()) + " seam-split\n");
}

}  // namespace
}  // namespace seams

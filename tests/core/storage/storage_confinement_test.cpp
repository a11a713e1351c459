// Storage: symlinks and special files planted in the backing directory are never followed.
//
// VaultPath::parse already rejects "..", "%2e%2e" (once decoded), NUL and overlong paths
// (tests/core/common); these tests cover what only the filesystem can do: links.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "core/storage/storage.h"
#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

class StorageConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = dir_.path() / "vault";
    outside_ = dir_.path() / "outside";
    fs::create_directories(vault_);
    fs::create_directories(outside_);
    writeFile(outside_ / "secret", "top secret");
    auto s = Storage::open(vault_.string());
    ASSERT_TRUE(s.ok()) << s.status().toString();
    storage_ = std::move(*s);
  }

  // Nothing outside the vault was created, changed or removed.
  void expectOutsideUntouched() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(outside_)) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"secret"});
    EXPECT_EQ(readFile(outside_ / "secret"), "top secret");
  }

  TempDir dir_;
  fs::path vault_;
  fs::path outside_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageConfinementTest, ASymlinkToEtcCannotBeStatReadOrListed) {
  fs::create_directory_symlink("/etc", vault_ / "etc");
  EXPECT_FALSE(storage_->stat(P("/etc")).ok());
  EXPECT_FALSE(storage_->stat(P("/etc/passwd")).ok());
  EXPECT_FALSE(storage_->read(P("/etc/passwd"), 0, 100).ok());
  EXPECT_FALSE(storage_->readAll(P("/etc/passwd"), 1 << 20).ok());
  EXPECT_FALSE(storage_->list(P("/etc")).ok());
  EXPECT_FALSE(storage_->fsync(P("/etc/passwd")).ok());
  auto r = storage_->refresh(P("/etc/passwd"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->change, RefreshResult::Change::removed) << "invisible to the vault";
  char buf[32];
  EXPECT_LT(::getxattr("/etc/passwd", "user.seams.version", buf, sizeof(buf)), 0)
      << "no version was written outside the vault";
}

TEST_F(StorageConfinementTest, ASymlinkToEtcCannotBeWrittenThrough) {
  const fs::path probe = "/etc/seams-storage-test-probe";
  ASSERT_FALSE(fs::exists(probe));
  fs::create_directory_symlink("/etc", vault_ / "etc");
  EXPECT_FALSE(storage_->put(P("/etc/seams-storage-test-probe"), "x").ok());
  EXPECT_FALSE(storage_->create(P("/etc/seams-storage-test-probe"), 0644).ok());
  EXPECT_FALSE(storage_->mkdir(P("/etc/seams-storage-test-probe"), 0755).ok());
  EXPECT_FALSE(storage_->write(P("/etc/hostname"), 0, "").ok());
  EXPECT_FALSE(storage_->truncate(P("/etc/hostname"), 0).ok());
  bool leaked = fs::exists(probe);
  std::error_code ec;
  fs::remove_all(probe, ec);
  EXPECT_FALSE(leaked) << "a change went through the symlink into /etc";
  EXPECT_TRUE(fs::is_symlink(vault_ / "etc"));
}

TEST_F(StorageConfinementTest, ASymlinkedDirectoryRefusesEveryChangeThroughIt) {
  fs::create_directory_symlink(outside_, vault_ / "out");
  EXPECT_FALSE(storage_->put(P("/out/new"), "x").ok());
  EXPECT_FALSE(storage_->create(P("/out/new"), 0644).ok());
  EXPECT_FALSE(storage_->mkdir(P("/out/newdir"), 0755).ok());
  EXPECT_FALSE(storage_->write(P("/out/secret"), 0, "overwritten").ok());
  EXPECT_FALSE(storage_->truncate(P("/out/secret"), 0).ok());
  EXPECT_FALSE(storage_->unlink(P("/out/secret")).ok());
  EXPECT_FALSE(storage_->rename(P("/out/secret"), P("/stolen")).ok());
  ASSERT_TRUE(storage_->put(P("/mine"), "x").ok());
  EXPECT_FALSE(storage_->rename(P("/mine"), P("/out/mine")).ok());
  expectOutsideUntouched();
  EXPECT_TRUE(fs::exists(vault_ / "mine"));
}

TEST_F(StorageConfinementTest, ASymlinkInTheMiddleOfAPathIsNotFollowed) {
  fs::create_directories(vault_ / "a");
  fs::create_directory_symlink(outside_, vault_ / "a" / "link");
  EXPECT_EQ(storage_->stat(P("/a/link/secret")).code(), Errc::invalid_argument);
  EXPECT_FALSE(storage_->read(P("/a/link/secret"), 0, 100).ok());
  EXPECT_FALSE(storage_->put(P("/a/link/secret"), "pwned").ok());
  EXPECT_FALSE(storage_->list(P("/a/link")).ok());
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, ARelativeSymlinkThatStaysInsideIsStillNotFollowed) {
  ASSERT_TRUE(storage_->put(P("/real"), "data").ok());
  fs::create_symlink("real", vault_ / "alias");
  EXPECT_EQ(storage_->stat(P("/alias")).code(), Errc::invalid_argument);
  EXPECT_FALSE(storage_->read(P("/alias"), 0, 10).ok());
}

TEST_F(StorageConfinementTest, ListHidesSymlinksAndSpecialFiles) {
  ASSERT_TRUE(storage_->put(P("/file"), "x").ok());
  fs::create_directory_symlink("/etc", vault_ / "etc");
  fs::create_symlink(outside_ / "secret", vault_ / "secretlink");
  ASSERT_EQ(::mkfifo((vault_ / "fifo").c_str(), 0644), 0);
  auto l = storage_->list(VaultPath::root());
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "file");
}

TEST_F(StorageConfinementTest, AFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((vault_ / "fifo").c_str(), 0644), 0);
  EXPECT_EQ(storage_->stat(P("/fifo")).code(), Errc::invalid_argument);
  EXPECT_FALSE(storage_->read(P("/fifo"), 0, 10).ok());
  EXPECT_FALSE(storage_->write(P("/fifo"), 0, "x").ok());
}

TEST_F(StorageConfinementTest, UnlinkOfASymlinkRemovesTheLinkNotItsTarget) {
  fs::create_symlink(outside_ / "secret", vault_ / "link");
  ASSERT_TRUE(storage_->unlink(P("/link")).ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(vault_ / "link")));
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, RenameOntoASymlinkReplacesTheLinkNotItsTarget) {
  fs::create_symlink(outside_ / "secret", vault_ / "link");
  ASSERT_TRUE(storage_->put(P("/mine"), "mine").ok());
  ASSERT_TRUE(storage_->rename(P("/mine"), P("/link")).ok());
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(vault_ / "link")));
  EXPECT_EQ(readFile(vault_ / "link"), "mine");
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, PutOntoASymlinkReplacesTheLinkNotItsTarget) {
  fs::create_symlink(outside_ / "secret", vault_ / "link");
  ASSERT_TRUE(storage_->put(P("/link"), "mine").ok());
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(vault_ / "link")));
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, CreateOntoASymlinkIsAlreadyExistsAndTouchesNothing) {
  fs::create_symlink(outside_ / "new", vault_ / "link");
  EXPECT_EQ(storage_->create(P("/link"), 0644).code(), Errc::already_exists);
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, RenameOfASymlinkIsRefused) {
  fs::create_symlink(outside_ / "secret", vault_ / "link");
  EXPECT_EQ(storage_->rename(P("/link"), P("/moved")).code(), Errc::invalid_argument);
  EXPECT_TRUE(fs::is_symlink(vault_ / "link"));
}

TEST_F(StorageConfinementTest, WriteAndTruncateThroughAFinalSymlinkFail) {
  fs::create_symlink(outside_ / "secret", vault_ / "link");
  EXPECT_FALSE(storage_->write(P("/link"), 0, "overwritten").ok());
  EXPECT_FALSE(storage_->truncate(P("/link"), 0).ok());
  EXPECT_FALSE(storage_->stat(P("/link")).ok());
  expectOutsideUntouched();
}

TEST_F(StorageConfinementTest, TheReservedStateDirectoryIsNotListed) {
  // The reserved name is hidden at the root even though VaultPath would never produce it.
  auto l = storage_->list(VaultPath::root());
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
}

}  // namespace
}  // namespace seams

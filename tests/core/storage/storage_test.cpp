// Storage: every operation and its errors.
#include "core/storage/storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

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

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Storage::open(dir_.str());
    ASSERT_TRUE(s.ok()) << s.status().toString();
    storage_ = std::move(*s);
  }
  fs::path backing(std::string_view rel) const { return dir_.path() / rel; }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

TEST(StorageOpen, FailsOnAMissingRoot) {
  auto s = Storage::open("/nonexistent/seams-root");
  EXPECT_EQ(s.code(), Errc::not_found);
}

TEST(StorageOpen, CreatesTheReservedStateDirectory) {
  TempDir dir;
  ASSERT_TRUE(Storage::open(dir.str()).ok());
  EXPECT_TRUE(fs::is_directory(dir.path() / ".seams" / "tmp"));
}

TEST(StorageOpen, AnotherProcessCannotOpenARootThisProcessOwns) {
  TempDir dir;
  auto owner = Storage::open(dir.str());
  ASSERT_TRUE(owner.ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto second = Storage::open(dir.str());
    ::_exit(second.code() == Errc::conflict ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the other process was refused with conflict";
}

TEST(StorageOpen, TheLockGoesWithItsOwner) {
  TempDir dir;
  auto owner = Storage::open(dir.str());
  ASSERT_TRUE(owner.ok());
  owner->reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(Storage::open(dir.str()).ok() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(StorageOpen, TwoObjectsInTheOwningProcessShareARootWithoutVersionClashes) {
  // A supervised vault service restarted while a frontend still holds the previous Vault.
  TempDir dir;
  auto first = Storage::open(dir.str());
  ASSERT_TRUE(first.ok());
  auto second = Storage::open(dir.str());
  ASSERT_TRUE(second.ok()) << second.status().toString();
  std::set<std::uint64_t> seen;
  std::uint64_t last = 0;
  for (int i = 0; i < 20; ++i) {
    Storage& s = (i % 3 == 0) ? **first : **second;
    auto a = s.put(P("/shared"), std::to_string(i));
    ASSERT_TRUE(a.ok()) << a.status().toString();
    EXPECT_GT(a->version, last) << "one file's version grows whichever object changes it";
    last = a->version;
    EXPECT_TRUE(seen.insert(a->version).second);
    auto b = s.put(P("/own" + std::to_string(i % 3 == 0)), "x");
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(seen.insert(b->version).second) << "the two objects never hand out one version";
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / ".seams" / "tmp"));
  first->reset();
  second->reset();
  auto reopened = Storage::open(dir.str());
  ASSERT_TRUE(reopened.ok());
  EXPECT_GT((*reopened)->put(P("/after"), "x")->version, *seen.rbegin());
}

TEST_F(StorageTest, CreateMakesAnEmptyFileWithTheGivenMode) {
  auto a = storage_->create(P("/f"), 0600);
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->type, FileType::file);
  EXPECT_EQ(a->size, 0u);
  EXPECT_EQ(a->mode, 0600u);
  EXPECT_GT(a->version, 0u);
  EXPECT_TRUE(fs::is_regular_file(backing("f")));
  auto st = storage_->stat(P("/f"));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, *a);
}

TEST_F(StorageTest, CreateOnATakenNameIsAlreadyExists) {
  ASSERT_TRUE(storage_->create(P("/f"), 0644).ok());
  EXPECT_EQ(storage_->create(P("/f"), 0644).code(), Errc::already_exists);
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->create(P("/d"), 0644).code(), Errc::already_exists);
}

TEST_F(StorageTest, CreateInAMissingDirectoryIsNotFound) {
  EXPECT_EQ(storage_->create(P("/no/f"), 0644).code(), Errc::not_found);
}

TEST_F(StorageTest, CreateBeneathAFileIsNotADirectory) {
  ASSERT_TRUE(storage_->create(P("/f"), 0644).ok());
  EXPECT_EQ(storage_->create(P("/f/g"), 0644).code(), Errc::not_a_directory);
}

TEST_F(StorageTest, StatOfAMissingPathIsNotFound) {
  EXPECT_EQ(storage_->stat(P("/missing")).code(), Errc::not_found);
}

TEST_F(StorageTest, StatOfTheRootIsADirectory) {
  auto a = storage_->stat(VaultPath::root());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, FileType::directory);
}

TEST_F(StorageTest, MkdirMakesADirectoryAndRefusesATakenName) {
  auto a = storage_->mkdir(P("/d"), 0750);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, FileType::directory);
  EXPECT_EQ(a->mode, 0750u) << "the bits asked for are presented (issue 13)";
  EXPECT_TRUE(fs::is_directory(backing("d")));
  struct stat st {};
  ASSERT_EQ(::stat(backing("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u)
      << "the backing directory is private: no group or other bits";
  EXPECT_EQ(storage_->mkdir(P("/d"), 0750).code(), Errc::already_exists);
  EXPECT_EQ(storage_->mkdir(P("/x/y"), 0750).code(), Errc::not_found);
  EXPECT_EQ(storage_->mkdir(VaultPath::root(), 0750).code(), Errc::already_exists);
}

TEST_F(StorageTest, ListReturnsEntriesInNameOrderWithoutTheStateDirectory) {
  ASSERT_TRUE(storage_->put(P("/b"), "bb").ok());
  ASSERT_TRUE(storage_->mkdir(P("/c"), 0755).ok());
  ASSERT_TRUE(storage_->put(P("/a"), "a").ok());
  auto l = storage_->list(VaultPath::root());
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].name, "a");
  EXPECT_EQ((*l)[0].attr.size, 1u);
  EXPECT_EQ((*l)[1].name, "b");
  EXPECT_EQ((*l)[1].attr.size, 2u);
  EXPECT_EQ((*l)[2].name, "c");
  EXPECT_EQ((*l)[2].attr.type, FileType::directory);
  EXPECT_EQ((*l)[0].attr, *storage_->stat(P("/a")));
}

TEST_F(StorageTest, ListShowsANestedSeamsNameBecauseOnlyTheRootOneIsReserved) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->mkdir(P("/d/.seams"), 0755).ok());
  auto l = storage_->list(P("/d"));
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, ".seams");
}

TEST_F(StorageTest, ListErrors) {
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  EXPECT_EQ(storage_->list(P("/f")).code(), Errc::not_a_directory);
  EXPECT_EQ(storage_->list(P("/missing")).code(), Errc::not_found);
}

TEST_F(StorageTest, ReadReturnsTheRequestedRange) {
  auto put = storage_->put(P("/f"), "hello world");
  ASSERT_TRUE(put.ok());
  auto r = storage_->read(P("/f"), 6, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, "wor");
  EXPECT_EQ(r->file_size, 11u);
  EXPECT_EQ(r->version, put->version);
  EXPECT_EQ(storage_->read(P("/f"), 6, 100)->data, "world");
  EXPECT_EQ(storage_->read(P("/f"), 11, 5)->data, "");
  EXPECT_EQ(storage_->read(P("/f"), 12, 5).code(), Errc::range_not_satisfiable);
}

TEST_F(StorageTest, ReadErrors) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->read(P("/d"), 0, 1).code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->read(P("/missing"), 0, 1).code(), Errc::not_found);
}

TEST_F(StorageTest, ReadAllReturnsTheWholeFileUpToALimit) {
  ASSERT_TRUE(storage_->put(P("/f"), "0123456789").ok());
  auto c = storage_->readAll(P("/f"), 10);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data, "0123456789");
  EXPECT_EQ(c->attr.size, 10u);
  EXPECT_EQ(storage_->readAll(P("/f"), 9).code(), Errc::too_large);
}

TEST_F(StorageTest, WriteChangesBytesInPlaceAndExtends) {
  ASSERT_TRUE(storage_->put(P("/f"), "hello").ok());
  auto a = storage_->write(P("/f"), 3, "LO world");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size, 11u);
  EXPECT_EQ(readFile(backing("f")), "helLO world");
}

TEST_F(StorageTest, WriteErrors) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->write(P("/d"), 0, "x").code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->write(P("/missing"), 0, "x").code(), Errc::not_found);
}

TEST_F(StorageTest, PutCreatesThenReplacesWholeContent) {
  bool created = false;
  auto a = storage_->put(P("/f"), "first version", &created);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(a->mode, 0600u);
  auto b = storage_->put(P("/f"), "2nd", &created);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(b->size, 3u);
  EXPECT_EQ(readFile(backing("f")), "2nd");
  EXPECT_NE(a->inode, b->inode) << "put swaps in a new inode";
}

TEST_F(StorageTest, NothingTheVaultMakesIsReadableByOtherUsers) {
  ASSERT_TRUE(storage_->create(P("/created"), 0666).ok());
  ASSERT_TRUE(storage_->create(P("/script"), 0755).ok());
  ASSERT_TRUE(storage_->mkdir(P("/dir"), 0777).ok());
  ASSERT_TRUE(storage_->put(P("/dir/put"), "x").ok());
  auto mode = [&](const char* rel) {
    struct stat st {};
    EXPECT_EQ(::stat(backing(rel).c_str(), &st), 0) << rel;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode("created"), 0600u);
  EXPECT_EQ(mode("script"), 0700u) << "the owner's x bit is kept";
  EXPECT_EQ(mode("dir"), 0700u);
  EXPECT_EQ(mode("dir/put"), 0600u);
  // A file made outside the vault with a looser mode is tightened by the next put over it.
  { std::ofstream(backing("loose")) << "old"; }
  ASSERT_EQ(::chmod(backing("loose").c_str(), 0644), 0);
  ASSERT_TRUE(storage_->put(P("/loose"), "new").ok());
  EXPECT_EQ(mode("loose"), 0600u);
}

TEST_F(StorageTest, PutKeepsTheModeOfTheFileItReplaces) {
  ASSERT_TRUE(storage_->create(P("/f"), 0600).ok());
  auto a = storage_->put(P("/f"), "x");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->mode, 0600u);
}

TEST_F(StorageTest, PutLeavesNoTempFilesBehind) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(storage_->put(P("/f"), std::to_string(i)).ok());
  EXPECT_EQ(storage_->put(P("/no/f"), "x").code(), Errc::not_found);
  EXPECT_TRUE(fs::is_empty(backing(".seams/tmp")));
}

TEST_F(StorageTest, PutErrors) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->put(P("/d"), "x").code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->put(VaultPath::root(), "x").code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->put(P("/missing/f"), "x").code(), Errc::not_found);
  EXPECT_TRUE(fs::is_empty(backing(".seams/tmp")));
}

TEST_F(StorageTest, OpenRemovesTempFilesACrashLeftBehind) {
  writeFile(backing(".seams/tmp/put-1-1"), "half a file");
  storage_.reset();
  auto s = Storage::open(dir_.str());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(fs::is_empty(backing(".seams/tmp")));
}

TEST_F(StorageTest, TruncateShrinksAndGrows) {
  ASSERT_TRUE(storage_->put(P("/f"), "hello").ok());
  EXPECT_EQ(storage_->truncate(P("/f"), 2)->size, 2u);
  EXPECT_EQ(readFile(backing("f")), "he");
  EXPECT_EQ(storage_->truncate(P("/f"), 4)->size, 4u);
  EXPECT_EQ(readFile(backing("f")), std::string("he\0\0", 4));
  EXPECT_EQ(storage_->truncate(P("/missing"), 0).code(), Errc::not_found);
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->truncate(P("/d"), 0).code(), Errc::is_a_directory);
}

TEST_F(StorageTest, UnlinkRemovesAFileOnly) {
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  ASSERT_TRUE(storage_->unlink(P("/f")).ok());
  EXPECT_FALSE(fs::exists(backing("f")));
  EXPECT_EQ(storage_->unlink(P("/f")).code(), Errc::not_found);
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(storage_->unlink(P("/d")).code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->unlink(VaultPath::root()).code(), Errc::is_a_directory);
}

TEST_F(StorageTest, RmdirRemovesOnlyAnEmptyDirectory) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->put(P("/d/f"), "x").ok());
  EXPECT_EQ(storage_->rmdir(P("/d")).code(), Errc::not_empty);
  ASSERT_TRUE(storage_->unlink(P("/d/f")).ok());
  ASSERT_TRUE(storage_->rmdir(P("/d")).ok());
  EXPECT_FALSE(fs::exists(backing("d")));
  EXPECT_EQ(storage_->rmdir(P("/d")).code(), Errc::not_found);
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  EXPECT_EQ(storage_->rmdir(P("/f")).code(), Errc::not_a_directory);
  EXPECT_EQ(storage_->rmdir(VaultPath::root()).code(), Errc::invalid_argument);
}

TEST_F(StorageTest, RenameMovesAFileAndReplacesTheTarget) {
  ASSERT_TRUE(storage_->put(P("/a"), "AAA").ok());
  ASSERT_TRUE(storage_->put(P("/b"), "B").ok());
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  auto a = storage_->rename(P("/a"), P("/d/a2"));
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->size, 3u);
  EXPECT_FALSE(fs::exists(backing("a")));
  EXPECT_EQ(readFile(backing("d/a2")), "AAA");
  ASSERT_TRUE(storage_->rename(P("/d/a2"), P("/b")).ok());
  EXPECT_EQ(readFile(backing("b")), "AAA");
}

TEST_F(StorageTest, RenameMovesADirectoryWithItsContent) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->put(P("/d/f"), "x").ok());
  auto a = storage_->rename(P("/d"), P("/e"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, FileType::directory);
  EXPECT_EQ(storage_->read(P("/e/f"), 0, 10)->data, "x");
}

TEST_F(StorageTest, RenameErrors) {
  EXPECT_EQ(storage_->rename(P("/missing"), P("/x")).code(), Errc::not_found);
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->mkdir(P("/e"), 0755).ok());
  ASSERT_TRUE(storage_->put(P("/e/f"), "x").ok());
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  EXPECT_EQ(storage_->rename(P("/d"), P("/e")).code(), Errc::not_empty);
  EXPECT_EQ(storage_->rename(P("/f"), P("/d")).code(), Errc::is_a_directory);
  EXPECT_EQ(storage_->rename(P("/d"), P("/f")).code(), Errc::not_a_directory);
  EXPECT_EQ(storage_->rename(P("/d"), P("/d/inside")).code(), Errc::invalid_argument);
  EXPECT_EQ(storage_->rename(P("/f"), P("/missing/f")).code(), Errc::not_found);
  EXPECT_EQ(storage_->rename(VaultPath::root(), P("/x")).code(), Errc::invalid_argument);
}

TEST_F(StorageTest, FsyncSucceedsOnFilesAndDirectories) {
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  EXPECT_TRUE(storage_->fsync(P("/f")).ok());
  EXPECT_TRUE(storage_->fsync(VaultPath::root()).ok());
  EXPECT_EQ(storage_->fsync(P("/missing")).code(), Errc::not_found);
}

TEST_F(StorageTest, RefreshOfAMissingPathReportsItRemovedOnce) {
  auto r = storage_->refresh(P("/missing/deeper"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->change, RefreshResult::Change::removed);
  EXPECT_EQ(storage_->refresh(P("/missing/deeper"))->change, RefreshResult::Change::unchanged);
}

TEST_F(StorageTest, SetAttributesStoresModeAndOwnerAsMetadataAndTimesOnTheInode) {
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  const std::uint64_t before = storage_->stat(P("/f"))->version;
  AttrChange c;
  c.what = AttrChange::kMode | AttrChange::kUid | AttrChange::kMtime;
  c.mode = 0;
  c.uid = 4321;
  c.mtime_ns = 978307200'000000007;
  auto a = storage_->setAttributes(P("/f"), c);
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->mode, 0u);
  EXPECT_TRUE(a->owner_set);
  EXPECT_EQ(a->uid, 4321u);
  EXPECT_EQ(a->gid, ::getgid()) << "the group not asked for stays the backing one";
  EXPECT_EQ(a->mtime_ns, c.mtime_ns);
  EXPECT_GT(a->version, before);
  EXPECT_EQ(*storage_->stat(P("/f")), *a);
  // The backing file itself stays private and the daemon's.
  struct stat st {};
  ASSERT_EQ(::stat(backing("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(st.st_mtim.tv_sec, 978307200);
  // A put keeps the presented mode and owner; a rename carries them.
  ASSERT_TRUE(storage_->put(P("/f"), "replaced").ok());
  EXPECT_EQ(storage_->stat(P("/f"))->mode, 0u);
  EXPECT_EQ(storage_->stat(P("/f"))->uid, 4321u);
  ASSERT_TRUE(storage_->rename(P("/f"), P("/g")).ok());
  EXPECT_EQ(storage_->stat(P("/g"))->mode, 0u);
}

TEST_F(StorageTest, SetAttributesRefusesBadInput) {
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  AttrChange c;
  c.what = AttrChange::kMode;
  c.mode = 010000;
  EXPECT_EQ(storage_->setAttributes(P("/f"), c).code(), Errc::invalid_argument);
  c.what = AttrChange::kAll + 1;
  c.mode = 0644;
  EXPECT_EQ(storage_->setAttributes(P("/f"), c).code(), Errc::invalid_argument);
  c.what = AttrChange::kMode;
  EXPECT_EQ(storage_->setAttributes(P("/missing"), c).code(), Errc::not_found);
}

TEST_F(StorageTest, CreateAndMkdirPresentTheModeAskedForAndKeepTheBackingPrivate) {
  EXPECT_EQ(storage_->create(P("/f"), 0000)->mode, 0000u);
  EXPECT_EQ(storage_->mkdir(P("/d"), 0751)->mode, 0751u);
  struct stat st {};
  ASSERT_EQ(::stat(backing("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(backing("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(StorageTest, ADirectoryCountsItsSubdirectoriesAndTheRootHidesTheStateDirectory) {
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->mkdir(P("/d/a"), 0755).ok());
  ASSERT_TRUE(storage_->mkdir(P("/d/b"), 0755).ok());
  ASSERT_TRUE(storage_->put(P("/d/f"), "x").ok());
  EXPECT_EQ(storage_->stat(P("/d"))->nlink, 4u);
  EXPECT_EQ(storage_->stat(P("/d/f"))->nlink, 1u);
  EXPECT_EQ(storage_->stat(VaultPath::root())->nlink, 3u);
}

TEST_F(StorageTest, APathLongerThanPathMaxIsOpenedInPieces) {
  std::string p;
  for (int i = 0; i < 30; ++i) {
    p += "/" + std::string(200, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(storage_->mkdir(P(p), 0755).ok()) << "depth " << i + 1;
  }
  ASSERT_GT(p.size(), 4096u);
  ASSERT_TRUE(storage_->put(P(p + "/leaf"), "deep").ok());
  EXPECT_EQ(storage_->read(P(p + "/leaf"), 0, 10)->data, "deep");
  EXPECT_EQ(storage_->list(P(p))->size(), 1u);
}

}  // namespace
}  // namespace seams

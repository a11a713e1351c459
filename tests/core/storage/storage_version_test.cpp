// Storage: versions grow on every change, survive restarts, and never go backwards; put is atomic.
#include <gtest/gtest.h>
#include <sys/xattr.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

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

std::string xattrOf(const fs::path& p) {
  char buf[64];
  ssize_t n = ::getxattr(p.c_str(), "user.seams.version", buf, sizeof(buf));
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

class StorageVersionTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    storage_.reset();
    auto s = Storage::open(dir_.str());
    ASSERT_TRUE(s.ok()) << s.status().toString();
    storage_ = std::move(*s);
  }
  std::uint64_t versionOf(std::string_view raw) {
    auto a = storage_->stat(P(raw));
    EXPECT_TRUE(a.ok()) << a.status().toString();
    return a.ok() ? a->version : 0;
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageVersionTest, EveryKindOfChangeGivesTheFileAGreaterVersion) {
  std::uint64_t v0 = storage_->create(P("/f"), 0644)->version;
  std::uint64_t v1 = storage_->write(P("/f"), 0, "abc")->version;
  EXPECT_GT(v1, v0);
  std::uint64_t v2 = storage_->put(P("/f"), "whole new content")->version;
  EXPECT_GT(v2, v1);
  std::uint64_t v3 = storage_->truncate(P("/f"), 4)->version;
  EXPECT_GT(v3, v2);
  std::uint64_t v4 = storage_->rename(P("/f"), P("/g"))->version;
  EXPECT_GT(v4, v3);
  testing::writeFile(dir_.path() / "g", "changed outside");
  auto refreshed = storage_->refresh(P("/g"));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->change, RefreshResult::Change::modified);
  std::uint64_t v5 = refreshed->attr.version;
  EXPECT_GT(v5, v4);
  EXPECT_EQ(versionOf("/g"), v5);
}

TEST_F(StorageVersionTest, ReadsDoNotChangeTheVersion) {
  std::uint64_t v = storage_->put(P("/f"), "abc")->version;
  EXPECT_EQ(storage_->read(P("/f"), 0, 3)->version, v);
  EXPECT_EQ(storage_->readAll(P("/f"), 100)->attr.version, v);
  EXPECT_EQ(storage_->list(VaultPath::root())->at(0).attr.version, v);
  EXPECT_EQ(versionOf("/f"), v);
}

TEST_F(StorageVersionTest, ADirectoryVersionGrowsWhenItsEntriesChange) {
  std::uint64_t d0 = storage_->mkdir(P("/d"), 0755)->version;
  ASSERT_TRUE(storage_->create(P("/d/f"), 0644).ok());
  std::uint64_t d1 = versionOf("/d");
  EXPECT_GT(d1, d0);
  ASSERT_TRUE(storage_->put(P("/d/g"), "x").ok());
  std::uint64_t d2 = versionOf("/d");
  EXPECT_GT(d2, d1);
  ASSERT_TRUE(storage_->put(P("/d/g"), "replaced").ok());
  EXPECT_EQ(versionOf("/d"), d2) << "replacing content does not change the directory's entries";
  ASSERT_TRUE(storage_->rename(P("/d/g"), P("/h")).ok());
  std::uint64_t d3 = versionOf("/d");
  EXPECT_GT(d3, d2);
  ASSERT_TRUE(storage_->unlink(P("/d/f")).ok());
  std::uint64_t d4 = versionOf("/d");
  EXPECT_GT(d4, d3);
  ASSERT_TRUE(storage_->mkdir(P("/d/sub"), 0755).ok());
  std::uint64_t d5 = versionOf("/d");
  EXPECT_GT(d5, d4);
  ASSERT_TRUE(storage_->rmdir(P("/d/sub")).ok());
  EXPECT_GT(versionOf("/d"), d5);
}

TEST_F(StorageVersionTest, TheVersionLivesInTheBackingFilesXattr) {
  std::uint64_t v = storage_->put(P("/f"), "abc")->version;
  EXPECT_EQ(xattrOf(dir_.path() / "f"), std::to_string(v));
}

TEST_F(StorageVersionTest, VersionsSurviveReopening) {
  std::uint64_t v = storage_->put(P("/f"), "abc")->version;
  reopen();
  EXPECT_EQ(versionOf("/f"), v);
  EXPECT_GT(storage_->write(P("/f"), 0, "x")->version, v);
}

TEST_F(StorageVersionTest, AfterARestartNewVersionsStartAboveEveryVersionHandedOut) {
  std::uint64_t highest = 0;
  for (int i = 0; i < 100; ++i) highest = storage_->put(P("/f"), std::to_string(i))->version;
  std::uint64_t mark = std::stoull(readFile(dir_.path() / ".seams" / "version-mark"));
  EXPECT_GE(mark, highest) << "the mark is reserved before versions below it are used";
  reopen();
  EXPECT_GT(storage_->peekNextVersion(), mark);
  EXPECT_GT(storage_->put(P("/g"), "x")->version, highest);
}

TEST_F(StorageVersionTest, ManyRestartsNeverReuseAVersion) {
  std::uint64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    std::uint64_t v = storage_->put(P("/f"), std::to_string(i))->version;
    EXPECT_GT(v, last);
    last = v;
    reopen();
  }
}

TEST_F(StorageVersionTest, DeleteAndRecreateGivesAGreaterVersion) {
  std::uint64_t v = storage_->put(P("/f"), "abc")->version;
  ASSERT_TRUE(storage_->unlink(P("/f")).ok());
  EXPECT_GT(storage_->create(P("/f"), 0644)->version, v);
  std::uint64_t d = storage_->mkdir(P("/d"), 0755)->version;
  ASSERT_TRUE(storage_->rmdir(P("/d")).ok());
  EXPECT_GT(storage_->mkdir(P("/d"), 0755)->version, d);
}

TEST_F(StorageVersionTest, AFileMadeOutsideGetsAFreshVersionOnFirstSightAndKeepsIt) {
  std::uint64_t before = storage_->put(P("/known"), "x")->version;
  writeFile(dir_.path() / "outsider", "made by hand");
  std::uint64_t v = versionOf("/outsider");
  EXPECT_GT(v, before);
  EXPECT_EQ(versionOf("/outsider"), v);
  EXPECT_EQ(xattrOf(dir_.path() / "outsider"), std::to_string(v));
}

TEST_F(StorageVersionTest, RefreshTellsCreatedModifiedUnchangedAndRemoved) {
  using Change = RefreshResult::Change;
  std::uint64_t root0 = versionOf("/");
  writeFile(dir_.path() / "outsider", "made by hand");
  auto created = storage_->refresh(P("/outsider"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->change, Change::created);
  std::uint64_t root1 = versionOf("/");
  EXPECT_GT(root1, root0) << "a new name changed the directory";

  auto unchanged = storage_->refresh(P("/outsider"));
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->change, Change::unchanged);
  EXPECT_EQ(unchanged->attr.version, created->attr.version);

  writeFile(dir_.path() / "outsider", "edited by hand");
  auto modified = storage_->refresh(P("/outsider"));
  ASSERT_TRUE(modified.ok());
  EXPECT_EQ(modified->change, Change::modified);
  EXPECT_GT(modified->attr.version, created->attr.version);
  EXPECT_EQ(versionOf("/"), root1) << "an edit in place does not change the directory";

  fs::remove(dir_.path() / "outsider");
  auto removed = storage_->refresh(P("/outsider"));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->change, Change::removed);
  EXPECT_GT(versionOf("/"), root1);
  EXPECT_EQ(storage_->refresh(P("/outsider"))->change, Change::unchanged)
      << "a removal already accounted for is not reported twice";
}

TEST_F(StorageVersionTest, AnOutsideFileFirstSeenByAReadIsStillReportedCreated) {
  writeFile(dir_.path() / "outsider", "made by hand");
  std::uint64_t v = versionOf("/outsider");
  auto r = storage_->refresh(P("/outsider"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->change, RefreshResult::Change::created);
  EXPECT_GT(r->attr.version, v);
}

TEST_F(StorageVersionTest, RefreshAfterTheVaultsOwnChangesIsUnchanged) {
  // Sync sees every change the vault makes (and its xattr writes) through inotify; none of those
  // echoes may cost a version.
  using Change = RefreshResult::Change;
  ASSERT_TRUE(storage_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(storage_->create(P("/d/f"), 0644).ok());
  ASSERT_TRUE(storage_->write(P("/d/f"), 0, "abc").ok());
  ASSERT_TRUE(storage_->truncate(P("/d/f"), 1).ok());
  ASSERT_TRUE(storage_->put(P("/d/g"), "new").ok());
  ASSERT_TRUE(storage_->put(P("/d/g"), "replaced").ok());
  ASSERT_TRUE(storage_->rename(P("/d/g"), P("/d/h")).ok());
  ASSERT_TRUE(storage_->mkdir(P("/d/sub"), 0755).ok());
  ASSERT_TRUE(storage_->rmdir(P("/d/sub")).ok());
  ASSERT_TRUE(storage_->put(P("/d/x"), "x").ok());
  ASSERT_TRUE(storage_->unlink(P("/d/x")).ok());
  ASSERT_TRUE(storage_->fsync(P("/d/f")).ok());
  std::uint64_t next = storage_->peekNextVersion();
  for (std::string_view p : {"/", "/d", "/d/f", "/d/g", "/d/h", "/d/sub", "/d/x"}) {
    auto r = storage_->refresh(P(p));
    ASSERT_TRUE(r.ok()) << p << ": " << r.status().toString();
    EXPECT_EQ(r->change, Change::unchanged) << p;
  }
  EXPECT_EQ(storage_->peekNextVersion(), next) << "no version was spent on echoes";
}

TEST_F(StorageVersionTest, AfterARestartTheFirstRefreshBumpsOnceThenEchoesAreUnchanged) {
  std::uint64_t v = storage_->put(P("/f"), "x")->version;
  reopen();
  auto first = storage_->refresh(P("/f"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->change, RefreshResult::Change::modified);
  EXPECT_GT(first->attr.version, v);
  EXPECT_EQ(storage_->refresh(P("/f"))->change, RefreshResult::Change::unchanged);
}

TEST_F(StorageVersionTest, AVersionFromBeyondTheCounterStillGrowsOnChange) {
  // A vault copied in from elsewhere, or a lost mark file: the entry's own version is higher.
  ASSERT_TRUE(storage_->put(P("/f"), "x").ok());
  std::string big = "1000000000000";
  ASSERT_EQ(
      ::setxattr((dir_.path() / "f").c_str(), "user.seams.version", big.data(), big.size(), 0), 0);
  std::uint64_t v = storage_->write(P("/f"), 0, "y")->version;
  EXPECT_GT(v, 1000000000000u);
  EXPECT_GT(storage_->put(P("/g"), "z")->version, v) << "the counter moved past it for everyone";
}

TEST_F(StorageVersionTest, AVersionXattrThatIsNotANumberIsReplacedByAFreshVersion) {
  std::uint64_t before = storage_->put(P("/known"), "x")->version;
  writeFile(dir_.path() / "f", "x");
  std::string junk = "not a number";
  ASSERT_EQ(
      ::setxattr((dir_.path() / "f").c_str(), "user.seams.version", junk.data(), junk.size(), 0),
      0);
  std::uint64_t v = versionOf("/f");
  EXPECT_GT(v, before);
  EXPECT_EQ(versionOf("/f"), v);
}

TEST_F(StorageVersionTest, ConcurrentChangesOfOneFileGetDistinctGrowingVersions) {
  ASSERT_TRUE(storage_->put(P("/f"), "start").ok());
  constexpr int kThreads = 4;
  constexpr int kOps = 100;
  std::vector<std::vector<std::uint64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        Result<FileAttr> a = (i % 3 == 0)   ? storage_->put(P("/f"), "put " + std::to_string(i))
                             : (i % 3 == 1) ? storage_->write(P("/f"), 2, "w")
                                            : storage_->truncate(P("/f"), 3);
        ASSERT_TRUE(a.ok()) << a.status().toString();
        seen[t].push_back(a->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  std::uint64_t highest = 0;
  for (const auto& vs : seen) {
    for (std::size_t i = 1; i < vs.size(); ++i) EXPECT_GT(vs[i], vs[i - 1]);
    all.insert(vs.begin(), vs.end());
    highest = std::max(highest, vs.back());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kOps));
  EXPECT_EQ(versionOf("/f"), highest) << "the last change's version is the file's version";
}

TEST_F(StorageVersionTest, AReaderNeverSeesATornFileWhileAWriterPuts) {
  const std::string a(1 << 20, 'a');
  const std::string b((3 << 19) + 7, 'b');
  ASSERT_TRUE(storage_->put(P("/f"), a).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(storage_->put(P("/f"), i % 2 ? a : b).ok());
    done = true;
  });
  int reads = 0;
  std::uint64_t last_version = 0;
  while (!done || reads < 10) {
    std::string data;
    std::uint64_t version = 0;
    if (reads % 2) {
      auto r = storage_->read(P("/f"), 0, 4 << 20);
      ASSERT_TRUE(r.ok()) << r.status().toString();
      EXPECT_EQ(r->file_size, r->data.size());
      data = std::move(r->data);
      version = r->version;
    } else {
      auto c = storage_->readAll(P("/f"), 4 << 20);
      ASSERT_TRUE(c.ok()) << c.status().toString();
      data = std::move(c->data);
      version = c->attr.version;
    }
    ASSERT_TRUE(data == a || data == b) << "torn read of " << data.size() << " bytes";
    EXPECT_GE(version, last_version) << "one reader never sees the version go back";
    last_version = version;
    ++reads;
  }
  writer.join();
}

}  // namespace
}  // namespace seams

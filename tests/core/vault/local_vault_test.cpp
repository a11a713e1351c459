// LocalVault: reads through the cache, invalidation on every change, the change feed, reconcile.
#include "core/vault/local_vault.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/common/clock.h"
#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;
using Kind = ChangeEvent::Kind;

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

struct Recorded {
  Kind kind;
  std::string path;
  std::string old_path;
  std::uint64_t version;
  friend bool operator==(const Recorded&, const Recorded&) = default;
};

std::ostream& operator<<(std::ostream& os, const Recorded& r) {
  return os << "{" << static_cast<int>(r.kind) << " " << r.path << " <- " << r.old_path << " v"
            << r.version << "}";
}

class LocalVaultTest : public ::testing::Test {
 protected:
  explicit LocalVaultTest(std::size_t max_entry_bytes = 4 << 20) {
    auto s = Storage::open(dir_.str());
    if (!s.ok()) std::abort();
    storage_ = std::move(*s);
    FsCache::Options options;
    options.max_entry_bytes = max_entry_bytes;
    cache_ = std::make_unique<FsCache>(options, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);
    subscription_ = vault_->subscribe([this](const ChangeEvent& e) {
      events_.push_back(Recorded{e.kind, e.path.str(), e.old_path.str(), e.version});
    });
  }
  ~LocalVaultTest() override { subscription_.reset(); }

  fs::path backing(std::string_view rel) const { return dir_.path() / rel; }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
  std::vector<Recorded> events_;  // written by listeners on the test thread only
  std::unique_ptr<Subscription> subscription_;
};

TEST_F(LocalVaultTest, AStatIsServedFromTheCacheAfterTheFirstOne) {
  auto put = vault_->put(P("/f"), "abc");
  ASSERT_TRUE(put.ok());
  auto first = vault_->stat(P("/f"));
  ASSERT_TRUE(first.ok());
  std::uint64_t hits = cache_->stats().attr.hits;
  auto second = vault_->stat(P("/f"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(cache_->stats().attr.hits, hits + 1);
}

TEST_F(LocalVaultTest, AReadIsServedFromTheCachedWholeContent) {
  ASSERT_TRUE(vault_->put(P("/f"), "hello world").ok());
  auto r1 = vault_->read(P("/f"), 0, 5);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->data, "hello");
  // Changed behind the vault's back without reconcile: the cache still answers.
  writeFile(backing("f"), "HELLO WORLD");
  auto r2 = vault_->read(P("/f"), 6, 100);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->data, "world");
  EXPECT_EQ(r2->file_size, 11u);
  EXPECT_EQ(r2->version, r1->version);
  EXPECT_GE(cache_->stats().content.hits, 1u);
  EXPECT_EQ(vault_->read(P("/f"), 11, 1)->data, "");
  EXPECT_EQ(vault_->read(P("/f"), 12, 1).code(), Errc::range_not_satisfiable);
}

TEST_F(LocalVaultTest, AListingIsCachedAndInvalidatedByChangesInTheDirectory) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/d/a"), "1").ok());
  ASSERT_EQ(vault_->list(P("/d"))->size(), 1u);
  ASSERT_EQ(vault_->list(P("/d"))->size(), 1u);
  EXPECT_GE(cache_->stats().list.hits, 1u);
  ASSERT_TRUE(vault_->put(P("/d/b"), "2").ok());
  auto l = vault_->list(P("/d"));
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].name, "b");
}

TEST_F(LocalVaultTest, EveryMutationIsVisibleToTheNextRead) {
  ASSERT_TRUE(vault_->create(P("/f"), 0644).ok());
  EXPECT_EQ(vault_->stat(P("/f"))->size, 0u);
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "");
  EXPECT_EQ(vault_->list(VaultPath::root())->size(), 1u);

  ASSERT_TRUE(vault_->write(P("/f"), 0, "abc").ok());
  EXPECT_EQ(vault_->stat(P("/f"))->size, 3u);
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "abc");
  EXPECT_EQ(vault_->list(VaultPath::root())->at(0).attr.size, 3u);

  ASSERT_TRUE(vault_->put(P("/f"), "whole").ok());
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "whole");
  EXPECT_EQ(vault_->list(VaultPath::root())->at(0).attr.size, 5u);

  ASSERT_TRUE(vault_->truncate(P("/f"), 2).ok());
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "wh");
  EXPECT_EQ(vault_->stat(P("/f"))->size, 2u);

  ASSERT_TRUE(vault_->rename(P("/f"), P("/g")).ok());
  EXPECT_EQ(vault_->stat(P("/f")).code(), Errc::not_found);
  EXPECT_EQ(vault_->read(P("/f"), 0, 10).code(), Errc::not_found);
  EXPECT_EQ(vault_->read(P("/g"), 0, 10)->data, "wh");
  EXPECT_EQ(vault_->list(VaultPath::root())->at(0).name, "g");

  ASSERT_TRUE(vault_->unlink(P("/g")).ok());
  EXPECT_EQ(vault_->stat(P("/g")).code(), Errc::not_found);
  EXPECT_EQ(vault_->read(P("/g"), 0, 10).code(), Errc::not_found);
  EXPECT_TRUE(vault_->list(VaultPath::root())->empty());

  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(vault_->stat(P("/d"))->type, FileType::directory);
  EXPECT_EQ(vault_->list(VaultPath::root())->size(), 1u);
  ASSERT_TRUE(vault_->rmdir(P("/d")).ok());
  EXPECT_EQ(vault_->stat(P("/d")).code(), Errc::not_found);
  EXPECT_TRUE(vault_->list(VaultPath::root())->empty());
}

TEST_F(LocalVaultTest, AParentsVersionInItsCachedAttrAndListingMovesWithItsEntries) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  std::uint64_t before = vault_->stat(P("/d"))->version;
  ASSERT_EQ(vault_->list(VaultPath::root())->at(0).attr.version, before);
  ASSERT_TRUE(vault_->create(P("/d/f"), 0644).ok());
  std::uint64_t after = vault_->stat(P("/d"))->version;
  EXPECT_GT(after, before);
  EXPECT_EQ(vault_->list(VaultPath::root())->at(0).attr.version, after);
}

TEST_F(LocalVaultTest, RenamingADirectoryInvalidatesEverythingBeneathIt) {
  ASSERT_TRUE(vault_->mkdir(P("/a"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/a/f"), "x").ok());
  ASSERT_TRUE(vault_->stat(P("/a/f")).ok());
  ASSERT_TRUE(vault_->read(P("/a/f"), 0, 1).ok());
  ASSERT_TRUE(vault_->list(P("/a")).ok());
  ASSERT_TRUE(vault_->rename(P("/a"), P("/b")).ok());
  EXPECT_EQ(vault_->stat(P("/a/f")).code(), Errc::not_found);
  EXPECT_EQ(vault_->read(P("/a/f"), 0, 1).code(), Errc::not_found);
  EXPECT_EQ(vault_->list(P("/a")).code(), Errc::not_found);
  EXPECT_EQ(vault_->read(P("/b/f"), 0, 1)->data, "x");
}

TEST_F(LocalVaultTest, FilesOverTheEntryLimitAreReadByRangeAndNotCached) {
  std::string big(5 << 20, 'z');
  big[(5 << 20) - 1] = 'E';
  ASSERT_TRUE(vault_->put(P("/big"), big).ok());
  auto r = vault_->read(P("/big"), (5 << 20) - 2, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, "zE");
  EXPECT_EQ(r->file_size, big.size());
  EXPECT_EQ(cache_->stats().content.entries, 0u);
  EXPECT_EQ(vault_->read(P("/big"), big.size() + 1, 1).code(), Errc::range_not_satisfiable);

  ASSERT_TRUE(vault_->stat(P("/big")).ok());  // now known to be big
  EXPECT_EQ(vault_->read(P("/big"), 0, 3)->data, "zzz");
  big[0] = 'A';
  auto v2 = vault_->put(P("/big"), big);
  ASSERT_TRUE(v2.ok());
  auto r2 = vault_->read(P("/big"), 0, 3);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->data, "Azz");
  EXPECT_EQ(r2->version, v2->version);
  EXPECT_EQ(cache_->stats().content.entries, 0u);
}

TEST_F(LocalVaultTest, TheChangeFeedReportsEachChangeInOrder) {
  std::uint64_t c = vault_->create(P("/f"), 0644)->version;
  std::uint64_t w = vault_->write(P("/f"), 0, "x")->version;
  std::uint64_t p = vault_->put(P("/f"), "y")->version;
  std::uint64_t n = vault_->put(P("/new"), "n")->version;
  std::uint64_t t = vault_->truncate(P("/f"), 0)->version;
  std::uint64_t r = vault_->rename(P("/f"), P("/g"))->version;
  std::uint64_t m = vault_->mkdir(P("/d"), 0755)->version;
  ASSERT_TRUE(vault_->unlink(P("/g")).ok());
  ASSERT_TRUE(vault_->rmdir(P("/d")).ok());
  std::vector<Recorded> want = {
      {Kind::created, "/f", "/f", c},  {Kind::modified, "/f", "/f", w},
      {Kind::modified, "/f", "/f", p}, {Kind::created, "/new", "/new", n},
      {Kind::modified, "/f", "/f", t}, {Kind::renamed, "/g", "/f", r},
      {Kind::created, "/d", "/d", m},  {Kind::removed, "/g", "/g", 0},
      {Kind::removed, "/d", "/d", 0},
  };
  EXPECT_EQ(events_, want);
  EXPECT_LT(c, w);
  EXPECT_LT(w, p);
  EXPECT_LT(p, t);
  EXPECT_LT(t, r);
}

TEST_F(LocalVaultTest, FailedChangesPublishNothing) {
  EXPECT_FALSE(vault_->write(P("/missing"), 0, "x").ok());
  EXPECT_FALSE(vault_->unlink(P("/missing")).ok());
  EXPECT_FALSE(vault_->rmdir(P("/missing")).ok());
  EXPECT_FALSE(vault_->rename(P("/missing"), P("/x")).ok());
  EXPECT_FALSE(vault_->truncate(P("/missing"), 0).ok());
  EXPECT_FALSE(vault_->put(P("/missing/f"), "x").ok());
  EXPECT_TRUE(events_.empty());
}

TEST_F(LocalVaultTest, ListenersRunOnTheCallersThreadAfterInvalidationBeforeTheCallReturns) {
  ASSERT_TRUE(vault_->put(P("/f"), "old").ok());
  ASSERT_TRUE(vault_->stat(P("/f")).ok());
  ASSERT_TRUE(vault_->read(P("/f"), 0, 10).ok());
  ASSERT_TRUE(cache_->getAttr(P("/f")).has_value());

  bool called = false;
  bool attr_cached_during_call = true;
  bool content_cached_during_call = true;
  std::thread::id listener_thread;
  auto sub = vault_->subscribe([&](const ChangeEvent&) {
    called = true;
    listener_thread = std::this_thread::get_id();
    attr_cached_during_call = cache_->getAttr(P("/f")).has_value();
    content_cached_during_call = cache_->getContent(P("/f")) != nullptr;
  });
  ASSERT_TRUE(vault_->put(P("/f"), "new").ok());
  EXPECT_TRUE(called) << "the listener ran before put() returned";
  EXPECT_EQ(listener_thread, std::this_thread::get_id());
  EXPECT_FALSE(attr_cached_during_call) << "the cache was invalidated before listeners ran";
  EXPECT_FALSE(content_cached_during_call);
}

TEST_F(LocalVaultTest, ADestroyedSubscriptionIsNoLongerCalled) {
  int calls = 0;
  auto sub = vault_->subscribe([&](const ChangeEvent&) { ++calls; });
  ASSERT_TRUE(vault_->put(P("/f"), "1").ok());
  sub.reset();
  ASSERT_TRUE(vault_->put(P("/f"), "2").ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(events_.size(), 2u) << "other subscribers are unaffected";
}

TEST_F(LocalVaultTest, ReconcileTurnsAnOutsideChangeIntoAVersionAndAnEvent) {
  writeFile(backing("outsider"), "v1");
  ASSERT_TRUE(vault_->reconcile(P("/outsider")).ok());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, Kind::created);
  EXPECT_EQ(events_[0].path, "/outsider");
  auto r1 = vault_->read(P("/outsider"), 0, 10);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->data, "v1");
  EXPECT_EQ(r1->version, events_[0].version);

  writeFile(backing("outsider"), "v2, longer");
  ASSERT_TRUE(vault_->reconcile(P("/outsider")).ok());
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].kind, Kind::modified);
  EXPECT_GT(events_[1].version, events_[0].version);
  auto r2 = vault_->read(P("/outsider"), 0, 100);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->data, "v2, longer");
  EXPECT_EQ(r2->version, events_[1].version);
  EXPECT_EQ(vault_->stat(P("/outsider"))->size, 10u);

  fs::remove(backing("outsider"));
  ASSERT_TRUE(vault_->reconcile(P("/outsider")).ok());
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[2], (Recorded{Kind::removed, "/outsider", "/outsider", 0}));
  EXPECT_EQ(vault_->stat(P("/outsider")).code(), Errc::not_found);
  EXPECT_TRUE(vault_->list(VaultPath::root())->empty());
}

TEST_F(LocalVaultTest, ReconcileOfTheVaultsOwnChangesPublishesAndInvalidatesNothing) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/d/f"), "x").ok());
  ASSERT_TRUE(vault_->write(P("/d/f"), 1, "y").ok());
  ASSERT_TRUE(vault_->put(P("/d/g"), "g").ok());
  ASSERT_TRUE(vault_->rename(P("/d/g"), P("/d/h")).ok());
  ASSERT_TRUE(vault_->put(P("/d/gone"), "g").ok());
  ASSERT_TRUE(vault_->unlink(P("/d/gone")).ok());
  ASSERT_TRUE(vault_->read(P("/d/f"), 0, 10).ok());
  ASSERT_TRUE(vault_->stat(P("/d/f")).ok());
  std::size_t events = events_.size();
  std::uint64_t invalidations = cache_->stats().invalidate_calls;
  // What sync would report after seeing the vault's own changes through inotify.
  for (std::string_view p : {"/d", "/d/f", "/d/g", "/d/h", "/d/gone", "/"}) {
    ASSERT_TRUE(vault_->reconcile(P(p)).ok()) << p;
  }
  EXPECT_EQ(events_.size(), events);
  EXPECT_EQ(cache_->stats().invalidate_calls, invalidations);
  EXPECT_TRUE(cache_->getContent(P("/d/f")) != nullptr) << "the cached content survived";
}

TEST_F(LocalVaultTest, ReconcileOfAPathReplacedByASymlinkReportsItRemoved) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  ASSERT_TRUE(vault_->stat(P("/f")).ok());
  fs::remove(backing("f"));
  fs::create_symlink("/etc/passwd", backing("f"));
  ASSERT_TRUE(vault_->reconcile(P("/f")).ok());
  EXPECT_EQ(events_.back().kind, Kind::removed);
  EXPECT_FALSE(vault_->stat(P("/f")).ok());
}

TEST_F(LocalVaultTest, ReconcileOfADirectoryInvalidatesWhatLiesBeneathIt) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/d/f"), "old").ok());
  ASSERT_EQ(vault_->read(P("/d/f"), 0, 10)->data, "old");
  fs::remove_all(backing("d"));
  fs::create_directories(backing("d"));
  writeFile(backing("d/f"), "brand new");
  ASSERT_TRUE(vault_->reconcile(P("/d")).ok());
  EXPECT_EQ(vault_->read(P("/d/f"), 0, 100)->data, "brand new");
}

TEST_F(LocalVaultTest, SetAttributesIsAChangeOnTheFeedAndInvalidatesTheCache) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  ASSERT_EQ(vault_->stat(P("/f"))->mode, 0600u);                       // now cached
  ASSERT_EQ(vault_->list(VaultPath::root())->at(0).attr.mode, 0600u);  // the listing too
  events_.clear();
  AttrChange c;
  c.what = AttrChange::kMode;
  c.mode = 0640;
  auto a = vault_->setAttributes(P("/f"), c);
  ASSERT_TRUE(a.ok()) << a.status().toString();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, Kind::modified);
  EXPECT_EQ(events_[0].path, "/f");
  EXPECT_EQ(events_[0].version, a->version);
  EXPECT_EQ(vault_->stat(P("/f"))->mode, 0640u);
  EXPECT_EQ(vault_->list(VaultPath::root())->at(0).attr.mode, 0640u);
  c.mode = 077777;
  EXPECT_EQ(vault_->setAttributes(P("/f"), c).code(), Errc::invalid_argument);
  EXPECT_EQ(events_.size(), 1u) << "a refused change publishes nothing";
}

// ---- handles --------------------------------------------------------------------------------

std::string readAllByHandle(Vault& v, HandleId h) {
  auto r = v.readHandle(h, 0, 1 << 20);
  return r.ok() ? r->data : "<" + r.status().toString() + ">";
}

TEST_F(LocalVaultTest, AnUnlinkedOpenFileKeepsItsDataAndShowsNoLinks) {
  ASSERT_TRUE(vault_->put(P("/f"), "hello").ok());
  auto h = vault_->open(P("/f"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(h.ok()) << h.status().toString();
  EXPECT_EQ(h->attr.size, 5u);
  ASSERT_TRUE(vault_->unlink(P("/f")).ok());
  auto st = vault_->statHandle(h->handle);
  ASSERT_TRUE(st.ok()) << st.status().toString();
  EXPECT_EQ(st->nlink, 0u);
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(readAllByHandle(*vault_, h->handle), "hello");
  events_.clear();
  auto w = vault_->writeHandle(h->handle, 5, " world");
  ASSERT_TRUE(w.ok()) << w.status().toString();
  EXPECT_EQ(readAllByHandle(*vault_, h->handle), "hello world");
  auto t = vault_->truncateHandle(h->handle, 4);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(readAllByHandle(*vault_, h->handle), "hell");
  EXPECT_TRUE(events_.empty()) << "no name shows an unlinked file: nothing to publish";
  EXPECT_EQ(vault_->stat(P("/f")).code(), Errc::not_found);
  EXPECT_TRUE(vault_->release(h->handle).ok());
  EXPECT_EQ(vault_->openHandles(), 0u);
}

TEST_F(LocalVaultTest, AWriteByHandleToALinkedFileIsAVersionedChangeOnTheFeed) {
  ASSERT_TRUE(vault_->put(P("/f"), "abc").ok());
  auto h = vault_->open(P("/f"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(vault_->read(P("/f"), 0, 10)->data, "abc");  // now cached
  events_.clear();
  auto w = vault_->writeHandle(h->handle, 3, "def");
  ASSERT_TRUE(w.ok()) << w.status().toString();
  EXPECT_GT(w->version, h->attr.version);
  EXPECT_EQ(events_, (std::vector<Recorded>{{Kind::modified, "/f", "/f", w->version}}));
  // The cache dropped the old content: a read by path sees the write.
  auto r = vault_->read(P("/f"), 0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, "abcdef");
  EXPECT_EQ(r->version, w->version);
  auto t = vault_->truncateHandle(h->handle, 2);
  ASSERT_TRUE(t.ok());
  EXPECT_GT(t->version, w->version);
  EXPECT_EQ(events_.back(), (Recorded{Kind::modified, "/f", "/f", t->version}));
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "ab");
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, AHandleFollowsRenamesOfItsFileAndOfItsDirectory) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/d/f"), "x").ok());
  auto h = vault_->open(P("/d/f"), OpenMode::kWrite);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(vault_->rename(P("/d/f"), P("/d/g")).ok());
  ASSERT_TRUE(vault_->rename(P("/d"), P("/e")).ok());
  events_.clear();
  auto w = vault_->writeHandle(h->handle, 1, "y");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(events_, (std::vector<Recorded>{{Kind::modified, "/e/g", "/e/g", w->version}}));
  EXPECT_EQ(vault_->read(P("/e/g"), 0, 10)->data, "xy");
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, AFileReplacedByRenameOrPutKeepsItsContentForItsHandles) {
  ASSERT_TRUE(vault_->put(P("/f"), "old").ok());
  auto by_rename = vault_->open(P("/f"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(by_rename.ok());
  ASSERT_TRUE(vault_->read(P("/f"), 0, 10).ok());  // cached under /f
  ASSERT_TRUE(vault_->put(P("/new"), "newer").ok());
  ASSERT_TRUE(vault_->rename(P("/new"), P("/f")).ok());
  EXPECT_EQ(readAllByHandle(*vault_, by_rename->handle), "old");
  EXPECT_EQ(vault_->statHandle(by_rename->handle)->nlink, 0u);
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "newer");
  // Served by handle again, with /f now cached: still the old file's bytes.
  EXPECT_EQ(readAllByHandle(*vault_, by_rename->handle), "old");
  events_.clear();
  ASSERT_TRUE(vault_->writeHandle(by_rename->handle, 0, "OLD").ok());
  EXPECT_TRUE(events_.empty()) << "the replaced file has no name";
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "newer");

  auto by_put = vault_->open(P("/f"), OpenMode::kRead);
  ASSERT_TRUE(by_put.ok());
  ASSERT_TRUE(vault_->put(P("/f"), "newest").ok());
  EXPECT_EQ(readAllByHandle(*vault_, by_put->handle), "newer");
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "newest");
  EXPECT_TRUE(vault_->release(by_rename->handle).ok());
  EXPECT_TRUE(vault_->release(by_put->handle).ok());
}

TEST_F(LocalVaultTest, AFileReplacedBehindTheVaultsBackIsWrittenWithoutAnEvent) {
  ASSERT_TRUE(vault_->put(P("/f"), "old").ok());
  auto h = vault_->open(P("/f"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(h.ok());
  writeFile(backing("g"), "other");
  fs::rename(backing("g"), backing("f"));  // no sync here: the vault was not told
  events_.clear();
  ASSERT_TRUE(vault_->writeHandle(h->handle, 0, "OLD").ok());
  EXPECT_TRUE(events_.empty()) << "Storage sees that /f is another inode now";
  EXPECT_EQ(readAllByHandle(*vault_, h->handle), "OLD");
  EXPECT_EQ(readFile(backing("f")), "other");
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, ReadsByHandleAreServedFromTheCacheWhileTheFileIsAtItsName) {
  ASSERT_TRUE(vault_->put(P("/f"), "hello world").ok());
  auto h = vault_->open(P("/f"), OpenMode::kRead);
  ASSERT_TRUE(h.ok());
  auto first = vault_->readHandle(h->handle, 0, 5);  // fills
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->data, "hello");
  const std::uint64_t hits = cache_->stats().content.hits;
  auto second = vault_->readHandle(h->handle, 6, 5);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data, "world");
  EXPECT_EQ(second->version, h->attr.version);
  EXPECT_EQ(cache_->stats().content.hits, hits + 1);
  EXPECT_EQ(vault_->readHandle(h->handle, 12, 1).code(), Errc::range_not_satisfiable);
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, OpenWithTruncateEmptiesTheFileAsAChange) {
  ASSERT_TRUE(vault_->put(P("/f"), "abc").ok());
  ASSERT_TRUE(vault_->read(P("/f"), 0, 10).ok());
  events_.clear();
  auto h = vault_->open(P("/f"), OpenMode::kWrite | OpenMode::kTruncate);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->attr.size, 0u);
  EXPECT_EQ(events_, (std::vector<Recorded>{{Kind::modified, "/f", "/f", h->attr.version}}));
  EXPECT_EQ(vault_->read(P("/f"), 0, 10)->data, "");
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, HandleCallsCheckTheModeAndTheId) {
  ASSERT_TRUE(vault_->put(P("/f"), "abc").ok());
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  EXPECT_EQ(vault_->open(P("/f"), 0).code(), Errc::invalid_argument);
  EXPECT_EQ(vault_->open(P("/f"), OpenMode::kRead | OpenMode::kTruncate).code(),
            Errc::invalid_argument);
  EXPECT_EQ(vault_->open(P("/f"), 1u << 7).code(), Errc::invalid_argument);
  EXPECT_EQ(vault_->open(P("/nope"), OpenMode::kRead).code(), Errc::not_found);
  EXPECT_EQ(vault_->open(P("/d"), OpenMode::kRead).code(), Errc::is_a_directory);
  auto ro = vault_->open(P("/f"), OpenMode::kRead);
  auto wo = vault_->open(P("/f"), OpenMode::kWrite);
  ASSERT_TRUE(ro.ok() && wo.ok());
  EXPECT_NE(ro->handle, wo->handle);
  EXPECT_EQ(vault_->writeHandle(ro->handle, 0, "x").code(), Errc::permission_denied);
  EXPECT_EQ(vault_->truncateHandle(ro->handle, 0).code(), Errc::permission_denied);
  EXPECT_EQ(vault_->readHandle(wo->handle, 0, 1).code(), Errc::permission_denied);
  EXPECT_TRUE(vault_->fsyncHandle(wo->handle).ok());
  ASSERT_TRUE(vault_->release(ro->handle).ok());
  // A released id is dead for good, and so is one never handed out.
  EXPECT_EQ(vault_->readHandle(ro->handle, 0, 1).code(), Errc::bad_handle);
  EXPECT_EQ(vault_->statHandle(ro->handle).code(), Errc::bad_handle);
  EXPECT_EQ(vault_->release(ro->handle).code(), Errc::bad_handle);
  EXPECT_EQ(vault_->writeHandle(987654, 0, "x").code(), Errc::bad_handle);
  EXPECT_EQ(vault_->fsyncHandle(987654).code(), Errc::bad_handle);
  EXPECT_TRUE(vault_->release(wo->handle).ok());
}

TEST_F(LocalVaultTest, OpeningBeyondTheBoundIsTooManyOpenUntilOneIsReleased) {
  LocalVault small(*storage_, *cache_, 2);
  ASSERT_TRUE(small.put(P("/f"), "abc").ok());
  auto a = small.open(P("/f"), OpenMode::kRead);
  auto b = small.open(P("/f"), OpenMode::kRead);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(small.open(P("/f"), OpenMode::kRead).code(), Errc::too_many_open);
  ASSERT_TRUE(small.release(a->handle).ok());
  auto c = small.open(P("/f"), OpenMode::kRead);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->handle, b->handle) << "ids are never reused";
  EXPECT_TRUE(small.release(b->handle).ok());
  EXPECT_TRUE(small.release(c->handle).ok());
}

TEST_F(LocalVaultTest, ALargeFileIsReadByHandleByRangeAndNotCached) {
  std::string big(5 << 20, 'z');
  ASSERT_TRUE(vault_->put(P("/big"), big).ok());
  auto h = vault_->open(P("/big"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(h.ok());
  auto w = vault_->writeHandle(h->handle, (5 << 20) - 1, "E");
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 2; ++i) {  // the first read learns the size, the second goes by range
    auto r = vault_->readHandle(h->handle, (5 << 20) - 2, 10);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    EXPECT_EQ(r->data, "zE");
    EXPECT_EQ(r->version, w->version);
    EXPECT_EQ(r->file_size, big.size());
  }
  EXPECT_EQ(cache_->stats().content.entries, 0u);
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

TEST_F(LocalVaultTest, ConcurrentHandleWritesAndRenamesKeepEveryByte) {
  ASSERT_TRUE(vault_->put(P("/a"), "").ok());
  auto h = vault_->open(P("/a"), OpenMode::kRead | OpenMode::kWrite);
  ASSERT_TRUE(h.ok());
  std::thread renamer([&] {
    for (int i = 0; i < 200; ++i) {
      (void)vault_->rename(P(i % 2 == 0 ? "/a" : "/b"), P(i % 2 == 0 ? "/b" : "/a"));
    }
  });
  std::string expect;
  for (int i = 0; i < 200; ++i) {
    const std::string chunk = std::to_string(i % 10);
    ASSERT_TRUE(vault_->writeHandle(h->handle, expect.size(), chunk).ok());
    expect += chunk;
  }
  renamer.join();
  EXPECT_EQ(readAllByHandle(*vault_, h->handle), expect);
  EXPECT_EQ(vault_->read(P("/a"), 0, 1000)->data, expect);  // 200 renames: back at /a
  EXPECT_TRUE(vault_->release(h->handle).ok());
}

}  // namespace
}  // namespace seams

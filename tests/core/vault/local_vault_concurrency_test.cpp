// LocalVault under concurrent readers and writers (run under TSan and ASan in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "core/vault/local_vault.h"
#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

using testing::TempDir;

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

// Content that names its writer and sequence number, repeated: a torn or mixed read shows.
std::string contentFor(int writer, int seq) {
  std::string unit = "<" + std::to_string(writer) + ":" + std::to_string(seq) + ">";
  std::string out;
  for (int i = 0; i < 50 + (seq % 7) * 30; ++i) out += unit;
  return out;
}

bool selfConsistent(const std::string& data) {
  if (data.empty()) return false;
  std::size_t unit = data.find('>');
  if (unit == std::string::npos) return false;
  ++unit;
  if (data.size() % unit != 0) return false;
  for (std::size_t i = unit; i < data.size(); i += unit) {
    if (data.compare(i, unit, data, 0, unit) != 0) return false;
  }
  return true;
}

class LocalVaultConcurrencyTest : public ::testing::Test {
 protected:
  LocalVaultConcurrencyTest() {
    auto s = Storage::open(dir_.str());
    if (!s.ok()) std::abort();
    storage_ = std::move(*s);
    cache_ = std::make_unique<FsCache>(FsCache::Options{}, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
};

TEST_F(LocalVaultConcurrencyTest, ReadersOfSharedFilesNeverSeeAVersionGoBackwards) {
  constexpr int kFiles = 3;
  constexpr int kWriters = 2;
  constexpr int kReaders = 3;
  constexpr int kPuts = 40;
  for (int f = 0; f < kFiles; ++f) {
    ASSERT_TRUE(vault_->put(P("/f" + std::to_string(f)), contentFor(99, 0)).ok());
  }
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPuts; ++i) {
        int f = i % kFiles;
        std::string c = contentFor(w, i);
        Result<FileAttr> a = (i % 5 == 4) ? vault_->write(P("/f" + std::to_string(f)), 0, c)
                                          : vault_->put(P("/f" + std::to_string(f)), c);
        ASSERT_TRUE(a.ok()) << a.status().toString();
      }
      writers_left.fetch_sub(1);
    });
  }
  std::atomic<int> size_mismatch{0};
  std::atomic<int> backwards{0};
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::uint64_t last[kFiles] = {};
      int i = 0;
      while (writers_left.load() > 0 || i < 30) {
        int f = (i + r) % kFiles;
        VaultPath path = P("/f" + std::to_string(f));
        if (i % 3 == 0) {
          auto a = vault_->stat(path);
          ASSERT_TRUE(a.ok()) << a.status().toString();
          if (a->version < last[f]) backwards.fetch_add(1);
          last[f] = std::max(last[f], a->version);
        } else if (i % 3 == 1) {
          auto l = vault_->list(VaultPath::root());
          ASSERT_TRUE(l.ok()) << l.status().toString();
          EXPECT_EQ(l->size(), static_cast<std::size_t>(kFiles));
        } else {
          auto d = vault_->read(path, 0, 1 << 20);
          ASSERT_TRUE(d.ok()) << d.status().toString();
          if (d->data.size() != d->file_size) size_mismatch.fetch_add(1);
          if (d->version < last[f]) backwards.fetch_add(1);
          last[f] = std::max(last[f], d->version);
        }
        ++i;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(size_mismatch.load(), 0);
  EXPECT_EQ(backwards.load(), 0) << "a reader saw an older version after a newer one";
}

TEST_F(LocalVaultConcurrencyTest, PutOnlyReadersNeverSeeMixedContent) {
  ASSERT_TRUE(vault_->put(P("/f"), contentFor(9, 0)).ok());
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 1; i <= 60; ++i) ASSERT_TRUE(vault_->put(P("/f"), contentFor(w, i)).ok());
    });
  }
  std::atomic<int> bad{0};
  std::thread reader([&] {
    int n = 0;
    while (!done.load() || n < 20) {
      auto d = vault_->read(P("/f"), 0, 1 << 20);
      if (!d.ok() || !selfConsistent(d->data)) bad.fetch_add(1);
      ++n;
    }
  });
  threads[0].join();
  threads[1].join();
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  // After the dust settles the cache and the disk agree.
  auto cached = vault_->read(P("/f"), 0, 1 << 20);
  auto disk = storage_->read(P("/f"), 0, 1 << 20);
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(disk.ok());
  EXPECT_EQ(cached->data, disk->data);
  EXPECT_EQ(cached->version, disk->version);
}

TEST_F(LocalVaultConcurrencyTest, EventsForOnePathArriveWithGrowingVersions) {
  std::mutex m;
  std::vector<std::uint64_t> versions;
  auto sub = vault_->subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(m);
    if (e.path == P("/f")) versions.push_back(e.version);
  });
  ASSERT_TRUE(vault_->put(P("/f"), "0").ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto a = (i % 2) ? vault_->put(P("/f"), std::to_string(t * 100 + i))
                         : vault_->write(P("/f"), 0, "w");
        ASSERT_TRUE(a.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  sub.reset();
  ASSERT_EQ(versions.size(), 201u);
  for (std::size_t i = 1; i < versions.size(); ++i) EXPECT_GT(versions[i], versions[i - 1]);
}

TEST_F(LocalVaultConcurrencyTest, SyncEchoesOfConcurrentChangesNeitherPublishNorReorder) {
  // A "sync" thread reconciles the very paths writers are changing, as inotify echoes would.
  std::mutex m;
  std::map<std::string, std::vector<std::uint64_t>> versions;
  std::size_t events = 0;
  auto sub = vault_->subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(m);
    ++events;
    if (e.kind != ChangeEvent::Kind::removed) versions[e.path.str()].push_back(e.version);
  });
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  constexpr int kOps = 60;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        VaultPath p = P("/d/f" + std::to_string(i % 3));
        Result<FileAttr> a = (i + t) % 2 ? vault_->put(p, std::to_string(i))
                                         : vault_->put(p, "longer content " + std::to_string(i));
        ASSERT_TRUE(a.ok()) << a.status().toString();
        if (i % 4 == 3) {
          ASSERT_TRUE(vault_->write(p, 0, "w").ok());
        }
      }
    });
  }
  std::thread sync([&] {
    while (!done.load()) {
      for (std::string_view p : {"/d", "/d/f0", "/d/f1", "/d/f2"}) {
        ASSERT_TRUE(vault_->reconcile(P(p)).ok());
      }
    }
  });
  for (auto& w : writers) w.join();
  done = true;
  sync.join();
  sub.reset();
  std::size_t mutations = 1 + 2 * kOps + 2 * (kOps / 4);
  EXPECT_EQ(events, mutations) << "no reconcile published anything";
  for (const auto& [path, vs] : versions) {
    for (std::size_t i = 1; i < vs.size(); ++i) EXPECT_GT(vs[i], vs[i - 1]) << path;
  }
}

TEST_F(LocalVaultConcurrencyTest, SubscribingAndUnsubscribingWhileChangesFlowIsSafe) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(vault_->put(P("/f"), std::to_string(i)).ok());
    done = true;
  });
  while (!done.load()) {
    auto counter = std::make_shared<std::atomic<int>>(0);
    auto sub = vault_->subscribe([counter](const ChangeEvent&) { counter->fetch_add(1); });
    sub.reset();
    int after = counter->load();
    // Once unsubscribed, never called again: the count is frozen.
    EXPECT_EQ(counter->load(), after);
  }
  writer.join();
}

}  // namespace
}  // namespace seams

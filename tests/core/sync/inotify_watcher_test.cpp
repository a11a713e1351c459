#include "core/sync/inotify_watcher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

namespace seams {
namespace {

namespace fs = std::filesystem;

// Collects reported paths; waits (bounded: the kernel delivers events asynchronously) until a
// given path has been reported.
class Collector {
 public:
  void add(const std::vector<VaultPath>& batch) {
    std::lock_guard lock(mu_);
    for (const auto& p : batch) seen_.insert(p.str());
    cv_.notify_all();
  }
  bool waitFor(const std::string& path) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return seen_.count(path) > 0; });
  }
  bool has(const std::string& path) {
    std::lock_guard lock(mu_);
    return seen_.count(path) > 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> seen_;
};

class InotifyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-sync-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ + "/docs/deep");
    fs::create_directories(root_ + "/.seams");
    watcher_ = std::make_unique<InotifyWatcher>(
        root_, [this](const std::vector<VaultPath>& b) { collector_.add(b); });
    ASSERT_TRUE(watcher_->start().ok());
  }
  void TearDown() override {
    watcher_->stop();
    fs::remove_all(root_);
  }
  void writeFile(const std::string& rel, const std::string& content) {
    std::ofstream(root_ + rel) << content;
  }

  std::string root_;
  Collector collector_;
  std::unique_ptr<InotifyWatcher> watcher_;
};

TEST_F(InotifyWatcherTest, ReportsAFileWrittenAtTheRoot) {
  writeFile("/a.txt", "hello");
  EXPECT_TRUE(collector_.waitFor("/a.txt"));
}

TEST_F(InotifyWatcherTest, ReportsChangesInNestedDirectoriesThatExistedAtStart) {
  writeFile("/docs/deep/b.txt", "x");
  EXPECT_TRUE(collector_.waitFor("/docs/deep/b.txt"));
}

TEST_F(InotifyWatcherTest, WatchesDirectoriesCreatedLater) {
  fs::create_directories(root_ + "/new/sub");
  writeFile("/new/sub/c.txt", "y");
  EXPECT_TRUE(collector_.waitFor("/new/sub/c.txt"));
}

TEST_F(InotifyWatcherTest, ReportsRemovalAndBothEndsOfARename) {
  writeFile("/docs/r.txt", "1");
  ASSERT_TRUE(collector_.waitFor("/docs/r.txt"));
  fs::rename(root_ + "/docs/r.txt", root_ + "/docs/s.txt");
  EXPECT_TRUE(collector_.waitFor("/docs/s.txt"));
  fs::remove(root_ + "/docs/s.txt");
  writeFile("/marker", "m");
  EXPECT_TRUE(collector_.waitFor("/marker"));
}

TEST_F(InotifyWatcherTest, IgnoresTheVaultsOwnStateDirectory) {
  writeFile("/.seams/counter", "1");
  writeFile("/after", "1");
  ASSERT_TRUE(collector_.waitFor("/after"));
  EXPECT_FALSE(collector_.has("/.seams"));
  EXPECT_FALSE(collector_.has("/.seams/counter"));
}

TEST_F(InotifyWatcherTest, StopIsSafeTwiceAndLoopTicksWhileIdle) {
  EXPECT_GT(watcher_->lastTickNs(), 0);
  watcher_->stop();
  watcher_->stop();
}

TEST(InotifyWatcher, StartFailsClearlyOnAMissingRoot) {
  InotifyWatcher w("/nonexistent/seams-root", [](const std::vector<VaultPath>&) {});
  Status s = w.start();
  EXPECT_EQ(s.code(), Errc::not_found);
}

}  // namespace
}  // namespace seams

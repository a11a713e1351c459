// End-to-end behaviour of a whole deployment: real processes, a real HTTP socket, a real FUSE
// mount, driven as a user would drive them. Parameterised by deployment so the split deployments
// run the same suite.
#include "tests/e2e/deployment.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/runtime/service_names.h"
#include "tests/core/http/test_client.h"
#include "tests/support/grpc_under_tsan.h"

namespace seams::e2e {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;
using http::testing::Reply;
using http::testing::TestClient;
using namespace std::chrono_literals;
using testing::scaled;
using testing::scaledMs;

constexpr std::uint32_t kAliceUid = 60001;
constexpr std::uint32_t kBobUid = 60002;
constexpr std::uint32_t kStrangerUid = 61234;

// Runs `fn` on a fresh thread whose filesystem uid/gid are `uid` (per-thread on Linux), so the
// FUSE frontend sees that caller.
template <typename F>
auto asUid(std::uint32_t uid, F fn) {
  std::packaged_task<decltype(fn())()> task([uid, &fn] {
    ::syscall(SYS_setfsgid, uid);
    ::syscall(SYS_setfsuid, uid);
    return fn();
  });
  auto result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

// errno of a syscall-ish expression, 0 on success.
int errnoOf(int rc) {
  return rc < 0 ? errno : 0;
}

int writeFileAt(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

// Reads a whole file with open+read+close; nullopt-like: sets *err.
std::string readFileAt(const std::string& path, int* err) {
  *err = 0;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    *err = errno;
    return {};
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      *err = errno;
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

class DeploymentTest : public ::testing::TestWithParam<std::string> {
 protected:
  static DeploymentOptions optionsFor(const std::string& name) {
    DeploymentOptions o = DeploymentOptions::fromName(name);
    // Short watchdog deadlines so fault tests finish quickly (scaled: a sanitized service that
    // is merely slow must not be taken for a hung one).
    o.overrides = {{"watchdog.heartbeat_deadline_ms", std::to_string(scaledMs(500))},
                   {"watchdog.kill_deadline_ms", std::to_string(scaledMs(1500))},
                   {"watchdog.backoff_initial_ms", "50"},
                   {"http.read_timeout_ms", "2000"},
                   {"http.max_body_bytes", "1048576"}};
    if (o.kind == "split") {
      // A frontend must answer within this (plus its own work) while an owner hangs.
      o.overrides["split.call_timeout_ms"] = std::to_string(callTimeoutMs());
    }
    if (o.coherence == "ttl") {
      o.overrides["cache.ttl_ms"] = std::to_string(kTtlMs);
      o.overrides["fuse.entry_timeout_s"] = "0.2";
      o.overrides["fuse.attr_timeout_s"] = "0.2";
    }
    return o;
  }

  // A fixture's own config changes on top of optionsFor().
  virtual void adjust(DeploymentOptions& options) {}

  static int callTimeoutMs() { return scaledMs(1000); }
  static constexpr int kTtlMs = 300;

  void SetUp() override {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "/dev/fuse is missing or not accessible: the deployment mounts a FUSE fs";
    }
    DeploymentOptions options = optionsFor(GetParam());
    adjust(options);
    if (options.kind == "split" && TestDeployment::seamSplitPath().empty()) {
      GTEST_SKIP() << "this build has no seam-split";
    }
    dep_ = std::make_unique<TestDeployment>(std::move(options));
    Status s = dep_->start();
    ASSERT_TRUE(s.ok()) << s.toString();
  }

  void TearDown() override {
    if (HasFailure() && dep_) {
      std::cerr << "---- daemon log ----\n" << readFile(dep_->logPath()) << "\n----\n";
    }
    dep_.reset();
  }

  TestClient client() { return TestClient(dep_->httpPort()); }

  std::string login(const std::string& user) {
    TestClient c = client();
    nlohmann::json body = {{"user", user}, {"password", dep_->password(user)}};
    Reply r = c.request(bhttp::verb::post, "/v1/login", "", body.dump(),
                        {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200) return {};
    return nlohmann::json::parse(r.body).at("token").get<std::string>();
  }

  std::string mnt(const std::string& rel) { return dep_->mountpoint() + rel; }

  // Polls `pred` until it holds (bounded, the bound times timeScale()): for recovery after a
  // fault, where a real process restarts and nothing can be awaited more directly.
  static bool eventually(const std::function<bool()>& pred, std::chrono::seconds bound = 30s) {
    auto deadline = std::chrono::steady_clock::now() + scaled(bound);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return pred();
  }

  // How a change made through one frontend (or in the backing directory) reaches the other
  // frontend. mono: at once (one cache; the kernel's is invalidated before the write returns).
  // split/push and split/off: within one IPC hop of the owner's feed, so it is polled with a
  // generous bound. split/ttl: the drift is bounded by the TTL plus the kernel's entry/attr
  // timeouts; the test waits that out and then checks once — nothing stale may be served after.
  // Either way, once visible it stays visible.
  bool becomesVisible(const std::function<bool()>& pred) {
    bool seen = false;
    if (!dep_->split()) {
      seen = pred();
    } else if (dep_->options().coherence == "ttl") {
      // The TTL and the kernel's timeouts are wall-clock; only the margin for the work is scaled.
      std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs) + 200ms + scaled(300ms));
      seen = pred();
    } else {
      seen = eventually(pred, 5s);
    }
    return seen && pred();
  }
  bool ttl() const { return dep_->options().coherence == "ttl"; }

  std::unique_ptr<TestDeployment> dep_;
};

// Cross-frontend visibility, revocation and sync: also run under split/ttl.
class VisibilityTest : public DeploymentTest {};
// Daemon faults of the split deployment. The launcher's hang deadline is well above the time the
// tests probe a stopped daemon for, so the probes meet the stopped process, not its replacement.
class SplitFaultTest : public DeploymentTest {
 protected:
  void adjust(DeploymentOptions& options) override {
    options.overrides["watchdog.kill_deadline_ms"] = std::to_string(scaledMs(8000));
  }
};

TEST_P(DeploymentTest, HttpLoginPutGetStatListDelete) {
  std::string token = login("alice");
  ASSERT_FALSE(token.empty());
  TestClient c = client();
  Reply put = c.request(bhttp::verb::put, "/v1/files/e2e/hello.txt", token, "hello, vault");
  ASSERT_EQ(put.status, 200u) << put.body;
  std::string version = put.header("x-seams-version");
  EXPECT_FALSE(version.empty());

  Reply get = c.get("/v1/files/e2e/hello.txt", token);
  EXPECT_EQ(get.status, 200u);
  EXPECT_EQ(get.body, "hello, vault");
  EXPECT_EQ(get.header("x-seams-version"), version);
  EXPECT_EQ(get.header("etag"), "\"" + version + "\"");

  Reply range = c.get("/v1/files/e2e/hello.txt", token, {{"Range", "bytes=7-11"}});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.body, "vault");
  Reply suffix = c.get("/v1/files/e2e/hello.txt", token, {{"Range", "bytes=-5"}});
  EXPECT_EQ(suffix.body, "vault");

  Reply stat = c.get("/v1/stat/e2e/hello.txt", token);
  ASSERT_EQ(stat.status, 200u);
  auto attrs = nlohmann::json::parse(stat.body);
  EXPECT_EQ(attrs.at("size").get<int>(), 12);

  Reply list = c.get("/v1/list/e2e", token);
  ASSERT_EQ(list.status, 200u);
  EXPECT_NE(list.body.find("hello.txt"), std::string::npos);

  Reply del = c.request(bhttp::verb::delete_, "/v1/files/e2e/hello.txt", token);
  EXPECT_LT(del.status, 300u);
  EXPECT_EQ(c.get("/v1/files/e2e/hello.txt", token).status, 404u);
}

TEST_P(DeploymentTest, TheSameFilesThroughTheMountWithOrdinarySyscalls) {
  ASSERT_EQ(::mkdir(mnt("/fusedir").c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(writeFileAt(mnt("/fusedir/a.txt"), "through fuse"), 0);
  struct stat st;
  ASSERT_EQ(::stat(mnt("/fusedir/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 12);
  int err;
  EXPECT_EQ(readFileAt(mnt("/fusedir/a.txt"), &err), "through fuse");
  char version[32] = {};
  EXPECT_GT(
      ::getxattr(mnt("/fusedir/a.txt").c_str(), "user.seams.version", version, sizeof version), 0);
  ASSERT_EQ(::rename(mnt("/fusedir/a.txt").c_str(), mnt("/fusedir/b.txt").c_str()), 0);
  ASSERT_EQ(::truncate(mnt("/fusedir/b.txt").c_str(), 7), 0);
  EXPECT_EQ(readFileAt(mnt("/fusedir/b.txt"), &err), "through");
  // And the backing directory holds exactly that.
  EXPECT_EQ(readFile(dep_->vaultRoot() + "/fusedir/b.txt"), "through");
  ASSERT_EQ(::unlink(mnt("/fusedir/b.txt").c_str()), 0);
  ASSERT_EQ(::rmdir(mnt("/fusedir").c_str()), 0);
}

// ---- issue 13: a real filesystem on the mount (plain syscalls through the mount) -------------

std::uint32_t permAt(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

TEST_P(DeploymentTest, ChmodChownAndTimesThroughTheMountAreStoredAndReturned) {
  ASSERT_EQ(writeFileAt(mnt("/attrs.txt"), "x"), 0);
  ASSERT_EQ(::chmod(mnt("/attrs.txt").c_str(), 0000), 0) << std::strerror(errno);
  EXPECT_EQ(permAt(mnt("/attrs.txt")), 0000u);
  ASSERT_EQ(::chmod(mnt("/attrs.txt").c_str(), 0751), 0) << std::strerror(errno);
  EXPECT_EQ(permAt(mnt("/attrs.txt")), 0751u);
  ASSERT_EQ(::mkdir(mnt("/attrdir").c_str(), 0750), 0);
  EXPECT_EQ(permAt(mnt("/attrdir")), 0750u);
  ASSERT_EQ(::chmod(mnt("/attrdir").c_str(), 0000), 0);
  EXPECT_EQ(permAt(mnt("/attrdir")), 0000u);
  // The tests run as root: chown is stored and shown.
  ASSERT_EQ(::chown(mnt("/attrs.txt").c_str(), 1234, 55), 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::stat(mnt("/attrs.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 55u);
  // touch -d 2001-01-01: the time sticks.
  struct timespec ts[2] = {{978307200, 0}, {978307200, 250}};
  ASSERT_EQ(::utimensat(AT_FDCWD, mnt("/attrs.txt").c_str(), ts, 0), 0);
  ASSERT_EQ(::stat(mnt("/attrs.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 978307200);
  EXPECT_EQ(st.st_mtim.tv_nsec, 250);
  EXPECT_EQ(st.st_atim.tv_sec, 978307200);
  // The backing directory stays private (issue 12).
  EXPECT_EQ(permAt(dep_->vaultRoot() + "/attrs.txt"), 0600u);
  EXPECT_EQ(permAt(dep_->vaultRoot() + "/attrdir"), 0700u);
}

// Attribute changes seen across frontends: every coherence mode, both codecs.
class AttributeVisibilityTest : public DeploymentTest {};

TEST_P(AttributeVisibilityTest, AChmodThroughTheMountIsAChangeTheOtherFrontendSees) {
  std::string token = login("alice");
  TestClient c = client();
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/moded.txt", token, "m").status, 200u);
  const std::string v1 = c.get("/v1/files/moded.txt", token).header("x-seams-version");
  ASSERT_EQ(::chmod(mnt("/moded.txt").c_str(), 0640), 0) << std::strerror(errno);
  EXPECT_TRUE(becomesVisible([&] {
    Reply r = c.get("/v1/stat/moded.txt", token);
    if (r.status != 200) return false;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.value("mode", 0u) == 0640u &&
           std::to_string(j.value("version", std::uint64_t{0})) != v1;
  })) << c.get("/v1/stat/moded.txt", token).body;
  // And a PUT over HTTP keeps the bits.
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/moded.txt", token, "again").status, 200u);
  int err;
  EXPECT_TRUE(becomesVisible([&] { return readFileAt(mnt("/moded.txt"), &err) == "again"; }));
  EXPECT_EQ(permAt(mnt("/moded.txt")), 0640u);
}

// Defect 5: a rename through the mount keeps st_ino, for files and directories, every time, and
// an fd opened before the rename still names the same inode. In split the owner's feed echoes
// the rename back to seam-fused after the syscall returned, so each check is repeated once a
// later change made over HTTP has become visible through the mount: the feed is ordered, so by
// then the echo has been handled.
class InodeIdentityTest : public DeploymentTest {
 protected:
  // Waits until every feed event raised before now has reached the mount.
  void settleFeed() {
    static int n = 0;
    const std::string name = "barrier" + std::to_string(++n) + ".txt";
    std::string token = login("alice");
    ASSERT_EQ(client().request(bhttp::verb::put, "/v1/files/" + name, token, "b").status, 200u);
    int err;
    ASSERT_TRUE(becomesVisible([&] { return readFileAt(mnt("/" + name), &err) == "b"; }));
  }

  static ino_t inoOf(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }
};

TEST_P(InodeIdentityTest, RenameKeepsStInoOfFilesAndDirectoriesEveryTime) {
  ASSERT_EQ(writeFileAt(mnt("/ino-a.txt"), "file"), 0);
  ASSERT_EQ(writeFileAt(mnt("/ino-open.txt"), "open"), 0);
  ASSERT_EQ(::mkdir(mnt("/ino-d1").c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(writeFileAt(mnt("/ino-d1/inner.txt"), "inner"), 0);
  const ino_t file = inoOf(mnt("/ino-a.txt"));
  const ino_t dir = inoOf(mnt("/ino-d1"));
  const ino_t inner = inoOf(mnt("/ino-d1/inner.txt"));
  const ino_t open_ino = inoOf(mnt("/ino-open.txt"));
  ASSERT_NE(file, 0u);
  ASSERT_NE(dir, 0u);
  ASSERT_NE(inner, 0u);
  ASSERT_NE(open_ino, 0u);
  EXPECT_NE(file, dir);
  int fd = ::open(mnt("/ino-open.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);

  const char* names[][2] = {
      {"/ino-a.txt", "/ino-b.txt"}, {"/ino-d1", "/ino-d2"}, {"/ino-open.txt", "/ino-moved.txt"}};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int from = round % 2;  // there and back again
    for (auto& pair : names) {
      ASSERT_EQ(::rename(mnt(pair[from]).c_str(), mnt(pair[1 - from]).c_str()), 0)
          << pair[from] << ": " << std::strerror(errno);
    }
    const std::string f = names[0][1 - from], d = names[1][1 - from], o = names[2][1 - from];
    EXPECT_EQ(inoOf(mnt(f)), file);
    EXPECT_EQ(inoOf(mnt(d)), dir);
    EXPECT_EQ(inoOf(mnt(d + "/inner.txt")), inner);
    EXPECT_EQ(inoOf(mnt(o)), open_ino);
    settleFeed();
    EXPECT_EQ(inoOf(mnt(f)), file) << "after the feed settled";
    EXPECT_EQ(inoOf(mnt(d)), dir) << "after the feed settled";
    EXPECT_EQ(inoOf(mnt(d + "/inner.txt")), inner) << "after the feed settled";
    EXPECT_EQ(inoOf(mnt(o)), open_ino) << "after the feed settled";
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
    EXPECT_EQ(st.st_ino, open_ino);
    char buf[8] = {};
    EXPECT_EQ(::pread(fd, buf, sizeof buf, 0), 4) << std::strerror(errno);
    EXPECT_EQ(std::string(buf, 4), "open");
  }
  ::close(fd);
}

TEST_P(InodeIdentityTest, ADirectorysEntriesShowTheInodeStatShows) {
  ASSERT_EQ(::mkdir(mnt("/ino-list").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(mnt("/ino-list/sub").c_str(), 0755), 0);
  ASSERT_EQ(writeFileAt(mnt("/ino-list/f"), "x"), 0);
  DIR* d = ::opendir(mnt("/ino-list").c_str());
  ASSERT_NE(d, nullptr);
  int seen = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    EXPECT_EQ(e->d_ino, inoOf(mnt("/ino-list/" + name))) << name;
    ++seen;
  }
  ::closedir(d);
  EXPECT_EQ(seen, 2);
}

TEST_P(DeploymentTest, ADirectoryLinkCountIsTwoPlusItsSubdirectories) {
  ASSERT_EQ(::mkdir(mnt("/links").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(mnt("/links/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(mnt("/links/b").c_str(), 0755), 0);
  ASSERT_EQ(writeFileAt(mnt("/links/f"), "x"), 0);
  struct stat st {};
  ASSERT_EQ(::stat(mnt("/links").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 4u);
  ASSERT_EQ(::rmdir(mnt("/links/b").c_str()), 0);
  ASSERT_EQ(::stat(mnt("/links").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 3u);
}

TEST_P(DeploymentTest, PathMaxLimitsEachSyscallsPathNotTheWholeVaultPath) {
  const std::string name(200, 'n');
  int dir = ::open(dep_->mountpoint().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  for (int depth = 1; depth <= 25; ++depth) {  // the vault path passes 4096 bytes at depth 21
    ASSERT_EQ(::mkdirat(dir, name.c_str(), 0755), 0)
        << "depth " << depth << ": " << std::strerror(errno);
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0) << "depth " << depth << ": " << std::strerror(errno);
    ::close(dir);
    dir = next;
  }
  // A relative path of 4095 bytes from there.
  std::string rel;
  const std::string sub(200, 's');
  for (int i = 0; i < 20; ++i) {
    rel += sub;
    ASSERT_EQ(::mkdirat(dir, rel.c_str(), 0755), 0) << i << ": " << std::strerror(errno);
    rel += "/";
  }
  rel += std::string(4095 - rel.size(), 'f');
  const int fd = ::openat(dir, rel.c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  if (fd >= 0) {
    EXPECT_EQ(::write(fd, "deep", 4), 4);
    ::close(fd);
  }
  struct stat st {};
  EXPECT_EQ(::fstatat(dir, rel.c_str(), &st, 0), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_size, 4);
  ::close(dir);
}

TEST_P(DeploymentTest, UnsupportedOperationsStillFailCleanly) {
  ASSERT_EQ(writeFileAt(mnt("/plain.txt"), "x"), 0);
  const auto refused = [](int rc) { return rc != 0 && (errno == ENOSYS || errno == EPERM); };
  EXPECT_TRUE(refused(::symlink("plain.txt", mnt("/sl").c_str())));
  EXPECT_TRUE(refused(::mkfifo(mnt("/fifo").c_str(), 0644)));
  EXPECT_TRUE(refused(::link(mnt("/plain.txt").c_str(), mnt("/hard").c_str())));
  struct stat st {};
  for (const char* n : {"/sl", "/fifo", "/hard"}) {
    EXPECT_NE(::lstat(mnt(n).c_str(), &st), 0) << n << " must not exist";
  }
}

// Defect 1: POSIX keeps an open file alive until its last close, whatever happens to its name.
std::string preadAll(int fd, std::size_t max = 4096) {
  std::string buf(max, '\0');
  const ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n < 0) return "<pread: " + std::string(std::strerror(errno)) + ">";
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

TEST_P(DeploymentTest, AnOpenFileOutlivesItsUnlink) {
  const int fd = ::open(mnt("/doomed.txt").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "still here", 10), 10);
  ASSERT_EQ(::unlink(mnt("/doomed.txt").c_str()), 0) << std::strerror(errno);
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(preadAll(fd), "still here");
  EXPECT_EQ(::pwrite(fd, "STILL", 5, 0), 5) << std::strerror(errno);
  EXPECT_EQ(preadAll(fd), "STILL here");
  EXPECT_EQ(::fsync(fd), 0) << std::strerror(errno);
  EXPECT_EQ(::close(fd), 0);
  EXPECT_NE(::stat(mnt("/doomed.txt").c_str(), &st), 0) << "the name must stay gone";
}

TEST_P(DeploymentTest, AnOpenFileKeepsItsContentWhenRenameReplacesIt) {
  ASSERT_EQ(writeFileAt(mnt("/config"), "old content"), 0);
  const int fd = ::open(mnt("/config").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  struct stat before {};
  ASSERT_EQ(::fstat(fd, &before), 0);
  ASSERT_EQ(writeFileAt(mnt("/config.new"), "new"), 0);
  ASSERT_EQ(::rename(mnt("/config.new").c_str(), mnt("/config").c_str()), 0)
      << std::strerror(errno);
  EXPECT_EQ(preadAll(fd), "old content");
  struct stat after {};
  EXPECT_EQ(::fstat(fd, &after), 0) << std::strerror(errno);
  EXPECT_EQ(after.st_size, 11);
  EXPECT_EQ(after.st_nlink, 0u);
  ::close(fd);
  int err;
  EXPECT_EQ(readFileAt(mnt("/config"), &err), "new");
}

TEST_P(DeploymentTest, AnOpenFileKeepsItsContentWhenAnHttpPutReplacesIt) {
  std::string token = login("alice");
  TestClient c = client();
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/replaced.txt", token, "first").status, 200u);
  int err;
  ASSERT_TRUE(becomesVisible([&] { return readFileAt(mnt("/replaced.txt"), &err) == "first"; }));
  const int fd = ::open(mnt("/replaced.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/replaced.txt", token, "second").status, 200u);
  EXPECT_EQ(preadAll(fd), "first");
  ::close(fd);
  EXPECT_TRUE(becomesVisible([&] { return readFileAt(mnt("/replaced.txt"), &err) == "second"; }))
      << "read '" << readFileAt(mnt("/replaced.txt"), &err) << "' errno " << err;
}

TEST_P(DeploymentTest, AnOpenFileFollowsItsRename) {
  const int fd = ::open(mnt("/moving.txt").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "abc", 3), 3);
  ASSERT_EQ(::mkdir(mnt("/moved").c_str(), 0755), 0);
  ASSERT_EQ(::rename(mnt("/moving.txt").c_str(), mnt("/moved/here.txt").c_str()), 0);
  ASSERT_EQ(::pwrite(fd, "XYZ", 3, 3), 3) << std::strerror(errno);
  ::close(fd);
  int err;
  EXPECT_EQ(readFileAt(mnt("/moved/here.txt"), &err), "abcXYZ");
  EXPECT_EQ(readFile(dep_->vaultRoot() + "/moved/here.txt"), "abcXYZ");
}

TEST_P(VisibilityTest, AnHttpWriteIsVisibleThroughTheMountAndTheReverse) {
  std::string token = login("alice");
  TestClient c = client();
  int err;
  const int rounds = ttl() ? 3 : 20;  // each ttl round waits the TTL out
  for (int i = 0; i < rounds; ++i) {
    std::string body = "round " + std::to_string(i) + std::string(static_cast<std::size_t>(i), '!');
    Reply put = c.request(bhttp::verb::put, "/v1/files/shared.txt", token, body);
    ASSERT_EQ(put.status, 200u);
    // Read through the mount after the acknowledgement: never the previous content (mono: at
    // once; split: within the deployment's drift bound, see becomesVisible).
    ASSERT_TRUE(becomesVisible([&] {
      struct stat st;
      return readFileAt(mnt("/shared.txt"), &err) == body &&
             ::stat(mnt("/shared.txt").c_str(), &st) == 0 &&
             static_cast<std::size_t>(st.st_size) == body.size();
    })) << "round "
        << i << ": " << readFileAt(mnt("/shared.txt"), &err);
  }
  for (int i = 0; i < rounds; ++i) {
    std::string body = "fuse round " + std::to_string(i);
    ASSERT_EQ(writeFileAt(mnt("/shared.txt"), body), 0);
    ASSERT_TRUE(becomesVisible([&] { return c.get("/v1/files/shared.txt", token).body == body; }))
        << "round " << i;
  }
  // A new name made over HTTP appears in the mount's listing, and a deleted one goes.
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/newname.txt", token, "n").status, 200u);
  struct stat st;
  EXPECT_TRUE(becomesVisible([&] { return ::stat(mnt("/newname.txt").c_str(), &st) == 0; }));
  ASSERT_LT(c.request(bhttp::verb::delete_, "/v1/files/newname.txt", token).status, 300u);
  EXPECT_TRUE(
      becomesVisible([&] { return errnoOf(::stat(mnt("/newname.txt").c_str(), &st)) == ENOENT; }));
}

TEST_P(VisibilityTest, AChangeMadeInTheBackingDirectoryIsPickedUpBySync) {
  std::string token = login("alice");
  TestClient c = client();
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/synced.txt", token, "before").status, 200u);
  std::string v1 = c.get("/v1/files/synced.txt", token).header("x-seams-version");
  std::ofstream(dep_->vaultRoot() + "/synced.txt", std::ios::trunc) << "changed outside";
  EXPECT_TRUE(eventually([&] {
    Reply r = c.get("/v1/files/synced.txt", token);
    return r.body == "changed outside" && r.header("x-seams-version") != v1;
  }));
  int err;
  EXPECT_TRUE(
      becomesVisible([&] { return readFileAt(mnt("/synced.txt"), &err) == "changed outside"; }));
}

TEST_P(DeploymentTest, AReadOnlyUserIsDeniedWritesOverBothFrontends) {
  std::string token = login("bob");
  TestClient c = client();
  EXPECT_EQ(c.request(bhttp::verb::put, "/v1/files/bob.txt", token, "x").status, 403u);
  EXPECT_EQ(c.get("/v1/list/", token).status, 200u);
  EXPECT_EQ(asUid(kBobUid, [&] { return writeFileAt(mnt("/bob.txt"), "x"); }), EACCES);
  EXPECT_EQ(asUid(kBobUid, [&] { return errnoOf(::mkdir(mnt("/bobdir").c_str(), 0755)); }), EACCES);
  int err = 0;
  asUid(kBobUid, [&] { return readFileAt(mnt("/README.md"), &err); });
  EXPECT_EQ(err, 0);
  EXPECT_FALSE(fs::exists(dep_->vaultRoot() + "/bob.txt"));
}

TEST_P(DeploymentTest, AnUnmappedUidIsDeniedEverythingThroughTheMount) {
  struct stat st;
  EXPECT_EQ(asUid(kStrangerUid, [&] { return errnoOf(::stat(mnt("/README.md").c_str(), &st)); }),
            EACCES);
}

TEST_P(VisibilityTest, ARuleGrantedOverHttpDeniesOverBothFrontends) {
  std::string admin = login("admin");
  std::string alice = login("alice");
  TestClient c = client();
  ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/secret/doc.txt", alice, "s").status, 200u);
  int err;
  asUid(kAliceUid, [&] { return readFileAt(mnt("/secret/doc.txt"), &err); });
  ASSERT_EQ(err, 0);

  nlohmann::json deny = {{"subject", "user:alice"},
                         {"prefix", "/secret"},
                         {"access", {"read", "write", "list"}},
                         {"effect", "deny"}};
  Reply g = c.request(bhttp::verb::post, "/v1/admin/grant", admin, deny.dump(),
                      {{"Content-Type", "application/json"}});
  ASSERT_LT(g.status, 300u) << g.body;
  // The frontend that made the change honours it at once, in every deployment and mode.
  EXPECT_EQ(c.get("/v1/files/secret/doc.txt", alice).status, 403u);
  EXPECT_TRUE(becomesVisible([&] {
    asUid(kAliceUid, [&] { return readFileAt(mnt("/secret/doc.txt"), &err); });
    return err == EACCES;
  }));

  Reply r = c.request(bhttp::verb::post, "/v1/admin/revoke", admin, deny.dump(),
                      {{"Content-Type", "application/json"}});
  ASSERT_LT(r.status, 300u) << r.body;
  EXPECT_EQ(c.get("/v1/files/secret/doc.txt", alice).status, 200u);
}

TEST_P(DeploymentTest, OnlyAnAdminMayChangeRules) {
  std::string alice = login("alice");
  TestClient c = client();
  nlohmann::json allow = {
      {"subject", "user:bob"}, {"prefix", "/"}, {"access", {"write"}}, {"effect", "allow"}};
  EXPECT_EQ(c.request(bhttp::verb::post, "/v1/admin/grant", alice, allow.dump()).status, 403u);
}

TEST_P(DeploymentTest, ALoggedOutTokenIsRefused) {
  std::string token = login("alice");
  TestClient c = client();
  EXPECT_EQ(c.get("/v1/stat/README.md", token).status, 200u);
  EXPECT_LT(c.request(bhttp::verb::post, "/v1/logout", token).status, 300u);
  EXPECT_EQ(c.get("/v1/stat/README.md", token).status, 401u);
  EXPECT_EQ(c.get("/v1/stat/README.md", "not-a-token").status, 401u);
  EXPECT_EQ(c.get("/v1/stat/README.md").status, 401u);
}

TEST_P(DeploymentTest, BadCredentialsGet401) {
  TestClient c = client();
  nlohmann::json body = {{"user", "alice"}, {"password", "wrong"}};
  EXPECT_EQ(c.request(bhttp::verb::post, "/v1/login", "", body.dump()).status, 401u);
  EXPECT_EQ(c.request(bhttp::verb::post, "/v1/login", "", "{not json").status, 400u);
}

TEST_P(DeploymentTest, TraversalVectorsOverHttpNeverLeaveTheVault) {
  std::string token = login("admin");
  // A file outside the vault, beside it, that no request may read or overwrite.
  std::string outside = dep_->dir() + "/outside.txt";
  std::ofstream(outside) << "outside";
  for (const char* target :
       {"/v1/files/../outside.txt", "/v1/files/%2e%2e/outside.txt", "/v1/files/%2E%2E/outside.txt",
        "/v1/files/a/%2e%2e/%2e%2e/outside.txt", "/v1/files/..%2foutside.txt",
        "/v1/files/%2e%2e%2foutside.txt", "/v1/files/a%00b", "/v1/files/%00"}) {
    TestClient c = client();
    Reply get = c.get(target, token);
    EXPECT_GE(get.status, 400u) << target;
    EXPECT_LT(get.status, 500u) << target;
    EXPECT_EQ(get.body.find("outside"), std::string::npos) << target;
    TestClient c2 = client();
    Reply put = c2.request(bhttp::verb::put, target, token, "overwritten");
    EXPECT_GE(put.status, 400u) << target;
    EXPECT_LT(put.status, 500u) << target;
  }
  // Double encoding decodes once: "%252e%252e" is the literal name "%2e%2e", inside the vault.
  TestClient c = client();
  Reply dbl = c.request(bhttp::verb::put, "/v1/files/%252e%252e/x.txt", token, "inside");
  EXPECT_EQ(dbl.status, 200u);
  EXPECT_EQ(readFile(dep_->vaultRoot() + "/%2e%2e/x.txt"), "inside");
  // "//etc/passwd" is the vault path /etc/passwd, which does not exist.
  EXPECT_EQ(c.get("/v1/files//etc/passwd", token).status, 404u);
  EXPECT_EQ(readFile(outside), "outside");
  EXPECT_EQ(c.get("/healthz").status, 200u);  // still serving
}

TEST_P(DeploymentTest, ASymlinkOutOfTheRootIsNeverFollowed) {
  std::string token = login("admin");
  ASSERT_EQ(::symlink("/etc", (dep_->vaultRoot() + "/etc-link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (dep_->vaultRoot() + "/passwd-link").c_str()), 0);
  TestClient c = client();
  for (const char* target : {"/v1/files/etc-link/passwd", "/v1/files/passwd-link",
                             "/v1/stat/etc-link/passwd", "/v1/list/etc-link"}) {
    Reply r = c.get(target, token);
    EXPECT_GE(r.status, 400u) << target;
    EXPECT_LT(r.status, 500u) << target;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  }
  Reply put = c.request(bhttp::verb::put, "/v1/files/etc-link/seams-test", token, "x");
  EXPECT_GE(put.status, 400u);
  EXPECT_FALSE(fs::exists("/etc/seams-test"));
  int err;
  std::string via_fuse = readFileAt(mnt("/etc-link/passwd"), &err);
  EXPECT_NE(err, 0);
  EXPECT_EQ(via_fuse.find("root:"), std::string::npos);
  via_fuse = readFileAt(mnt("/passwd-link"), &err);
  EXPECT_EQ(via_fuse.find("root:"), std::string::npos);
}

TEST_P(DeploymentTest, MalformedAndOversizedHttpIsRefusedAndTheServerKeepsServing) {
  std::string token = login("alice");
  {
    TestClient c = client();
    c.sendRaw("THIS IS NOT HTTP\r\n\r\n");
    Reply r = c.read();
    EXPECT_TRUE(r.status == 0 || r.status == 400u) << r.status;
  }
  {
    TestClient c = client();
    std::string big(64 * 1024, 'a');
    c.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
    Reply r = c.read();
    EXPECT_TRUE(r.status == 0 || r.status == 431u || r.status == 400u) << r.status;
  }
  {
    TestClient c = client();
    Reply r = c.request(bhttp::verb::put, "/v1/files/big.bin", token, std::string(2 << 20, 'x'));
    EXPECT_TRUE(r.status == 0 || r.status == 413u) << r.status;
    EXPECT_FALSE(fs::exists(dep_->vaultRoot() + "/big.bin"));
  }
  {
    TestClient c = client();
    ASSERT_EQ(c.request(bhttp::verb::put, "/v1/files/r.txt", token, "0123456789").status, 200u);
    EXPECT_EQ(c.get("/v1/files/r.txt", token, {{"Range", "bytes=20-30"}}).status, 416u);
    EXPECT_EQ(c.get("/v1/files/r.txt", token, {{"Range", "bytes=5-2"}}).status, 416u);
    Reply junk = c.get("/v1/files/r.txt", token, {{"Range", "pages=1-2"}});
    EXPECT_TRUE(junk.status == 200u || junk.status == 400u || junk.status == 416u) << junk.status;
    EXPECT_EQ(c.request(bhttp::verb::patch, "/v1/files/r.txt", token).status, 405u);
  }
  TestClient c = client();
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_EQ(c.get("/v1/files/r.txt", token).body, "0123456789");
}

TEST_P(DeploymentTest, SeamctlStatusListsEveryServiceOrDaemonRunning) {
  auto r = dep_->seamctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const std::string& name : dep_->componentNames()) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
    EXPECT_EQ(dep_->statusField(name, "state"), "running") << name;
  }
  auto js = dep_->seamctl({"status", "--json"});
  ASSERT_EQ(js.exit_code, 0) << js.output;
  auto parsed = nlohmann::json::parse(js.output, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << js.output;
}

TEST_P(DeploymentTest, HttpFrontendCrashIsRestartedAndClientsRecover) {
  std::string token = login("alice");
  // mono: the http service's thread ends; split: seam-httpd receives SIGSEGV.
  auto r = dep_->seamctl({"fault", dep_->httpComponent(), "crash"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(eventually([&] {
    try {
      TestClient c = client();
      return c.get("/v1/stat/README.md", token).status == 200u;
    } catch (const std::exception&) {
      return false;  // connection refused while it restarts
    }
  }));
  EXPECT_TRUE(eventually([&] { return dep_->componentRestarts(dep_->httpComponent()) >= 1; }));
}

TEST_P(DeploymentTest, HttpFrontendHangIsDetectedAndRestarted) {
  std::string token = login("alice");
  // mono: the service stops touching its heartbeat; split: seam-httpd is SIGSTOPped and stops
  // its WATCHDOG=1 pings.
  auto r = dep_->seamctl({"fault", dep_->httpComponent(), "hang"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Detection takes kill_deadline_ms (1.5 s here, scaled); afterwards the service serves again.
  EXPECT_TRUE(eventually([&] {
    auto s = dep_->seamctl({"status", "--json"});
    auto j = nlohmann::json::parse(s.output, nullptr, false);
    if (j.is_discarded()) return false;
    for (const auto& row : j.is_array() ? j : j.value("services", nlohmann::json::array())) {
      if (row.value("name", "") == dep_->httpComponent()) return row.value("restarts", 0) >= 1;
    }
    return false;
  }));
  EXPECT_TRUE(eventually([&] {
    try {
      TestClient c = client();
      return c.get("/v1/stat/README.md", token).status == 200u;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

TEST_P(DeploymentTest, FuseFrontendCrashIsRemountedAndServing) {
  auto r = dep_->seamctl({"fault", dep_->fuseComponent(), "crash"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(eventually([&] { return dep_->componentRestarts(dep_->fuseComponent()) >= 1; }));
  int err = -1;
  EXPECT_TRUE(eventually([&] {
    std::string s = readFileAt(mnt("/README.md"), &err);
    return err == 0 && !s.empty();
  }));
}

TEST_P(DeploymentTest, FaultsAreRefusedForUnknownServices) {
  auto r = dep_->seamctl({"fault", "nosuchservice", "crash"});
  EXPECT_NE(r.exit_code, 0);
}

TEST_P(DeploymentTest, AcknowledgedPutsSurviveKill9) {
  std::string token = login("alice");
  std::atomic<bool> stop{false};
  std::vector<std::pair<std::string, std::string>> acked;  // path, content
  std::mutex acked_mu;
  std::thread writer([&] {
    TestClient c = client();
    for (int i = 0; i < 100000 && !stop.load(); ++i) {
      std::string path = "/durable/f" + std::to_string(i % 50) + ".txt";
      std::string content =
          "content " + std::to_string(i) + " " + std::string(1000 + i % 3000, 'x');
      Reply r;
      try {
        r = c.request(bhttp::verb::put, "/v1/files" + path, token, content);
      } catch (const std::exception&) {
        break;  // the daemon died mid-request: that write was not acknowledged
      }
      if (r.status != 200u) break;
      std::lock_guard lock(acked_mu);
      acked.emplace_back(path, content);
    }
  });
  // Let some writes be acknowledged, then kill the daemon without warning.
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(acked_mu);
    return acked.size() >= 50;
  }));
  if (dep_->split()) {
    // The process that writes is seam-fsd: kill it without warning; the launcher restarts it.
    pid_t fsd = dep_->componentPid(kFsdDaemon);
    ASSERT_GT(fsd, 0);
    ASSERT_EQ(::kill(fsd, SIGKILL), 0);
    stop = true;
    writer.join();
    ASSERT_TRUE(eventually([&] {
      pid_t now = dep_->componentPid(kFsdDaemon);
      return now > 0 && now != fsd && dep_->statusField(kFsdDaemon, "state") == "running";
    }));
  } else {
    dep_->kill9();
    stop = true;
    writer.join();
  }

  // Every path's last acknowledged content is what is there after a restart, and no file is torn.
  std::map<std::string, std::string> expected;
  for (auto& [p, c] : acked) expected[p] = c;
  if (!dep_->split()) {
    ASSERT_TRUE(dep_->start().ok());
  }
  std::string token2 = login("alice");
  TestClient c = client();
  if (dep_->split() && !expected.empty()) {
    // The launcher reports the new seam-fsd running before seam-httpd's stub has dialled it
    // again; until then a read is a 503 (a needed service is down), not lost data.
    const std::string first = "/v1/files" + expected.begin()->first;
    EXPECT_TRUE(eventually([&] { return client().get(first, token2).status != 503u; }));
  }
  for (auto& [path, content] : expected) {
    Reply r = c.get("/v1/files" + path, token2);
    ASSERT_EQ(r.status, 200u) << path;
    // The last acknowledged write, or (if the killed request reached storage before the kill)
    // a later complete one: never a torn or older file.
    if (r.body != content) {
      EXPECT_EQ(r.body.rfind("content ", 0), 0u) << path;
      std::size_t n = std::stoul(r.body.substr(8));
      std::size_t acked_n = std::stoul(content.substr(8));
      EXPECT_GT(n, acked_n) << path;
      EXPECT_EQ(r.body.size(), std::to_string(n).size() + 9 + 1000 + n % 3000) << path;
    }
  }
  // The dead mount left by kill -9 was cleared and the new one serves.
  int err;
  EXPECT_FALSE(readFileAt(mnt("/README.md"), &err).empty());
}

TEST_P(DeploymentTest, SigtermStopsCleanlyAndUnmounts) {
  auto st = dep_->stop();
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->success()) << st->toString();
  EXPECT_FALSE(isMounted(dep_->mountpoint()));
  EXPECT_FALSE(fs::exists(dep_->controlSocket()));
  if (dep_->split()) {
    for (const char* socket : {"/run/fsd.sock", "/run/authd.sock"}) {
      EXPECT_FALSE(fs::exists(dep_->dir() + socket)) << socket;
    }
  }
}

// ---- split: daemon faults ------------------------------------------------------------------

// Light traffic over both frontends while faults land; counts what failed and how long the
// slowest answer took, so a fault test can tell "answered an error quickly" from "hung".
class Traffic {
 public:
  Traffic(std::uint16_t port, std::string token, std::string mount)
      : port_(port), token_(std::move(token)), mount_(std::move(mount)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Traffic() {
    stop_ = true;
    thread_.join();
  }
  std::chrono::milliseconds slowest() const {
    return std::chrono::milliseconds(slowest_ms_.load());
  }
  int requests() const { return requests_.load(); }

 private:
  void loop() {
    while (!stop_) {
      auto t0 = std::chrono::steady_clock::now();
      try {
        TestClient c(port_);
        (void)c.get("/v1/files/README.md", token_);
      } catch (const std::exception&) {
        // refused while seam-httpd restarts: an answer, not a hang
      }
      struct stat st;
      (void)::stat((mount_ + "/README.md").c_str(), &st);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
      std::int64_t prev = slowest_ms_.load();
      while (ms > prev && !slowest_ms_.compare_exchange_weak(prev, ms)) {
      }
      ++requests_;
      std::this_thread::sleep_for(20ms);  // light traffic, not load
    }
  }
  std::uint16_t port_;
  std::string token_;
  std::string mount_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> slowest_ms_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

bool processGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie not yet reaped by its new parent is gone for our purposes.
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST_P(SplitFaultTest, EachDaemonKilledWithSigkillIsRestartedUnderLightTraffic) {
  std::string token = login("alice");
  Traffic traffic(dep_->httpPort(), token, dep_->mountpoint());
  for (const std::string daemon :
       {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon}) {
    pid_t before = dep_->componentPid(daemon);
    ASSERT_GT(before, 0) << daemon;
    ASSERT_EQ(::kill(before, SIGKILL), 0) << daemon;
    EXPECT_TRUE(eventually([&] {
      pid_t now = dep_->componentPid(daemon);
      return now > 0 && now != before && dep_->statusField(daemon, "state") == "running";
    })) << daemon
        << " was not restarted";
    EXPECT_GE(dep_->componentRestarts(daemon), 1) << daemon;
  }
  // Everything serves again: HTTP (a fresh login through the restarted authd too) and the mount.
  std::string token2 = login("alice");
  EXPECT_TRUE(
      eventually([&] { return client().get("/v1/files/README.md", token2).status == 200u; }));
  int err = -1;
  EXPECT_TRUE(eventually([&] { return !readFileAt(mnt("/README.md"), &err).empty() && err == 0; }));
  EXPECT_GT(traffic.requests(), 0);
}

TEST_P(SplitFaultTest, WhileFsdIsDownTheFrontendsAnswerQuicklyAndRecoverWithoutARestart) {
  std::string token = login("alice");
  TestClient c = client();
  ASSERT_EQ(c.get("/v1/files/README.md", token).status, 200u);
  pid_t httpd = dep_->componentPid(kHttpdDaemon);
  pid_t fused = dep_->componentPid(kFusedDaemon);
  pid_t fsd = dep_->componentPid(kFsdDaemon);
  const auto bound = std::chrono::milliseconds(callTimeoutMs()) + scaled(2s);

  // A stopped seam-fsd is down in the worst way: its socket accepts, nothing answers.
  ASSERT_EQ(::kill(fsd, SIGSTOP), 0);
  {
    auto t0 = std::chrono::steady_clock::now();
    Reply r = client().get("/v1/stat/never-cached-" + std::to_string(t0.time_since_epoch().count()),
                           token);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, 503u) << r.body;
    EXPECT_LT(took, bound);
  }
  {
    auto t0 = std::chrono::steady_clock::now();
    struct stat st;
    int e = errnoOf(::stat(mnt("/never-cached-either").c_str(), &st));
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_NE(e, 0);
    EXPECT_NE(e, ENOENT) << "an answer from a vault that cannot answer";
    EXPECT_LT(took, bound);
  }
  // Then it dies (as the launcher would kill it after kill_deadline_ms); the launcher restarts it
  // and the frontends reconnect by themselves.
  ASSERT_EQ(::kill(fsd, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] {
    pid_t now = dep_->componentPid(kFsdDaemon);
    return now > 0 && now != fsd && dep_->statusField(kFsdDaemon, "state") == "running";
  }));
  EXPECT_TRUE(
      eventually([&] { return client().get("/v1/files/README.md", token).status == 200u; }));
  int err = -1;
  EXPECT_TRUE(eventually([&] { return !readFileAt(mnt("/README.md"), &err).empty() && err == 0; }));
  EXPECT_EQ(dep_->componentPid(kHttpdDaemon), httpd) << "seam-httpd recovered without a restart";
  EXPECT_EQ(dep_->componentPid(kFusedDaemon), fused) << "seam-fused recovered without a restart";
}

TEST_P(SplitFaultTest, KillingFusedLeavesNoStaleMount) {
  int err = -1;
  ASSERT_FALSE(readFileAt(mnt("/README.md"), &err).empty());
  pid_t fused = dep_->componentPid(kFusedDaemon);
  ASSERT_EQ(::kill(fused, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] {
    pid_t now = dep_->componentPid(kFusedDaemon);
    return now > 0 && now != fused && dep_->statusField(kFusedDaemon, "state") == "running";
  }));
  EXPECT_TRUE(eventually([&] { return !readFileAt(mnt("/README.md"), &err).empty() && err == 0; }));
  // Exactly one mount at the mount point: the dead one was detached, not stacked under.
  std::string mountinfo = readFile("/proc/self/mountinfo");
  std::size_t mounts = 0;
  for (std::size_t at = mountinfo.find(" " + dep_->mountpoint() + " "); at != std::string::npos;
       at = mountinfo.find(" " + dep_->mountpoint() + " ", at + 1)) {
    ++mounts;
  }
  EXPECT_EQ(mounts, 1u) << mountinfo;
}

TEST_P(SplitFaultTest, TheLauncherKilledWithSigkillLeavesNoOrphanDaemons) {
  std::vector<pid_t> daemons;
  for (const std::string daemon :
       {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon}) {
    daemons.push_back(dep_->componentPid(daemon));
    ASSERT_GT(daemons.back(), 0) << daemon;
  }
  dep_->kill9();
  for (pid_t pid : daemons) {
    EXPECT_TRUE(eventually([&] { return processGone(pid); }, 20s)) << "pid " << pid << " orphaned";
  }
  // seam-fused left in an orderly way: its mount is gone too.
  EXPECT_TRUE(eventually([&] { return !isMounted(dep_->mountpoint()); }, 20s));
}

std::string deploymentName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Deployments, DeploymentTest,
                         ::testing::Values("mono", "split/capnp",
                                           "split/protobuf" SEAMS_WITH_GRPC("split/grpc/push")),
                         deploymentName);
INSTANTIATE_TEST_SUITE_P(Deployments, VisibilityTest,
                         ::testing::Values("mono", "split/capnp", "split/protobuf",
                                           "split/capnp/ttl" SEAMS_WITH_GRPC("split/grpc/push")),
                         deploymentName);
INSTANTIATE_TEST_SUITE_P(Deployments, AttributeVisibilityTest,
                         ::testing::Values("mono", "split/capnp/push", "split/capnp/off",
                                           "split/capnp/ttl", "split/protobuf/push",
                                           "split/protobuf/off",
                                           "split/protobuf/ttl" SEAMS_WITH_GRPC("split/grpc/push")),
                         deploymentName);
INSTANTIATE_TEST_SUITE_P(Deployments, InodeIdentityTest,
                         ::testing::Values("mono", "split/capnp/push", "split/protobuf/off",
                                           "split/capnp/ttl"),
                         deploymentName);
INSTANTIATE_TEST_SUITE_P(Deployments, SplitFaultTest,
                         ::testing::Values("split/capnp",
                                           "split/protobuf" SEAMS_WITH_GRPC("split/grpc/push")),
                         deploymentName);

}  // namespace
}  // namespace seams::e2e

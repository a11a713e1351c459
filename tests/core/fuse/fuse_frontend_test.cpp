// End-to-end tests of the FUSE frontend: a real mount of a temp vault (Storage + FsCache +
// LocalVault, LocalAuth), driven with ordinary syscalls. They need root and /dev/fuse; without
// /dev/fuse they skip and say so.
#include "core/fuse/fuse_frontend.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/auth/local_auth.h"
#include "core/auth/sessions.h"
#include "core/cache/fs_cache.h"
#include "core/fuse/mount_util.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "tests/support/interposed_vault.h"
#include "tests/support/sanitizer_reports.h"

namespace seams {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint32_t kAdminUid = 0;  // the tests run as root
constexpr std::uint32_t kReaderUid = 1001;
constexpr std::uint32_t kWriterUid = 1002;  // may write, but is not root
constexpr std::uint32_t kUnmappedUid = 4242;

VaultPath P(std::string_view s) {
  return VaultPath::parse(s).value();
}

// Runs `f` on a fresh thread whose filesystem uid/gid are `uid` (setfsuid is per thread on
// Linux; glibc does not broadcast it), so FUSE sees that uid on every request it makes.
template <typename F>
auto asUid(std::uint32_t uid, F f) {
  std::packaged_task<decltype(f())()> task([&] {
    ::syscall(SYS_setfsgid, uid);
    ::syscall(SYS_setfsuid, uid);
    return f();
  });
  auto result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

// errno of a failed call, 0 on success.
int errOf(int rc) {
  return rc < 0 ? errno : 0;
}

std::string readAll(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<open: " + std::string(std::strerror(errno)) + ">";
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

int writeFile(const std::string& path, std::string_view data, int flags = O_WRONLY | O_TRUNC) {
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, data.data(), data.size());
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

std::set<std::string> listNames(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {"<opendir: " + std::string(std::strerror(errno)) + ">"};
  while (dirent* e = ::readdir(d)) names.insert(e->d_name);
  ::closedir(d);
  return names;
}

// Creates or replaces `path` through the mount with plain syscalls.
void writeAll(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::close(fd), 0);
}

std::string versionXattr(const std::string& path) {
  char buf[64];
  const ssize_t n = ::getxattr(path.c_str(), "user.seams.version", buf, sizeof buf);
  if (n < 0) return "<getxattr: " + std::string(std::strerror(errno)) + ">";
  return std::string(buf, static_cast<std::size_t>(n));
}

bool mountedAt(const std::string& path) {
  return !fuseMountsAt(path).empty();
}

// A Vault that forwards to another and can be told to throw or to block on one path, for the
// tests of exceptions and of the heartbeat.
class HookedVault final : public testing::InterposedVault {
 public:
  using InterposedVault::InterposedVault;
  std::function<void(const VaultPath&)> on_stat;  // set before mounting

 protected:
  Status before(std::string_view call, const VaultPath* path) override {
    if (call == "stat" && on_stat) on_stat(*path);
    return okStatus();
  }
};

class FuseFrontendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_GE(sodium_init(), 0);
    auto hash = hashPassword("pw", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
    ASSERT_TRUE(hash.ok());
    hash_ = *hash;
  }

  void SetUp() override {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "/dev/fuse is missing or not accessible: FUSE tests cannot run here";
    }
    char tmpl[] = "/tmp/seams-fuse-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Other uids (setfsuid below) must be able to walk to the mount point.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    root_ = dir_ + "/vault";
    mnt_ = dir_ + "/mnt";
    fs::create_directory(root_);
    fs::create_directory(mnt_);

    auto storage = Storage::open(root_);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(*storage);
    cache_ = std::make_unique<FsCache>(FsCache::Options{}, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);
    hooked_ = std::make_unique<HookedVault>(*vault_);

    std::vector<UserConfig> users = {
        {"admin", hash_, kAdminUid, {}},
        {"reader", hash_, kReaderUid, {}},
        {"writer", hash_, kWriterUid, {}},
    };
    std::vector<Rule> rules = {
        {Rule::Subject::user, "admin", VaultPath::root(), kAllAccess, Rule::Effect::allow},
        {Rule::Subject::user, "reader", VaultPath::root(),
         static_cast<AccessMask>(mask(Access::read) | mask(Access::list)), Rule::Effect::allow},
        {Rule::Subject::user, "writer", VaultPath::root(),
         static_cast<AccessMask>(mask(Access::read) | mask(Access::list) | mask(Access::write)),
         Rule::Effect::allow},
    };
    auto auth = LocalAuth::create(users, rules, AuthConfig{}, clock_);
    ASSERT_TRUE(auth.ok()) << auth.status().toString();
    auth_ = std::move(*auth);

    config_.mountpoint = mnt_;
    config_.entry_timeout_s = 1.0;  // the kernel caches: invalidation must do the work
    config_.attr_timeout_s = 1.0;
    config_.kernel_cache = true;
  }

  void TearDown() override {
    // Unmount whatever happened, so a failed test never leaves a mount behind.
    frontend_.reset();
    if (!mnt_.empty()) {
      for (int i = 0; i < 8 && mountedAt(mnt_); ++i) ::umount2(mnt_.c_str(), MNT_DETACH);
    }
    auth_.reset();
    hooked_.reset();
    vault_.reset();
    cache_.reset();
    storage_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  void mount(bool hooked = false) {
    frontend_ = std::make_unique<FuseFrontend>(hooked ? static_cast<Vault&>(*hooked_) : *vault_,
                                               *auth_, config_, clock_);
    Status s = frontend_->start();
    ASSERT_TRUE(s.ok()) << s.toString();
  }

  std::string m(std::string_view rel) const { return mnt_ + "/" + std::string(rel); }
  std::string b(std::string_view rel) const { return root_ + "/" + std::string(rel); }

  static inline std::string hash_;  // one Argon2id hash for every user; made once
  SystemClock clock_;
  std::string dir_, root_, mnt_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
  std::unique_ptr<HookedVault> hooked_;
  std::unique_ptr<LocalAuth> auth_;
  FuseConfig config_;
  std::unique_ptr<FuseFrontend> frontend_;
};

TEST_F(FuseFrontendTest, StartReturnsOnlyOnceTheMountServes) {
  ASSERT_TRUE(vault_->put(P("/hello.txt"), "hi").ok());
  mount();
  EXPECT_TRUE(frontend_->running());
  EXPECT_TRUE(mountedAt(mnt_));
  EXPECT_EQ(frontend_->mountpoint(), fs::canonical(dir_).string() + "/mnt");
  // No polling: the very first access after start() must work.
  struct stat st {};
  EXPECT_EQ(errOf(::stat(m("hello.txt").c_str(), &st)), 0);
}

TEST_F(FuseFrontendTest, FilesAndDirectoriesAreVisibleWithStatReaddirAndRead) {
  ASSERT_TRUE(vault_->mkdir(P("/docs"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/docs/a.txt"), "alpha").ok());
  ASSERT_TRUE(vault_->put(P("/b.bin"), std::string(200000, 'x')).ok());
  mount();

  struct stat st {};
  ASSERT_EQ(errOf(::stat(m("docs/a.txt").c_str(), &st)), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 5);
  ASSERT_EQ(errOf(::stat(m("docs").c_str(), &st)), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(listNames(mnt_), (std::set<std::string>{".", "..", "docs", "b.bin"}));
  EXPECT_EQ(listNames(m("docs")), (std::set<std::string>{".", "..", "a.txt"}));
  EXPECT_EQ(readAll(m("docs/a.txt")), "alpha");
  EXPECT_EQ(readAll(m("b.bin")), std::string(200000, 'x'));
  EXPECT_EQ(errOf(::stat(m("missing").c_str(), &st)), ENOENT);
  // The vault's own state directory is not part of the tree.
  EXPECT_NE(errOf(::stat(m(".seams").c_str(), &st)), 0);
}

TEST_F(FuseFrontendTest, WritesThroughTheMountReachTheVault) {
  mount();
  // create + write
  ASSERT_EQ(writeFile(m("new.txt"), "created", O_WRONLY | O_CREAT | O_EXCL), 0);
  EXPECT_EQ(vault_->read(P("/new.txt"), 0, 100)->data, "created");
  // overwrite in place at an offset
  {
    const int fd = ::open(m("new.txt").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "XY", 2, 2), 2);
    ::close(fd);
  }
  EXPECT_EQ(vault_->read(P("/new.txt"), 0, 100)->data, "crXYted");
  EXPECT_EQ(readAll(m("new.txt")), "crXYted");
  // O_EXCL on an existing name
  EXPECT_EQ(writeFile(m("new.txt"), "x", O_WRONLY | O_CREAT | O_EXCL), EEXIST);
  // truncate, both ways
  ASSERT_EQ(errOf(::truncate(m("new.txt").c_str(), 3)), 0);
  EXPECT_EQ(vault_->stat(P("/new.txt"))->size, 3u);
  EXPECT_EQ(readAll(m("new.txt")), "crX");
  ASSERT_EQ(writeFile(m("new.txt"), "t", O_WRONLY | O_TRUNC), 0);
  EXPECT_EQ(vault_->read(P("/new.txt"), 0, 100)->data, "t");
  // mkdir, rename, unlink, rmdir
  ASSERT_EQ(errOf(::mkdir(m("d").c_str(), 0755)), 0);
  EXPECT_EQ(vault_->stat(P("/d"))->type, FileType::directory);
  ASSERT_EQ(errOf(::rename(m("new.txt").c_str(), m("d/moved.txt").c_str())), 0);
  EXPECT_EQ(vault_->stat(P("/new.txt")).code(), Errc::not_found);
  EXPECT_EQ(readAll(m("d/moved.txt")), "t");
  EXPECT_EQ(errOf(::rmdir(m("d").c_str())), ENOTEMPTY);
  ASSERT_EQ(errOf(::unlink(m("d/moved.txt").c_str())), 0);
  EXPECT_EQ(vault_->stat(P("/d/moved.txt")).code(), Errc::not_found);
  ASSERT_EQ(errOf(::rmdir(m("d").c_str())), 0);
  EXPECT_EQ(vault_->stat(P("/d")).code(), Errc::not_found);
  EXPECT_EQ(listNames(mnt_), (std::set<std::string>{".", ".."}));
}

TEST_F(FuseFrontendTest, NamesThatAreNotUtf8AreRefusedWithEinvalAndNeverFound) {
  ASSERT_TRUE(vault_->put(P("/good.txt"), "g").ok());
  mount();
  EXPECT_EQ(writeFile(m("bad\xff\xfe.txt"), "x", O_WRONLY | O_CREAT | O_EXCL), EINVAL);
  EXPECT_EQ(errOf(::mkdir(m("dir\xc0\xaf").c_str(), 0755)), EINVAL);
  EXPECT_EQ(errOf(::rename(m("good.txt").c_str(), m("g\xed\xa0\x80").c_str())), EINVAL);
  struct stat st {};
  EXPECT_EQ(errOf(::stat(m("bad\xff").c_str(), &st)), ENOENT);  // a lookup: no such name can exist
  EXPECT_EQ(listNames(mnt_), (std::set<std::string>{".", "..", "good.txt"}));
  for (const std::string& name : listNames(root_)) {
    EXPECT_TRUE(name == "." || name == ".." || name == ".seams" || name == "good.txt") << name;
  }
  // A UTF-8 name is an ordinary name.
  EXPECT_EQ(writeFile(m("caf\xc3\xa9"), "c", O_WRONLY | O_CREAT | O_EXCL), 0);
  EXPECT_EQ(vault_->read(P("/caf\xc3\xa9"), 0, 10)->data, "c");
}

TEST_F(FuseFrontendTest, RenamingADirectoryKeepsWhatIsOpenBeneathIt) {
  ASSERT_TRUE(vault_->mkdir(P("/a"), 0755).ok());
  ASSERT_TRUE(vault_->put(P("/a/f"), "one").ok());
  mount();
  const int fd = ::open(m("a/f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(errOf(::rename(m("a").c_str(), m("b").c_str())), 0);
  // The open file followed its directory.
  ASSERT_EQ(::pwrite(fd, "two", 3, 0), 3);
  ::close(fd);
  EXPECT_EQ(vault_->read(P("/b/f"), 0, 10)->data, "two");
  EXPECT_EQ(readAll(m("b/f")), "two");
}

TEST_F(FuseFrontendTest, ChmodChownAndTouchTakeEffect) {
  // Issue 13: they used to be EPERM, EPERM, and success with no effect.
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  mount();
  EXPECT_EQ(errOf(::chmod(m("f").c_str(), 0604)), 0);
  EXPECT_EQ(errOf(::chown(m("f").c_str(), 1, 1)), 0);  // by root: stored
  struct timespec ts[2] = {{978307200, 0}, {978307200, 0}};
  EXPECT_EQ(errOf(::utimensat(AT_FDCWD, m("f").c_str(), ts, 0)), 0);
  struct stat st {};
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(st.st_uid, 1u);
  EXPECT_EQ(st.st_gid, 1u);
  EXPECT_EQ(st.st_mtim.tv_sec, 978307200);
}

TEST_F(FuseFrontendTest, TheVersionXattrTracksEveryChange) {
  ASSERT_TRUE(vault_->put(P("/f"), "one").ok());
  mount();
  EXPECT_EQ(versionXattr(m("f")), std::to_string(vault_->stat(P("/f"))->version));
  const std::string before = versionXattr(m("f"));
  ASSERT_EQ(writeFile(m("f"), "two"), 0);
  const std::string after = versionXattr(m("f"));
  EXPECT_EQ(after, std::to_string(vault_->stat(P("/f"))->version));
  EXPECT_GT(std::stoull(after), std::stoull(before));
  // The size query, a buffer too small, and other names.
  EXPECT_EQ(::getxattr(m("f").c_str(), "user.seams.version", nullptr, 0),
            static_cast<ssize_t>(after.size()));
  char tiny[1];
  while (vault_->stat(P("/f"))->version < 10) ASSERT_TRUE(vault_->put(P("/f"), "more").ok());
  EXPECT_EQ(errOf(static_cast<int>(::getxattr(m("f").c_str(), "user.seams.version", tiny, 1))),
            ERANGE);
  char buf[64];
  EXPECT_EQ(errOf(static_cast<int>(::getxattr(m("f").c_str(), "security.capability", buf, 64))),
            ENODATA);
  EXPECT_EQ(errOf(static_cast<int>(::getxattr(m("f").c_str(), "user.other", buf, 64))), ENODATA);
  char names[128];
  const ssize_t n = ::listxattr(m("f").c_str(), names, sizeof names);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(names, static_cast<std::size_t>(n)),
            std::string("user.seams.version\0", 19));
}

// The heart of coherence: a change made through the Vault object (as HTTP or sync would make it)
// is visible through the mount at once, although the kernel caches entries, attributes and pages.
TEST_F(FuseFrontendTest, ChangesMadeBehindTheMountAreNeverStale) {
  ASSERT_TRUE(vault_->put(P("/f"), "aaaa").ok());
  mount();
  // Warm every kernel cache: the dentry, the attributes and the pages.
  EXPECT_EQ(readAll(m("f")), "aaaa");
  struct stat st {};
  ASSERT_EQ(errOf(::stat(m("f").c_str(), &st)), 0);

  for (int round = 0; round < 20; ++round) {
    // Same size, so neither the size nor (within one timestamp tick) the mtime gives it away.
    const std::string same_size(4, static_cast<char>('b' + round));
    ASSERT_TRUE(vault_->put(P("/f"), same_size).ok());
    ASSERT_EQ(readAll(m("f")), same_size) << "round " << round;
  }
  // Size changes, through write() and truncate() as well as put().
  ASSERT_TRUE(vault_->write(P("/f"), 4, "tail").ok());
  ASSERT_EQ(errOf(::stat(m("f").c_str(), &st)), 0);
  EXPECT_EQ(st.st_size, 8);
  EXPECT_EQ(readAll(m("f")).substr(4), "tail");
  ASSERT_TRUE(vault_->truncate(P("/f"), 2).ok());
  ASSERT_EQ(errOf(::stat(m("f").c_str(), &st)), 0);
  EXPECT_EQ(st.st_size, 2);
  // Version xattr.
  EXPECT_EQ(versionXattr(m("f")), std::to_string(vault_->stat(P("/f"))->version));

  // A new name, after the kernel cached its absence.
  EXPECT_EQ(errOf(::stat(m("g").c_str(), &st)), ENOENT);
  ASSERT_TRUE(vault_->put(P("/g"), "new").ok());
  EXPECT_EQ(errOf(::stat(m("g").c_str(), &st)), 0);
  EXPECT_EQ(readAll(m("g")), "new");
  EXPECT_TRUE(listNames(mnt_).count("g"));

  // A removed name, after the kernel cached its presence.
  ASSERT_TRUE(vault_->unlink(P("/g")).ok());
  EXPECT_EQ(errOf(::stat(m("g").c_str(), &st)), ENOENT);
  EXPECT_FALSE(listNames(mnt_).count("g"));

  // A rename: the old name goes, the new one comes, with the content.
  ASSERT_EQ(errOf(::stat(m("h").c_str(), &st)), ENOENT);
  ASSERT_TRUE(vault_->rename(P("/f"), P("/h")).ok());
  EXPECT_EQ(errOf(::stat(m("f").c_str(), &st)), ENOENT);
  EXPECT_EQ(readAll(m("h")), vault_->read(P("/h"), 0, 100)->data);

  // Directories made and removed behind the mount.
  ASSERT_TRUE(vault_->mkdir(P("/dir"), 0755).ok());
  EXPECT_EQ(listNames(m("dir")), (std::set<std::string>{".", ".."}));
  ASSERT_TRUE(vault_->put(P("/dir/x"), "x").ok());
  EXPECT_EQ(listNames(m("dir")), (std::set<std::string>{".", "..", "x"}));
  EXPECT_EQ(frontend_->health().notify_failures, 0u);
}

TEST_F(FuseFrontendTest, AnOpenFileSeesAnInPlaceChangeMadeBehindTheMount) {
  ASSERT_TRUE(vault_->put(P("/f"), "0123456789").ok());
  mount();
  const int fd = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16] = {};
  ASSERT_EQ(::pread(fd, buf, 10, 0), 10);
  ASSERT_TRUE(vault_->write(P("/f"), 0, "abcdefghij").ok());
  ASSERT_EQ(::pread(fd, buf, 10, 0), 10);
  EXPECT_EQ(std::string(buf, 10), "abcdefghij");
  ::close(fd);
}

TEST_F(FuseFrontendTest, APutBehindTheMountLeavesAnOpenFileItsOldContent) {
  ASSERT_TRUE(vault_->put(P("/f"), "0123456789").ok());
  mount();
  const int fd = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16] = {};
  ASSERT_EQ(::pread(fd, buf, 10, 0), 10);
  ASSERT_TRUE(vault_->put(P("/f"), "abcdefghij").ok());  // HTTP's PUT: a new file at the name
  ASSERT_EQ(::pread(fd, buf, 10, 0), 10);
  EXPECT_EQ(std::string(buf, 10), "0123456789") << "POSIX: the open file is the old one";
  ::close(fd);
  EXPECT_EQ(readAll(m("f")), "abcdefghij") << "a new open sees the new file";
}

// Issue 13, defect 1: open, write, unlink, then the fd goes on working until close.
TEST_F(FuseFrontendTest, AnUnlinkedOpenFileStaysUsableThroughItsFd) {
  mount();
  const int fd = ::open(m("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "hello", 5), 5);
  ASSERT_EQ(::unlink(m("f").c_str()), 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 5);
  char buf[16] = {};
  ASSERT_EQ(::pread(fd, buf, sizeof buf, 0), 5) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(::pwrite(fd, " world", 6, 5), 6) << std::strerror(errno);
  ASSERT_EQ(::pread(fd, buf, sizeof buf, 0), 11) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, 11), "hello world");
  ASSERT_EQ(::ftruncate(fd, 4), 0) << std::strerror(errno);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(::fsync(fd), 0) << std::strerror(errno);
  EXPECT_NE(::access(m("f").c_str(), F_OK), 0);
  EXPECT_EQ(vault_->stat(P("/f")).code(), Errc::not_found);
  EXPECT_EQ(::close(fd), 0);
}

TEST_F(FuseFrontendTest, ARenameOverAnOpenFileLeavesTheOldFdTheOldContent) {
  mount();
  writeAll(m("f"), "old content");
  const int old_fd = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  writeAll(m("new"), "new content!");
  ASSERT_EQ(::rename(m("new").c_str(), m("f").c_str()), 0) << std::strerror(errno);
  char buf[32] = {};
  ASSERT_EQ(::pread(old_fd, buf, sizeof buf, 0), 11) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, 11), "old content");
  struct stat st {};
  ASSERT_EQ(::fstat(old_fd, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(readAll(m("f")), "new content!");
  ::close(old_fd);
}

TEST_F(FuseFrontendTest, OpeningBeyondTheVaultsBoundIsEmfile) {
  vault_ = std::make_unique<LocalVault>(*storage_, *cache_, 2);
  mount();
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  const int a = ::open(m("f").c_str(), O_RDONLY);
  const int b = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  errno = 0;
  EXPECT_EQ(::open(m("f").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EMFILE);
  ::close(a);
  ::close(b);
}

TEST_F(FuseFrontendTest, ARevokedRuleStillStopsAnOpenFileAfterItsNameIsGone) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  mount();
  const int fd = asUid(kWriterUid, [&] { return ::open(m("f").c_str(), O_RDWR); });
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(asUid(kWriterUid, [&] { return errOf(::unlink(m("f").c_str())); }), 0);
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(static_cast<int>(::pwrite(fd, "D", 1, 0))); }), 0);
  // The writer's only rule goes: the name the file was opened under decides, as it has no other.
  auto admin = auth_->principalForUid(kAdminUid);
  ASSERT_TRUE(admin.ok());
  const Rule writer_rule{
      Rule::Subject::user, "writer", VaultPath::root(),
      static_cast<AccessMask>(mask(Access::read) | mask(Access::list) | mask(Access::write)),
      Rule::Effect::allow};
  ASSERT_TRUE(auth_->revoke(*admin, writer_rule).ok());
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(static_cast<int>(::pwrite(fd, "X", 1, 0))); }),
            EACCES);
  char buf[8] = {};
  ASSERT_EQ(::pread(fd, buf, sizeof buf, 0), 4);  // root (admin) still may
  EXPECT_EQ(std::string(buf, 4), "Data");
  ::close(fd);
}

TEST_F(FuseFrontendTest, StopReleasesTheHandlesOfFilesStillOpen) {
  ASSERT_TRUE(vault_->put(P("/f"), "abc").ok());
  mount();
  const int fd = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vault_->openHandles(), 1u);
  frontend_->stop();  // the mount is busy: aborted, and the kernel never sends RELEASE
  EXPECT_EQ(vault_->openHandles(), 0u);
  ::close(fd);
}

// The kernel sends no RELEASEDIR for a directory still open when the connection ends either; what
// opendir allocated is freed at stop (under ASan, a leak here fails the test binary at exit).
TEST_F(FuseFrontendTest, StopFreesTheDirectoriesStillOpen) {
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  mount();
  const int fd = ::open(m("d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  frontend_->stop();
  ::close(fd);
}

TEST_F(FuseFrontendTest, AReadOnlyUserReadsButEveryWriteIsDenied) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  ASSERT_TRUE(vault_->mkdir(P("/d"), 0755).ok());
  mount();
  asUid(kReaderUid, [&] {
    EXPECT_EQ(readAll(m("f")), "data");
    EXPECT_EQ(listNames(mnt_), (std::set<std::string>{".", "..", "f", "d"}));
    EXPECT_EQ(versionXattr(m("f")), std::to_string(vault_->stat(P("/f"))->version));
    EXPECT_EQ(writeFile(m("f"), "x", O_WRONLY), EACCES);
    EXPECT_EQ(writeFile(m("f"), "x", O_RDWR), EACCES);
    EXPECT_EQ(writeFile(m("new"), "x", O_WRONLY | O_CREAT), EACCES);
    EXPECT_EQ(errOf(::truncate(m("f").c_str(), 0)), EACCES);
    EXPECT_EQ(errOf(::mkdir(m("d2").c_str(), 0755)), EACCES);
    EXPECT_EQ(errOf(::unlink(m("f").c_str())), EACCES);
    EXPECT_EQ(errOf(::rmdir(m("d").c_str())), EACCES);
    EXPECT_EQ(errOf(::rename(m("f").c_str(), m("g").c_str())), EACCES);
    // access(2) checks with the real uid; AT_EACCESS makes it use the filesystem uid.
    EXPECT_EQ(errOf(::faccessat(AT_FDCWD, m("f").c_str(), W_OK, AT_EACCESS)), EACCES);
    EXPECT_EQ(errOf(::faccessat(AT_FDCWD, m("f").c_str(), R_OK, AT_EACCESS)), 0);
    return 0;
  });
  EXPECT_EQ(vault_->read(P("/f"), 0, 100)->data, "data");
  EXPECT_EQ(vault_->stat(P("/new")).code(), Errc::not_found);
  EXPECT_EQ(vault_->stat(P("/d2")).code(), Errc::not_found);
}

TEST_F(FuseFrontendTest, AnUnmappedUidIsDeniedEverything) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  ASSERT_TRUE(vault_->put(P("/fresh"), "data").ok());
  mount();
  ASSERT_EQ(readAll(m("f")), "data");  // root's view, now in the kernel's caches
  asUid(kUnmappedUid, [&] {
    struct stat st {};
    // Not cached yet: the lookup reaches us and is refused.
    EXPECT_EQ(errOf(::stat(m("fresh").c_str(), &st)), EACCES);
    // Cached entries and attributes are the kernel's to serve (see fuse_frontend.h), but no
    // content, no listing and no change gets through.
    EXPECT_EQ(readAll(m("f")), "<open: Permission denied>");
    EXPECT_EQ(writeFile(m("f"), "x", O_WRONLY), EACCES);
    EXPECT_EQ(listNames(mnt_), (std::set<std::string>{"<opendir: Permission denied>"}));
    EXPECT_EQ(writeFile(m("new"), "x", O_WRONLY | O_CREAT), EACCES);
    EXPECT_EQ(errOf(::mkdir(m("d").c_str(), 0755)), EACCES);
    EXPECT_EQ(errOf(::unlink(m("f").c_str())), EACCES);
    EXPECT_EQ(versionXattr(m("f")), "<getxattr: Permission denied>");
    return 0;
  });
  EXPECT_EQ(vault_->read(P("/f"), 0, 100)->data, "data");
}

TEST_F(FuseFrontendTest, ASymlinkPlantedInTheBackingDirectoryExposesNothing) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  fs::create_directory_symlink("/etc", b("etc"));
  fs::create_symlink("/etc/passwd", b("passwd"));
  mount();
  struct stat st {};
  EXPECT_NE(errOf(::stat(m("etc").c_str(), &st)), 0);
  EXPECT_NE(errOf(::stat(m("etc/passwd").c_str(), &st)), 0);
  EXPECT_NE(readAll(m("passwd")).find("<open:"), std::string::npos);
  EXPECT_NE(writeFile(m("passwd"), "x", O_WRONLY), 0);
  EXPECT_EQ(listNames(mnt_), (std::set<std::string>{".", "..", "f"}));
  // ".." is resolved by the kernel before FUSE sees a name: it leaves the mount, not the vault.
  EXPECT_EQ(fs::canonical(m("..")), fs::canonical(dir_));
}

TEST_F(FuseFrontendTest, StopLeavesNoMountAndIsSafeTwice) {
  mount();
  ASSERT_TRUE(mountedAt(mnt_));
  frontend_->stop();
  EXPECT_FALSE(mountedAt(mnt_));
  EXPECT_FALSE(frontend_->running());
  frontend_->stop();
  EXPECT_FALSE(mountedAt(mnt_));
}

TEST_F(FuseFrontendTest, StopAbortsAMountThatIsStillInUse) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  mount();
  const int fd = ::open(m("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  frontend_->stop();
  EXPECT_FALSE(mountedAt(mnt_));
  char c;
  EXPECT_LT(::read(fd, &c, 1), 1);  // the connection is gone (or the data was cached)
  ::close(fd);
}

TEST_F(FuseFrontendTest, StartsAgainAfterStop) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  mount();
  frontend_->stop();
  ASSERT_TRUE(frontend_->start().ok());
  EXPECT_EQ(readAll(m("f")), "data");
  // And a second start is refused while running.
  EXPECT_EQ(frontend_->start().code(), Errc::conflict);
}

TEST_F(FuseFrontendTest, AStaleMountOfAKilledDaemonIsClearedByTheNextStart) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: mount, say so, and wait to be killed.
    ::close(ready[0]);
    FuseFrontend frontend(*vault_, *auth_, config_, clock_);
    const char ok = frontend.start().ok() ? '1' : '0';
    (void)!::write(ready[1], &ok, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char ok = '0';
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(ok, '1');
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);

  struct stat st {};
  ASSERT_EQ(errOf(::stat(mnt_.c_str(), &st)), ENOTCONN) << "the dead mount should be stale";
  mount();
  EXPECT_EQ(readAll(m("f")), "data");
  EXPECT_EQ(fuseMountsAt(frontend_->mountpoint()).size(), 1u);
}

TEST_F(FuseFrontendTest, AHungMountAtTheMountPointIsAbortedByTheNextStart) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  // Every stat in the child blocks forever: its mount answers nothing.
  hooked_->on_stat = [](const VaultPath&) {
    for (;;) ::pause();
  };
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    FuseFrontend frontend(*hooked_, *auth_, config_, clock_);
    const char ok = frontend.start().ok() ? '1' : '0';
    (void)!::write(ready[1], &ok, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char ok = '0';
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(ok, '1');

  mount();  // waits out the hung stat, aborts the hung mount, mounts its own
  EXPECT_EQ(readAll(m("f")), "data");
  EXPECT_EQ(fuseMountsAt(frontend_->mountpoint()).size(), 1u);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_F(FuseFrontendTest, AnUnmountFromOutsideEndsTheLoopAndStartMountsAgain) {
  ASSERT_TRUE(vault_->put(P("/f"), "data").ok());
  mount();
  ASSERT_EQ(::umount2(mnt_.c_str(), 0), 0);
  const auto deadline = std::chrono::steady_clock::now() + seams::testing::scaled(5s);
  while (frontend_->running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_FALSE(frontend_->running());  // what the watchdog sees
  ASSERT_TRUE(frontend_->start().ok());
  EXPECT_EQ(readAll(m("f")), "data");
}

TEST_F(FuseFrontendTest, ALiveMountAtTheMountPointIsNotTakenOver) {
  mount();
  FuseFrontend second(*vault_, *auth_, config_, clock_);
  EXPECT_EQ(second.start().code(), Errc::conflict);
  EXPECT_TRUE(frontend_->running());
}

TEST_F(FuseFrontendTest, AnExceptionInTheVaultBecomesEioAndTheMountKeepsServing) {
  ASSERT_TRUE(vault_->put(P("/ok"), "fine").ok());
  ASSERT_TRUE(vault_->put(P("/boom"), "never").ok());
  hooked_->on_stat = [](const VaultPath& p) {
    if (p.name() == "boom") throw std::runtime_error("injected");
  };
  mount(/*hooked=*/true);
  struct stat st {};
  EXPECT_EQ(errOf(::stat(m("boom").c_str(), &st)), EIO);
  EXPECT_EQ(readAll(m("ok")), "fine");
  EXPECT_GE(frontend_->health().handler_exceptions, 1u);
}

TEST_F(FuseFrontendTest, TheHeartbeatShowsARequestThatIsStuck) {
  ASSERT_TRUE(vault_->put(P("/slow"), "x").ok());
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  hooked_->on_stat = [&](const VaultPath& p) {
    if (p.name() != "slow") return;
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  mount(/*hooked=*/true);
  EXPECT_EQ(frontend_->health().oldest_request_start, std::nullopt);  // idle is healthy

  std::thread caller([&] {
    struct stat st {};
    ::stat(m("slow").c_str(), &st);
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  const auto during = frontend_->health();
  EXPECT_EQ(during.in_flight, 1u);
  ASSERT_TRUE(during.oldest_request_start.has_value());
  EXPECT_LE(*during.oldest_request_start, clock_.now());
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  caller.join();
  // The handler leaves the tracker just after its reply woke the caller: poll, with a bound.
  const auto deadline = std::chrono::steady_clock::now() + seams::testing::scaled(5s);
  while (frontend_->health().in_flight != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(frontend_->health().in_flight, 0u);
  EXPECT_EQ(frontend_->health().oldest_request_start, std::nullopt);
}

// A change behind the mount racing a FUSE write of the same file: the vault calls its listeners
// holding the file's lock while the kernel holds the file's pages for the FUSE write, whose handler
// waits for that lock. Both sides must finish (kernel_notifier.h).
TEST_F(FuseFrontendTest, ConcurrentWritesFromBothSidesDoNotDeadlock) {
  ASSERT_TRUE(vault_->put(P("/shared"), std::string(8192, 'a')).ok());
  mount();
  constexpr int kRounds = 500;
  std::atomic<bool> failed{false};
  std::atomic<bool> opened{false};
  std::atomic<bool> finished{false};
  std::thread through([&] {
    const int fd = ::open(m("shared").c_str(), O_RDWR);
    opened = true;
    if (fd < 0) {
      failed = true;
      finished = true;
      return;
    }
    const std::string block(4096, 'c');
    char buf[4096];
    for (int i = 0; i < kRounds; ++i) {
      if (::pwrite(fd, block.data(), block.size(), 0) != 4096) failed = true;
      if (::pread(fd, buf, sizeof buf, 0) < 0) failed = true;
    }
    ::close(fd);
    finished = true;
  });
  std::thread behind([&] {
    while (!opened) std::this_thread::yield();
    // As long as the other side writes (bounded, should it never finish).
    for (int i = 0; i < 1'000'000 && !finished; ++i) {
      if (!vault_->write(P("/shared"), 0, std::string(4096, 'b')).ok()) failed = true;
    }
  });
  behind.join();
  through.join();
  EXPECT_FALSE(failed);
  // Quiet again: a final change behind the mount is visible.
  ASSERT_TRUE(vault_->put(P("/shared"), "end").ok());
  EXPECT_EQ(readAll(m("shared")), "end");
}

// The same for names: a creation behind the mount invalidates the directory entry (the kernel
// locks the directory) while a FUSE create or unlink of that name, holding the directory, waits
// in our handler for the name's lock in the vault.
TEST_F(FuseFrontendTest, ConcurrentCreatesAndUnlinksFromBothSidesDoNotDeadlock) {
  mount();
  constexpr int kRounds = 100;
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::thread through([&] {
    started = true;
    for (int i = 0; i < kRounds; ++i) {
      const int fd = ::open(m("n").c_str(), O_WRONLY | O_CREAT, 0644);
      if (fd >= 0) ::close(fd);
      ::unlink(m("n").c_str());
    }
    finished = true;
  });
  std::thread behind([&] {
    while (!started) std::this_thread::yield();
    for (int i = 0; i < 1'000'000 && !finished; ++i) {
      (void)vault_->put(P("/n"), "v");
      (void)vault_->unlink(P("/n"));
    }
  });
  behind.join();
  through.join();
  // Quiet again: the last word behind the mount is what the mount shows.
  ASSERT_TRUE(vault_->put(P("/n"), "last").ok());
  EXPECT_EQ(readAll(m("n")), "last");
}

TEST_F(FuseFrontendTest, TwoMountsOfOneVaultSeeEachOthersChanges) {
  ASSERT_TRUE(vault_->put(P("/f"), "one").ok());
  mount();
  const std::string mnt2 = dir_ + "/mnt2";
  fs::create_directory(mnt2);
  FuseConfig second_config = config_;
  second_config.mountpoint = mnt2;
  FuseFrontend second(*vault_, *auth_, second_config, clock_);
  ASSERT_TRUE(second.start().ok());
  EXPECT_EQ(readAll(mnt2 + "/f"), "one");
  EXPECT_EQ(readAll(m("f")), "one");
  ASSERT_EQ(writeFile(m("f"), "two"), 0);  // through the first mount
  EXPECT_EQ(readAll(mnt2 + "/f"), "two");  // seen through the second
  second.stop();
  EXPECT_FALSE(mountedAt(mnt2));
}

}  // namespace
}  // namespace seams

namespace seams {
namespace {

// ---- issue 13: a real filesystem on the mount (plain syscalls, never through Vault) ----------

std::uint32_t permOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

TEST_F(FuseFrontendTest, ChmodStoresThePermissionBitsAndStatReturnsThem) {
  mount();
  const int fd = ::open(m("f").c_str(), O_CREAT | O_WRONLY, 0640);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(permOf(m("f")), 0640u) << "create keeps the bits asked for";
  ASSERT_EQ(errOf(::chmod(m("f").c_str(), 0000)), 0);
  EXPECT_EQ(permOf(m("f")), 0000u) << "0000 is not shown as 0644";
  ASSERT_EQ(errOf(::chmod(m("f").c_str(), 04751)), 0);
  EXPECT_EQ(permOf(m("f")), 04751u);
  ASSERT_EQ(errOf(::mkdir(m("d").c_str(), 0750)), 0);
  EXPECT_EQ(permOf(m("d")), 0750u);
  ASSERT_EQ(errOf(::chmod(m("d").c_str(), 0000)), 0);
  EXPECT_EQ(permOf(m("d")), 0000u) << "directories are not shown as 0755";
  // The root still reads a 0000 directory: the vault's rules decide access, not the bits.
  EXPECT_EQ(errOf(::chmod(m("d").c_str(), 0711)), 0);
  EXPECT_EQ(listNames(m("d")).size(), 2u);
  // The backing directory stays private whatever the presented bits say.
  EXPECT_EQ(permOf(b("f")), 0600u);
  EXPECT_EQ(permOf(b("d")), 0700u);
  // A chmod is a change: a new version, seen by another reader of the vault.
  EXPECT_EQ(vault_->stat(P("/f"))->mode, 04751u);
}

TEST_F(FuseFrontendTest, ChmodNeedsWriteAccessOnThePath) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  mount();
  EXPECT_EQ(asUid(kReaderUid, [&] { return errOf(::chmod(m("f").c_str(), 0600)); }), EACCES);
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(::chmod(m("f").c_str(), 0604)); }), 0);
  EXPECT_EQ(permOf(m("f")), 0604u);
}

TEST_F(FuseFrontendTest, ChownByRootIsStoredAndByAnyoneElseOnlyAsANoOp) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  mount();
  struct stat st {};
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  const uid_t shown_uid = st.st_uid;
  const gid_t shown_gid = st.st_gid;
  // Not root: chown to what is shown succeeds (cp -a, tar), anything else is EPERM.
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(::chown(m("f").c_str(), shown_uid, shown_gid)); }),
            0);
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(::chown(m("f").c_str(), kWriterUid, -1)); }),
            EPERM);
  EXPECT_EQ(asUid(kWriterUid, [&] { return errOf(::chown(m("f").c_str(), -1, 77)); }), EPERM);
  EXPECT_EQ(asUid(kReaderUid, [&] { return errOf(::chown(m("f").c_str(), shown_uid, -1)); }),
            EACCES);
  // Root: stored and shown; the backing file keeps its owner.
  ASSERT_EQ(errOf(::chown(m("f").c_str(), 1234, 55)), 0);
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 55u);
  ASSERT_EQ(errOf(::lchown(m("f").c_str(), -1, 66)), 0);
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u) << "a group change keeps the owner";
  EXPECT_EQ(st.st_gid, 66u);
  ASSERT_EQ(::stat(b("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
  // A whole-file replace (HTTP PUT) keeps the stored mode and owner.
  ASSERT_EQ(errOf(::chmod(m("f").c_str(), 0640)), 0);
  ASSERT_TRUE(vault_->put(P("/f"), "replaced").ok());
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
}

TEST_F(FuseFrontendTest, UtimensatAndFutimensStoreTheTimesAndStatReturnsThem) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  mount();
  struct timespec ts[2] = {{978307200, 5}, {978393600, 123456789}};  // 2001-01-01, 2001-01-02
  ASSERT_EQ(errOf(::utimensat(AT_FDCWD, m("f").c_str(), ts, 0)), 0);
  struct stat st {};
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 978307200);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 978393600);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  // Only mtime: atime stays.
  struct timespec only_m[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
  ASSERT_EQ(errOf(::utimensat(AT_FDCWD, m("f").c_str(), only_m, 0)), 0);
  ASSERT_EQ(::stat(m("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 978307200);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  // futimens on an open file, and "now".
  const int fd = ::open(m("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct timespec later[2] = {{1100000000, 0}, {1200000000, 0}};
  EXPECT_EQ(errOf(::futimens(fd, later)), 0);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  const time_t before = ::time(nullptr);
  EXPECT_EQ(errOf(::futimens(fd, nullptr)), 0);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_GE(st.st_mtim.tv_sec, before);
  ::close(fd);
  // A directory's times too.
  ASSERT_EQ(errOf(::mkdir(m("d").c_str(), 0755)), 0);
  ASSERT_EQ(errOf(::utimensat(AT_FDCWD, m("d").c_str(), ts, 0)), 0);
  ASSERT_EQ(::stat(m("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 978393600);
  EXPECT_EQ(asUid(kReaderUid, [&] { return errOf(::utimensat(AT_FDCWD, m("f").c_str(), ts, 0)); }),
            EACCES);
}

TEST_F(FuseFrontendTest, ADirectoryLinkCountIsTwoPlusItsSubdirectories) {
  mount();
  ASSERT_EQ(errOf(::mkdir(m("d").c_str(), 0755)), 0);
  struct stat st {};
  ASSERT_EQ(::stat(m("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(errOf(::mkdir(m("d/a").c_str(), 0755)), 0);
  ASSERT_EQ(errOf(::mkdir(m("d/b").c_str(), 0755)), 0);
  ASSERT_EQ(writeFile(m("d/file"), "x", O_CREAT | O_WRONLY), 0);
  ASSERT_EQ(::stat(m("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 4u) << "2 subdirectories; a file does not count";
  ASSERT_EQ(errOf(::rmdir(m("d/a").c_str())), 0);
  ASSERT_EQ(::stat(m("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 3u);
  ASSERT_EQ(::stat(m("d/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  // The root: its one subdirectory, not the hidden .seams beside it.
  ASSERT_EQ(::stat(mnt_.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 3u);
}

TEST_F(FuseFrontendTest, PathMaxLimitsEachSyscallsPathNotTheWholeVaultPath) {
  mount();
  const std::string name(200, 'n');
  // 30 levels of 200-byte names: the vault path passes 4096 bytes at depth 21.
  int dir = ::open(mnt_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  for (int depth = 1; depth <= 30; ++depth) {
    ASSERT_EQ(errOf(::mkdirat(dir, name.c_str(), 0755)), 0) << "at depth " << depth;
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0) << "at depth " << depth << ": " << std::strerror(errno);
    ::close(dir);
    dir = next;
  }
  const int leaf = ::openat(dir, "leaf", O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(leaf, 0) << std::strerror(errno);
  ::close(leaf);
  // From that deep directory, a relative path of exactly 4095 bytes (PATH_MAX less the NUL).
  std::string rel;
  const std::string sub(200, 's');
  int at = ::dup(dir);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(errOf(::mkdirat(at, sub.c_str(), 0755)), 0);
    const int next = ::openat(at, sub.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    ::close(at);
    at = next;
    rel += sub + "/";
  }
  ::close(at);
  rel += std::string(4095 - rel.size(), 'f');
  ASSERT_EQ(rel.size(), 4095u);
  const int fd = ::openat(dir, rel.c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  if (fd >= 0) {
    EXPECT_EQ(::write(fd, "x", 1), 1);
    ::close(fd);
  }
  struct stat st {};
  EXPECT_EQ(errOf(::fstatat(dir, rel.c_str(), &st, 0)), 0);
  EXPECT_EQ(st.st_size, 1);
  // One byte more is the kernel's ENAMETOOLONG for that argument, not ours.
  EXPECT_EQ(errOf(::fstatat(dir, (rel + "x").c_str(), &st, 0)), ENAMETOOLONG);
  // getcwd past PATH_MAX walks up through "..", matching each directory's d_ino with its st_ino.
  std::string expected = mnt_;
  for (int depth = 1; depth <= 30; ++depth) expected += "/" + name;
  ASSERT_EQ(::fchdir(dir), 0);
  char* cwd = ::getcwd(nullptr, 0);
  const int cwd_err = cwd == nullptr ? errno : 0;
  ASSERT_EQ(::chdir("/"), 0);
  EXPECT_EQ(cwd_err, 0) << std::strerror(cwd_err);
  if (cwd != nullptr) {
    EXPECT_EQ(std::string(cwd), expected);
  }
  std::free(cwd);
  ::close(dir);
}

TEST_F(FuseFrontendTest, UnsupportedOperationsStillFailCleanly) {
  ASSERT_TRUE(vault_->put(P("/f"), "x").ok());
  mount();
  const auto refused = [](int err) { return err == ENOSYS || err == EPERM; };
  EXPECT_PRED1(refused, errOf(::symlink("f", m("sl").c_str())));
  EXPECT_PRED1(refused, errOf(::mkfifo(m("fifo").c_str(), 0644)));
  EXPECT_PRED1(refused, errOf(::mknod(m("node").c_str(), S_IFCHR | 0644, makedev(1, 3))));
  EXPECT_PRED1(refused, errOf(::link(m("f").c_str(), m("hard").c_str())));
  for (const char* n : {"sl", "fifo", "node", "hard"}) {
    struct stat st {};
    EXPECT_EQ(errOf(::lstat(m(n).c_str(), &st)), ENOENT) << n << " must not exist";
  }
}

}  // namespace
}  // namespace seams

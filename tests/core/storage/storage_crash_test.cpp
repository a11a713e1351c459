// Storage under process death and a full disk: acknowledged puts survive kill -9, nothing torn is
// ever visible, and a failed put loses nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/storage/storage.h"
#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

std::string contentA() {
  return std::string(256 << 10, 'a');
}
std::string contentB() {
  return std::string((384 << 10) + 3, 'b');
}

// The child: puts A and B alternately forever, reporting each acknowledged version on `ack_fd`.
[[noreturn]] void putForever(const std::string& root, int ack_fd) {
  auto storage = Storage::open(root);
  if (!storage.ok()) ::_exit(2);
  const std::string a = contentA();
  const std::string b = contentB();
  for (std::uint64_t i = 0;; ++i) {
    auto r = (*storage)->put(P("/f"), i % 2 ? a : b);
    if (!r.ok()) ::_exit(3);
    std::uint64_t v = r->version;
    if (::write(ack_fd, &v, sizeof(v)) != static_cast<ssize_t>(sizeof(v))) ::_exit(4);
  }
}

TEST(StorageCrashTest, AcknowledgedPutsSurviveKill9AndNothingTornIsVisible) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    putForever(dir.str(), fds[1]);
  }
  ::close(fds[1]);
  // Let a few puts be acknowledged, then kill the owner in the middle of the next ones.
  std::uint64_t last_acked = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(::read(fds[0], &last_acked, sizeof(last_acked)),
              static_cast<ssize_t>(sizeof(last_acked)));
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  // Acks already in the pipe were acknowledged before the kill, too.
  std::uint64_t v = 0;
  while (::read(fds[0], &v, sizeof(v)) == static_cast<ssize_t>(sizeof(v))) last_acked = v;
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto storage = Storage::open(dir.str());
  ASSERT_TRUE(storage.ok()) << "the dead owner's lock is gone: " << storage.status().toString();
  EXPECT_TRUE(fs::is_empty(dir.path() / ".seams" / "tmp")) << "half-written temp files cleared";
  auto c = (*storage)->readAll(P("/f"), 1 << 20);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_TRUE(c->data == contentA() || c->data == contentB()) << "torn: " << c->data.size();
  EXPECT_GE(c->attr.version, last_acked) << "the last acknowledged put (or a later one) is there";
  auto next = (*storage)->put(P("/g"), "after restart");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->version, c->attr.version);
  EXPECT_GT(next->version, last_acked);
}

// A small tmpfs of our own, so "disk full" is real and harmless.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const fs::path& where) : where_(where) {
    fs::create_directories(where_);
    mounted_ = ::mount("tmpfs", where_.c_str(), "tmpfs", 0, "size=1m,mode=0755") == 0;
    error_ = errno;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  int error() const { return error_; }

 private:
  fs::path where_;
  bool mounted_ = false;
  int error_ = 0;
};

TEST(StorageDiskFullTest, AFailedPutKeepsTheOldContentAndLeavesNoTempFile) {
  TempDir dir;
  SmallFilesystem small(dir.path() / "mnt");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(small.error());
  auto storage = Storage::open((dir.path() / "mnt").string());
  ASSERT_TRUE(storage.ok()) << storage.status().toString();
  auto old = (*storage)->put(P("/f"), "precious");
  ASSERT_TRUE(old.ok()) << old.status().toString();

  auto r = (*storage)->put(P("/f"), std::string(2 << 20, 'x'));
  EXPECT_EQ(r.code(), Errc::no_space);
  auto c = (*storage)->readAll(P("/f"), 1 << 20);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data, "precious");
  EXPECT_EQ(c->attr.version, old->version);
  EXPECT_TRUE(fs::is_empty(dir.path() / "mnt" / ".seams" / "tmp"));
  EXPECT_TRUE((*storage)->put(P("/f"), "still works").ok()) << "the space came back";
}

}  // namespace
}  // namespace seams

#include "core/storage/version_counter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>

namespace seams {
namespace {

constexpr const char* kMarkFile = "version-mark";
constexpr const char* kMarkTmpFile = "version-mark.tmp";
constexpr const char* kMarkLockFile = "mark.lock";

Result<std::uint64_t> readMark(int state_dir_fd) {
  UniqueFd fd(::openat(state_dir_fd, kMarkFile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::uint64_t{0};
    return Status::fromErrno(errno, "open .seams/version-mark");
  }
  char buf[32];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0) return Status::fromErrno(errno, "read .seams/version-mark");
  std::size_t len = static_cast<std::size_t>(n);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) --len;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(buf, buf + len, v);
  if (ec != std::errc() || end != buf + len) {
    return Status(Errc::io_error, ".seams/version-mark is corrupt");
  }
  return v;
}

}  // namespace

Result<std::unique_ptr<VersionCounter>> VersionCounter::open(int state_dir_fd,
                                                             std::string_view root) {
  UniqueFd mark_lock_fd(
      ::openat(state_dir_fd, kMarkLockFile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!mark_lock_fd.valid()) {
    return Status::fromErrno(errno, "open .seams/mark.lock in " + std::string(root));
  }
  auto mark = readMark(state_dir_fd);
  if (!mark.ok()) return mark.status();
  return std::unique_ptr<VersionCounter>(
      new VersionCounter(state_dir_fd, std::move(mark_lock_fd), *mark));
}

VersionCounter::VersionCounter(int state_dir_fd, UniqueFd mark_lock_fd, std::uint64_t mark)
    : state_dir_fd_(state_dir_fd),
      mark_lock_fd_(std::move(mark_lock_fd)),
      next_(mark + 1),
      block_lo_(mark),
      block_hi_(mark) {}

Status VersionCounter::persistMark(std::uint64_t mark) {
  // Written beside and renamed over, so a crash leaves the old mark or the new one, never half.
  UniqueFd fd(::openat(state_dir_fd_, kMarkTmpFile,
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status::fromErrno(errno, "open .seams/version-mark.tmp");
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf) - 1, mark);
  (void)ec;
  *end++ = '\n';
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  while (!text.empty()) {
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::fromErrno(errno, "write .seams/version-mark.tmp");
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return Status::fromErrno(errno, "fsync .seams/version-mark.tmp");
  if (::renameat(state_dir_fd_, kMarkTmpFile, state_dir_fd_, kMarkFile) != 0) {
    return Status::fromErrno(errno, "rename .seams/version-mark");
  }
  if (::fsync(state_dir_fd_) != 0) return Status::fromErrno(errno, "fsync .seams");
  return Status();
}

Result<std::uint64_t> VersionCounter::next() {
  for (;;) {
    std::uint64_t v = next_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t hi = block_hi_.load(std::memory_order_acquire);
    if (v > block_lo_.load(std::memory_order_relaxed) && v <= hi) return v;
    MutexLock lock(mark_mutex_);
    if (v <= block_lo_.load(std::memory_order_relaxed)) continue;  // from a block left behind
    if (v > block_hi_.load(std::memory_order_relaxed)) SEAMS_RETURN_IF_ERROR(reserveBlock(v));
    if (v > block_lo_.load(std::memory_order_relaxed) &&
        v <= block_hi_.load(std::memory_order_relaxed)) {
      return v;
    }
    // Another object on this root reserved past v meanwhile; v is theirs. Take the next one.
  }
}

Status VersionCounter::reserveBlock(std::uint64_t at_least) {
  // The flock orders reservations between objects on this root (in any process); the mark on
  // disk is the truth about what has been handed out.
  while (::flock(mark_lock_fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Status::fromErrno(errno, "lock .seams/mark.lock");
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::flock(fd, LOCK_UN); }
  } unlock{mark_lock_fd_.get()};
  auto on_disk = readMark(state_dir_fd_);
  if (!on_disk.ok()) return on_disk.status();
  std::uint64_t lo = std::max(*on_disk, block_hi_.load(std::memory_order_relaxed));
  std::uint64_t hi = std::max(lo, at_least) + kBlock;
  SEAMS_RETURN_IF_ERROR(persistMark(hi));
  std::uint64_t next = next_.load(std::memory_order_relaxed);
  while (next <= lo && !next_.compare_exchange_weak(next, lo + 1, std::memory_order_relaxed)) {
  }
  block_lo_.store(lo, std::memory_order_relaxed);
  block_hi_.store(hi, std::memory_order_release);
  return Status();
}

Result<std::uint64_t> VersionCounter::above(std::uint64_t current) {
  auto v = next();
  if (!v.ok() || *v > current) return v;
  // The entry carries a version from beyond this counter: move the counter past it so the
  // entry's version grows.
  std::uint64_t seen = next_.load(std::memory_order_relaxed);
  while (seen <= current &&
         !next_.compare_exchange_weak(seen, current + 1, std::memory_order_relaxed)) {
  }
  return next();
}

}  // namespace seams

#include "core/storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>

namespace seams {
namespace {

constexpr std::string_view kStateDir = ".seams";
constexpr std::string_view kTmpDir = "tmp";
constexpr const char* kXattr = "user.seams.version";
constexpr std::uint32_t kDefaultFileMode = 0600;
// Presented attributes (see Storage: "Presented attributes"). Kept on the backing inode, so they
// move with rename and vanish with unlink like the version does.
constexpr const char* kModeXattr = "user.seams.mode";    // decimal permission bits
constexpr const char* kOwnerXattr = "user.seams.owner";  // "uid:gid", decimal
// The longest relative path handed to one openat2 (PATH_MAX includes the NUL).
constexpr std::size_t kMaxSyscallPath = PATH_MAX - 1;

// The backing directory is private to the daemon's user: the vault's own permission model decides
// who reads what, so no group or other bit is ever set. A file keeps its owner's x bit if asked.
std::uint32_t privateFileMode(std::uint32_t requested) {
  return (requested & 0100) | 0600;
}
constexpr std::uint32_t kPrivateDirMode = 0700;

// Every final component is opened O_NONBLOCK so a fifo planted in the backing directory cannot
// hang a thread in open(); the type is checked right after.
constexpr int kOpenBase = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

std::string ctx(std::string_view what, const VaultPath& path) {
  std::string s(what);
  s += ' ';
  s += path.str();
  return s;
}

Status errnoStatus(std::string_view what, const VaultPath& path) {
  int err = errno;
  return Status::fromErrno(err, ctx(what, path));
}

int sysOpenat2(int dirfd, const char* path, int flags, std::uint32_t mode) {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
  int fd = -1;
  // EAGAIN: a rename raced with the lookup and the kernel could not prove it stayed beneath the
  // root. Retried a bounded number of times; a storm of renames then surfaces as an error.
  for (int attempt = 0; attempt < 64; ++attempt) {
    fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
    if (fd >= 0 || (errno != EINTR && errno != EAGAIN)) break;
  }
  return fd;
}

Status writeAll(int fd, std::string_view data, std::uint64_t offset, const VaultPath& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus("write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return Status();
}

// Reads up to out.size() bytes at offset; shrinks `out` at end of file.
Status readAt(int fd, std::string& out, std::uint64_t offset, const VaultPath& path) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus("read", path);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return Status();
}

Status fsyncFd(int fd, std::string_view what, const VaultPath& path) {
  if (::fsync(fd) != 0) return errnoStatus(what, path);
  return Status();
}

// The version stored on fd, or 0 when it has none (or an unreadable one).
Result<std::uint64_t> readXattr(int fd) {
  char buf[32];
  ssize_t n = ::fgetxattr(fd, kXattr, buf, sizeof(buf));
  if (n < 0) {
    if (errno == ENODATA || errno == ERANGE) return std::uint64_t{0};
    return Status::fromErrno(errno, "read version xattr");
  }
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, v);
  if (ec != std::errc() || end != buf + n) return std::uint64_t{0};
  return v;
}

// flags: 0 (set or replace) or XATTR_CREATE.
int writeXattr(int fd, std::uint64_t v, int flags) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  return ::fsetxattr(fd, kXattr, buf, static_cast<std::size_t>(end - buf), flags);
}

// A small decimal xattr, or nullopt when the entry has none (or an unreadable one).
std::optional<std::string> readSmallXattr(int fd, const char* name) {
  char buf[64];
  ssize_t n = ::fgetxattr(fd, name, buf, sizeof(buf));
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::uint32_t> readModeXattr(int fd) {
  auto text = readSmallXattr(fd, kModeXattr);
  if (!text) return std::nullopt;
  std::uint32_t m = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), m);
  if (ec != std::errc() || end != text->data() + text->size() || m > 07777) return std::nullopt;
  return m;
}

int writeModeXattr(int fd, std::uint32_t mode) {
  std::string v = std::to_string(mode & 07777);
  return ::fsetxattr(fd, kModeXattr, v.data(), v.size(), 0);
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> readOwnerXattr(int fd) {
  auto text = readSmallXattr(fd, kOwnerXattr);
  if (!text) return std::nullopt;
  std::size_t colon = text->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  const char* b = text->data();
  auto [e1, c1] = std::from_chars(b, b + colon, uid);
  auto [e2, c2] = std::from_chars(b + colon + 1, b + text->size(), gid);
  if (c1 != std::errc() || e1 != b + colon || c2 != std::errc() || e2 != b + text->size()) {
    return std::nullopt;
  }
  return std::make_pair(uid, gid);
}

int writeOwnerXattr(int fd, std::uint32_t uid, std::uint32_t gid) {
  std::string v = std::to_string(uid) + ":" + std::to_string(gid);
  return ::fsetxattr(fd, kOwnerXattr, v.data(), v.size(), 0);
}

// Carries the presented mode and owner from a replaced inode to its successor (put()).
Status copyPresentedXattrs(int from, int to, const VaultPath& path) {
  for (const char* name : {kModeXattr, kOwnerXattr}) {
    auto v = readSmallXattr(from, name);
    if (v && ::fsetxattr(to, name, v->data(), v->size(), 0) != 0) {
      return errnoStatus("copy attributes to", path);
    }
  }
  return Status();
}

std::int64_t nsOf(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

struct timespec timespecOf(std::int64_t ns) {
  struct timespec t {};
  t.tv_sec = static_cast<time_t>(ns / 1000000000LL);
  t.tv_nsec = static_cast<long>(ns % 1000000000LL);
  if (t.tv_nsec < 0) {  // before the epoch: tv_nsec must stay in [0, 1e9)
    t.tv_nsec += 1000000000L;
    t.tv_sec -= 1;
  }
  return t;
}

// Locks a few stripes exclusively, in index order, without duplicates.
class StripeGuard {
 public:
  template <std::size_t N>
  StripeGuard(std::array<std::shared_mutex, N>& stripes, std::initializer_list<std::size_t> idx) {
    for (std::size_t i : idx) {
      if (std::find(held_, held_ + count_, &stripes[i]) == held_ + count_)
        held_[count_++] = &stripes[i];
    }
    std::sort(held_, held_ + count_);  // address order == index order within one array
    for (std::size_t i = 0; i < count_; ++i) held_[i]->lock();
  }
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;
  ~StripeGuard() {
    for (std::size_t i = count_; i > 0; --i) held_[i - 1]->unlock();
  }

 private:
  std::shared_mutex* held_[4] = {};
  std::size_t count_ = 0;
};

// invalid_argument unless fd is a regular file: write() must never feed a planted fifo or device.
Status requireRegular(int fd, const VaultPath& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errnoStatus("fstat", path);
  if (S_ISDIR(st.st_mode)) return Status(Errc::is_a_directory, ctx("write", path));
  if (!S_ISREG(st.st_mode)) return Status(Errc::invalid_argument, ctx("not a regular file:", path));
  return Status();
}

// A leaf name as a NUL-terminated string for the *at() calls.
std::string leafOf(const VaultPath& path) {
  return std::string(path.name());
}

Result<UniqueFd> openOrMakeDir(int dirfd, const char* name, std::string_view what) {
  if (::mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST) {
    return Status::fromErrno(errno, std::string("mkdir ") + std::string(what));
  }
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Status::fromErrno(errno, std::string("open ") + std::string(what));
  return fd;
}

// Removes every temp file an interrupted put() left behind.
void clearTmp(int tmp_fd) {
  UniqueFd dup_fd(::fcntl(tmp_fd, F_DUPFD_CLOEXEC, 0));
  if (!dup_fd.valid()) return;
  DIR* dir = ::fdopendir(dup_fd.get());
  if (dir == nullptr) return;
  dup_fd.release();
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  for (const std::string& n : names) ::unlinkat(tmp_fd, n.c_str(), 0);
}

}  // namespace

Result<std::unique_ptr<Storage>> Storage::open(const std::string& root) {
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return Status::fromErrno(errno, "open vault root " + root);
  auto state = openOrMakeDir(root_fd.get(), std::string(kStateDir).c_str(), ".seams");
  if (!state.ok()) return state.status();
  auto tmp = openOrMakeDir(state->get(), std::string(kTmpDir).c_str(), ".seams/tmp");
  if (!tmp.ok()) return tmp.status();
  UniqueFd lock_fd(::openat(state->get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock_fd.valid()) return Status::fromErrno(errno, "open .seams/lock in " + root);
  bool owner = ::flock(lock_fd.get(), LOCK_EX | LOCK_NB) == 0;
  if (owner) {
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_fd.get(), 0) != 0 ||
        ::pwrite(lock_fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return Status::fromErrno(errno, "write .seams/lock in " + root);
    }
  } else {
    if (errno != EWOULDBLOCK) return Status::fromErrno(errno, "lock .seams/lock in " + root);
    char buf[32] = {};
    ssize_t n = ::pread(lock_fd.get(), buf, sizeof(buf) - 1, 0);
    long holder = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
    if (holder != static_cast<long>(::getpid())) {
      return Status(Errc::conflict, "vault " + root + " is in use by process " +
                                        std::to_string(holder) + " (.seams/lock)");
    }
    lock_fd.reset();  // the owning object in this process holds the lock
  }
  // Versions live in xattrs; find out now, not on the first stat, if the filesystem has none.
  char probe[32];
  if (::fgetxattr(state->get(), kXattr, probe, sizeof(probe)) < 0 &&
      (errno == ENOTSUP || errno == EOPNOTSUPP)) {
    return Status(Errc::not_supported,
                  "the filesystem under " + root + " has no user xattrs (needed for versions)");
  }
  // Only the owner clears temp files: another object's put could be in flight.
  if (owner) clearTmp(tmp->get());
  auto versions = VersionCounter::open(state->get(), root);
  if (!versions.ok()) return versions.status();
  return std::unique_ptr<Storage>(new Storage(root, std::move(root_fd), std::move(*tmp),
                                              std::move(*state), std::move(lock_fd),
                                              std::move(*versions)));
}

Storage::Storage(std::string root, UniqueFd root_fd, UniqueFd tmp_fd, UniqueFd state_fd,
                 UniqueFd lock_fd, std::unique_ptr<VersionCounter> versions)
    : root_(std::move(root)),
      root_fd_(std::move(root_fd)),
      tmp_fd_(std::move(tmp_fd)),
      state_fd_(std::move(state_fd)),
      lock_fd_(std::move(lock_fd)),
      versions_(std::move(versions)),
      tmp_prefix_("put-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::random_device{}()) + "-") {
  struct stat st {};
  if (::fstat(root_fd_.get(), &st) == 0) {
    root_dev_ = static_cast<std::uint64_t>(st.st_dev);
    root_ino_ = static_cast<std::uint64_t>(st.st_ino);
  }
}

Storage::~Storage() = default;

// ---- versions ---------------------------------------------------------------------------------

Result<std::uint64_t> Storage::bumpVersion(int fd) {
  auto current = readXattr(fd);
  if (!current.ok()) return current.status();
  auto v = versions_->above(*current);
  if (!v.ok()) return v;
  if (writeXattr(fd, *v, 0) != 0) return Status::fromErrno(errno, "set version xattr");
  remember(fd, *v, /*published=*/true);
  return v;
}

Result<std::uint64_t> Storage::versionOf(int fd) {
  auto current = readXattr(fd);
  if (!current.ok() || *current != 0) return current;
  // First sight of an entry made outside the vault. XATTR_CREATE settles a race between two
  // first readers: the loser reads the winner's version.
  auto v = versions_->next();
  if (!v.ok()) return v;
  if (writeXattr(fd, *v, XATTR_CREATE) == 0) {
    remember(fd, *v, /*published=*/false);
    return v;
  }
  if (errno != EEXIST) return Status::fromErrno(errno, "set version xattr");
  auto winner = readXattr(fd);
  if (!winner.ok() || *winner != 0) return winner;
  // The existing value is not a number (written by hand?): replace it.
  if (writeXattr(fd, *v, 0) != 0) return Status::fromErrno(errno, "set version xattr");
  remember(fd, *v, /*published=*/false);
  return v;
}

void Storage::remember(int fd, std::uint64_t version, bool published) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;  // unrecorded only costs an extra bump on refresh
  std::int64_t ctime =
      static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  MutexLock lock(recorded_mutex_);
  if (recorded_.size() >= kMaxRecorded) recorded_.clear();
  recorded_[st.st_ino] = Recorded{static_cast<std::uint64_t>(st.st_dev), ctime, version, published};
}

bool Storage::unchangedSinceRecorded(int fd, bool* known_unpublished) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  std::int64_t ctime =
      static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  MutexLock lock(recorded_mutex_);
  auto it = recorded_.find(st.st_ino);
  // Any change to an inode (data, size, mode, xattr, link count, rename) moves its ctime.
  if (it == recorded_.end() || it->second.dev != static_cast<std::uint64_t>(st.st_dev) ||
      it->second.ctime_ns != ctime) {
    return false;
  }
  if (!it->second.published) {
    if (known_unpublished != nullptr) *known_unpublished = true;
    return false;
  }
  return true;
}

Result<FileAttr> Storage::attrOf(int fd, struct ::stat* st_out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::fromErrno(errno, "fstat");
  if (st_out != nullptr) *st_out = st;
  FileAttr a;
  if (S_ISDIR(st.st_mode)) {
    a.type = FileType::directory;
  } else if (S_ISREG(st.st_mode)) {
    a.type = FileType::file;
  } else {
    return Status(Errc::invalid_argument, "not a regular file or directory");
  }
  auto v = versionOf(fd);
  if (!v.ok()) return v.status();
  a.size = a.type == FileType::file ? static_cast<std::uint64_t>(st.st_size) : 0;
  a.version = *v;
  a.mtime_ns = nsOf(st.st_mtim);
  a.atime_ns = nsOf(st.st_atim);
  a.ctime_ns = nsOf(st.st_ctim);
  a.mode = readModeXattr(fd).value_or(st.st_mode & 07777);
  a.inode = st.st_ino;
  if (auto owner = readOwnerXattr(fd)) {
    a.owner_set = true;
    a.uid = owner->first;
    a.gid = owner->second;
  }
  a.nlink = 1;
  if (a.type == FileType::directory) {
    // The backing directory's own count (2 + subdirectories) less the hidden `.seams` at the
    // root; a filesystem that does not count (btrfs says 1) still shows at least 2.
    std::uint64_t n = st.st_nlink;
    if (st.st_ino == root_ino_ && static_cast<std::uint64_t>(st.st_dev) == root_dev_ && n > 2) --n;
    a.nlink = static_cast<std::uint32_t>(std::max<std::uint64_t>(n, 2));
  }
  return a;
}

// ---- path resolution --------------------------------------------------------------------------

Result<UniqueFd> Storage::openBeneath(const VaultPath& path, int flags, std::uint32_t mode) const {
  std::string rel(path.relative());
  // A vault path may be longer than one syscall accepts (VaultPath::kMaxLength > PATH_MAX): walk
  // down in pieces of at most PATH_MAX - 1 bytes, each opened beneath the last, which is itself
  // beneath the root, with symlinks refused all the way.
  UniqueFd step;
  std::string_view rest = rel;
  while (rest.size() > kMaxSyscallPath) {
    std::size_t cut = rest.rfind('/', kMaxSyscallPath);
    if (cut == std::string_view::npos || cut == 0) {
      return Status(Errc::name_too_long, ctx("open", path));
    }
    std::string piece(rest.substr(0, cut));
    int dir = sysOpenat2(step.valid() ? step.get() : root_fd_.get(), piece.c_str(),
                         O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (dir < 0) return errnoStatus("open", path);
    step = UniqueFd(dir);
    rest.remove_prefix(cut + 1);
  }
  std::string last(rest);
  int fd =
      sysOpenat2(step.valid() ? step.get() : root_fd_.get(), last.c_str(), flags | kOpenBase, mode);
  if (fd < 0) return errnoStatus("open", path);
  return UniqueFd(fd);
}

Result<UniqueFd> Storage::openParent(const VaultPath& path) const {
  return openBeneath(path.parent(), O_RDONLY | O_DIRECTORY);
}

std::size_t Storage::stripeIndex(const VaultPath& path) const {
  return std::hash<VaultPath>{}(path) % kStripes;
}

std::shared_mutex& Storage::stripe(const VaultPath& path) {
  return stripes_[stripeIndex(path)];
}

// ---- reads ------------------------------------------------------------------------------------

Result<FileAttr> Storage::stat(const VaultPath& path) {
  std::shared_lock lock(stripe(path));
  auto fd = openBeneath(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  auto a = attrOf(fd->get());
  if (!a.ok()) return Status(a.code(), ctx("stat", path) + ": " + a.status().message());
  return a;
}

Result<std::vector<DirEntry>> Storage::list(const VaultPath& path) {
  auto fd = openBeneath(path, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  UniqueFd dup_fd(::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0));
  if (!dup_fd.valid()) return errnoStatus("dup", path);
  DIR* dir = ::fdopendir(dup_fd.get());
  if (dir == nullptr) return errnoStatus("opendir", path);
  dup_fd.release();
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (path.isRoot() && n == kStateDir) continue;
    if (e->d_type != DT_REG && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    if (!VaultPath::isValidName(n)) continue;  // made behind our back; no entry point can name it
    names.emplace_back(n);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Status::fromErrno(err, ctx("readdir", path));
  std::sort(names.begin(), names.end());

  std::vector<DirEntry> out;
  out.reserve(names.size());
  for (std::string& n : names) {
    struct stat st {};
    if (::fstatat(fd->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
    UniqueFd child(::openat(fd->get(), n.c_str(), O_RDONLY | O_NOFOLLOW | kOpenBase));
    if (!child.valid()) continue;  // vanished or swapped for a symlink since readdir
    auto a = attrOf(child.get());
    if (!a.ok()) {
      if (a.code() == Errc::invalid_argument) continue;
      return a.status();
    }
    out.push_back(DirEntry{std::move(n), *a});
  }
  return out;
}

Result<ReadResult> Storage::read(const VaultPath& path, std::uint64_t offset,
                                 std::uint64_t length) {
  std::shared_lock lock(stripe(path));
  auto fd = openBeneath(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  auto a = attrOf(fd->get());
  if (!a.ok()) return a.status();
  if (a->type == FileType::directory) return Status(Errc::is_a_directory, ctx("read", path));
  if (offset > a->size) {
    return Status(Errc::range_not_satisfiable, ctx("read past the end of", path));
  }
  ReadResult r;
  r.version = a->version;
  r.file_size = a->size;
  r.data.resize(static_cast<std::size_t>(std::min(length, a->size - offset)));
  SEAMS_RETURN_IF_ERROR(readAt(fd->get(), r.data, offset, path));
  return r;
}

Result<FileContent> Storage::readAll(const VaultPath& path, std::uint64_t max_bytes) {
  std::shared_lock lock(stripe(path));
  auto fd = openBeneath(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  auto a = attrOf(fd->get());
  if (!a.ok()) return a.status();
  if (a->type == FileType::directory) return Status(Errc::is_a_directory, ctx("read", path));
  if (a->size > max_bytes) return Status(Errc::too_large, ctx("read whole", path));
  FileContent c;
  c.attr = *a;
  c.data.resize(static_cast<std::size_t>(a->size));
  SEAMS_RETURN_IF_ERROR(readAt(fd->get(), c.data, 0, path));
  c.attr.size = c.data.size();  // shrunk behind our back between fstat and read
  return c;
}

// ---- in-place changes -------------------------------------------------------------------------

Result<FileAttr> Storage::write(const VaultPath& path, std::uint64_t offset,
                                std::string_view data) {
  // Opened under the lock: a put() between open and write would leave us writing (and
  // versioning) the replaced, already unlinked inode.
  StripeGuard guard(stripes_, {stripeIndex(path)});
  auto fd = openBeneath(path, O_WRONLY);
  if (!fd.ok()) return fd.status();
  SEAMS_RETURN_IF_ERROR(requireRegular(fd->get(), path));
  SEAMS_RETURN_IF_ERROR(writeAll(fd->get(), data, offset, path));
  auto v = bumpVersion(fd->get());
  if (!v.ok()) return v.status();
  return attrOf(fd->get());
}

Result<FileAttr> Storage::truncate(const VaultPath& path, std::uint64_t size) {
  StripeGuard guard(stripes_, {stripeIndex(path)});  // opened under it, as in write()
  auto fd = openBeneath(path, O_WRONLY);
  if (!fd.ok()) return fd.status();
  SEAMS_RETURN_IF_ERROR(requireRegular(fd->get(), path));
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) return errnoStatus("truncate", path);
  auto v = bumpVersion(fd->get());
  if (!v.ok()) return v.status();
  return attrOf(fd->get());
}

Result<FileAttr> Storage::setAttributes(const VaultPath& path, const AttrChange& change) {
  if ((change.what & ~std::uint32_t{AttrChange::kAll}) != 0) {
    return Status(Errc::invalid_argument, ctx("setattr: unknown attribute bits for", path));
  }
  if ((change.what & AttrChange::kMode) && change.mode > 07777) {
    return Status(Errc::invalid_argument, ctx("chmod: mode bits beyond 07777 for", path));
  }
  StripeGuard guard(stripes_, {stripeIndex(path)});  // opened under it, as in write()
  auto fd = openBeneath(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errnoStatus("fstat", path);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    return Status(Errc::invalid_argument, ctx("not a regular file or directory:", path));
  }
  if ((change.what & AttrChange::kMode) && writeModeXattr(fd->get(), change.mode) != 0) {
    return errnoStatus("chmod", path);
  }
  if (change.what & (AttrChange::kUid | AttrChange::kGid)) {
    auto owner = readOwnerXattr(fd->get());
    std::uint32_t uid = owner ? owner->first : st.st_uid;
    std::uint32_t gid = owner ? owner->second : st.st_gid;
    if (change.what & AttrChange::kUid) uid = change.uid;
    if (change.what & AttrChange::kGid) gid = change.gid;
    if (writeOwnerXattr(fd->get(), uid, gid) != 0) return errnoStatus("chown", path);
  }
  if (change.what &
      (AttrChange::kAtime | AttrChange::kMtime | AttrChange::kAtimeNow | AttrChange::kMtimeNow)) {
    struct timespec ts[2];
    ts[0] = (change.what & AttrChange::kAtimeNow) ? timespec{0, UTIME_NOW}
            : (change.what & AttrChange::kAtime)  ? timespecOf(change.atime_ns)
                                                  : timespec{0, UTIME_OMIT};
    ts[1] = (change.what & AttrChange::kMtimeNow) ? timespec{0, UTIME_NOW}
            : (change.what & AttrChange::kMtime)  ? timespecOf(change.mtime_ns)
                                                  : timespec{0, UTIME_OMIT};
    if (::futimens(fd->get(), ts) != 0) return errnoStatus("utimens", path);
  }
  auto v = bumpVersion(fd->get());
  if (!v.ok()) return v.status();
  return attrOf(fd->get());
}

Status Storage::fsync(const VaultPath& path) {
  auto fd = openBeneath(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  return fsyncFd(fd->get(), "fsync", path);
}

// ---- open files --------------------------------------------------------------------------------

Result<bool> Storage::isAtPath(int fd, const VaultPath& path) const {
  struct stat mine {};
  if (::fstat(fd, &mine) != 0) return Status::fromErrno(errno, ctx("fstat open file of", path));
  if (mine.st_nlink == 0) return false;
  // O_RDONLY, not O_PATH: openat2 refuses O_PATH with the O_NONBLOCK every open here carries.
  auto at = openBeneath(path, O_RDONLY);
  if (!at.ok()) {
    if (at.code() == Errc::not_found || at.code() == Errc::not_a_directory) return false;
    return at.status();
  }
  struct stat there {};
  if (::fstat(at->get(), &there) != 0) return errnoStatus("fstat", path);
  return there.st_ino == mine.st_ino && there.st_dev == mine.st_dev;
}

Result<Storage::OpenedBacking> Storage::openFile(const VaultPath& path, bool writable,
                                                 bool truncate) {
  if (truncate && !writable) {
    return Status(Errc::invalid_argument, ctx("open: truncation needs write access:", path));
  }
  // Opened under the stripe, as write() does: the handle names the inode at `path` now.
  StripeGuard guard(stripes_, {stripeIndex(path)});
  auto fd = openBeneath(path, writable ? O_RDWR : O_RDONLY);
  if (!fd.ok()) {
    // O_RDWR on a directory is EISDIR already; O_RDONLY opens it, and the type check says so.
    return fd.status();
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errnoStatus("fstat", path);
  if (S_ISDIR(st.st_mode)) return Status(Errc::is_a_directory, ctx("open", path));
  if (!S_ISREG(st.st_mode)) return Status(Errc::invalid_argument, ctx("not a regular file:", path));
  if (truncate) {
    if (::ftruncate(fd->get(), 0) != 0) return errnoStatus("truncate", path);
    auto v = bumpVersion(fd->get());
    if (!v.ok()) return v.status();
  }
  auto a = attrOf(fd->get());
  if (!a.ok()) return a.status();
  return OpenedBacking{std::move(*fd), std::move(*a)};
}

Result<FileAttr> Storage::writeOpen(int fd, const VaultPath* path, std::uint64_t offset,
                                    std::string_view data, bool* at_path) {
  *at_path = false;
  static const VaultPath kNoName = VaultPath::root();
  const VaultPath& named = path != nullptr ? *path : kNoName;
  std::unique_lock<std::shared_mutex> lock;
  if (path != nullptr) {
    lock = std::unique_lock(stripe(*path));
    auto here = isAtPath(fd, *path);
    if (!here.ok()) return here.status();
    *at_path = *here;
  }
  SEAMS_RETURN_IF_ERROR(writeAll(fd, data, offset, named));
  if (*at_path) {
    auto v = bumpVersion(fd);
    if (!v.ok()) return v.status();
  }
  return statOpen(fd);  // nlink 0 for an unlinked file
}

Result<FileAttr> Storage::truncateOpen(int fd, const VaultPath* path, std::uint64_t size,
                                       bool* at_path) {
  *at_path = false;
  std::unique_lock<std::shared_mutex> lock;
  if (path != nullptr) {
    lock = std::unique_lock(stripe(*path));
    auto here = isAtPath(fd, *path);
    if (!here.ok()) return here.status();
    *at_path = *here;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Status::fromErrno(errno, "truncate open file");
  }
  if (*at_path) {
    auto v = bumpVersion(fd);
    if (!v.ok()) return v.status();
  }
  return statOpen(fd);  // nlink 0 for an unlinked file
}

Result<ReadResult> Storage::readOpen(int fd, const VaultPath* path, std::uint64_t offset,
                                     std::uint64_t length) {
  static const VaultPath kNoName = VaultPath::root();
  const VaultPath& named = path != nullptr ? *path : kNoName;
  std::shared_lock<std::shared_mutex> lock;
  if (path != nullptr) lock = std::shared_lock(stripe(*path));
  auto a = attrOf(fd);
  if (!a.ok()) return a.status();
  if (offset > a->size) {
    return Status(Errc::range_not_satisfiable, ctx("read past the end of", named));
  }
  ReadResult r;
  r.version = a->version;
  r.file_size = a->size;
  r.data.resize(static_cast<std::size_t>(std::min(length, a->size - offset)));
  SEAMS_RETURN_IF_ERROR(readAt(fd, r.data, offset, named));
  return r;
}

Result<FileAttr> Storage::statOpen(int fd) {
  struct stat st {};
  auto a = attrOf(fd, &st);
  if (!a.ok()) return a;
  if (a->type == FileType::file) a->nlink = st.st_nlink == 0 ? 0 : 1;
  return a;
}

Status Storage::fsyncOpen(int fd) {
  if (::fsync(fd) != 0) return Status::fromErrno(errno, "fsync open file");
  return Status();
}

Result<std::pair<VaultPath, UniqueFd>> Storage::nearestExisting(const VaultPath& path) const {
  VaultPath dir = path;
  while (true) {
    auto fd = openBeneath(dir, O_RDONLY | O_DIRECTORY);
    if (fd.ok()) return std::make_pair(dir, std::move(*fd));
    if (dir.isRoot()) return fd.status();
    dir = dir.parent();
  }
}

Result<RefreshResult> Storage::refresh(const VaultPath& path) {
  using Change = RefreshResult::Change;
  // Everything is looked at under the path's lock, so a put() cannot swap the inode between our
  // open and our bump (which would version a dead inode above the live one).
  std::optional<StripeGuard> guard;
  guard.emplace(stripes_,
                std::initializer_list<std::size_t>{stripeIndex(path), stripeIndex(path.parent())});
  auto fd = openBeneath(path, O_RDONLY);
  bool visible = fd.ok();
  if (visible) {
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return errnoStatus("fstat", path);
    visible = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
  } else if (fd.code() != Errc::not_found && fd.code() != Errc::not_a_directory &&
             fd.code() != Errc::invalid_argument) {
    return fd.status();  // the backing store failed; nothing can be said about the entry
  }

  if (!visible) {
    // Gone (or a symlink/special file now). The directory that lost it is the nearest surviving
    // ancestor; if that is exactly as the vault left it, the vault removed the entry itself.
    if (path.isRoot()) return Status(Errc::io_error, "the vault root is not a directory");
    auto ancestor = nearestExisting(path.parent());
    if (!ancestor.ok()) return ancestor.status();
    if (ancestor->first != path.parent()) {
      // Not covered by the guard: re-lock in index order and look again.
      guard.reset();
      guard.emplace(stripes_, std::initializer_list<std::size_t>{stripeIndex(path),
                                                                 stripeIndex(ancestor->first)});
      auto again = openBeneath(ancestor->first, O_RDONLY | O_DIRECTORY);
      if (!again.ok()) return RefreshResult{Change::removed, FileAttr{}};
      ancestor->second = std::move(*again);
    }
    if (unchangedSinceRecorded(ancestor->second.get())) return RefreshResult{};
    auto v = bumpVersion(ancestor->second.get());
    if (!v.ok()) return v.status();
    return RefreshResult{Change::removed, FileAttr{}};
  }

  bool known_unpublished = false;
  if (unchangedSinceRecorded(fd->get(), &known_unpublished)) {
    auto a = attrOf(fd->get());
    if (!a.ok()) return a.status();
    return RefreshResult{Change::unchanged, *a};
  }
  auto had = readXattr(fd->get());
  if (!had.ok()) return had.status();
  bool created = *had == 0 || known_unpublished;
  auto v = bumpVersion(fd->get());
  if (!v.ok()) return v.status();
  if (created && !path.isRoot()) {
    // A new name in the directory: its entries changed, unless the vault already accounted for
    // that (the directory is exactly as the vault left it).
    auto parent = openParent(path);
    if (parent.ok() && !unchangedSinceRecorded(parent->get())) {
      auto pv = bumpVersion(parent->get());
      if (!pv.ok()) return pv.status();
    }
  }
  auto a = attrOf(fd->get());
  if (!a.ok()) return a.status();
  return RefreshResult{created ? Change::created : Change::modified, *a};
}

// ---- name changes -----------------------------------------------------------------------------

Result<FileAttr> Storage::put(const VaultPath& path, std::string_view data, bool* created) {
  if (path.isRoot()) return Status(Errc::is_a_directory, "put /");
  auto parent = openParent(path);
  if (!parent.ok()) return parent.status();
  const std::string leaf = leafOf(path);
  std::string tmp_name =
      tmp_prefix_ + std::to_string(tmp_counter_.fetch_add(1, std::memory_order_relaxed));
  UniqueFd tmp(::openat(tmp_fd_.get(), tmp_name.c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!tmp.valid()) return errnoStatus("create temp file for", path);
  // Until the rename succeeds, the temp file is ours to remove on every way out.
  struct TmpRemover {
    int dir;
    const std::string& name;
    bool armed = true;
    ~TmpRemover() {
      if (armed) ::unlinkat(dir, name.c_str(), 0);
    }
  } remover{tmp_fd_.get(), tmp_name};

  SEAMS_RETURN_IF_ERROR(writeAll(tmp.get(), data, 0, path));
  std::uint32_t mode = kDefaultFileMode;
  struct stat st {};
  if (::fstatat(parent->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) return Status(Errc::is_a_directory, ctx("put", path));
    if (S_ISREG(st.st_mode)) mode = privateFileMode(st.st_mode);
  }
  if (::fchmod(tmp.get(), mode) != 0) return errnoStatus("chmod temp file for", path);
  // Content durable before it becomes visible under the name.
  SEAMS_RETURN_IF_ERROR(fsyncFd(tmp.get(), "fsync temp file for", path));

  Result<FileAttr> attr = Status(Errc::internal, "unset");
  {
    StripeGuard guard(stripes_, {stripeIndex(path), stripeIndex(path.parent())});
    bool existed = ::fstatat(parent->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    std::uint64_t replaced_version = 0;
    if (existed && S_ISREG(st.st_mode)) {
      UniqueFd old(::openat(parent->get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | kOpenBase));
      if (old.valid()) {
        auto ov = readXattr(old.get());
        if (ov.ok()) replaced_version = *ov;
        // A whole-file replace changes the content, not who the file is shown to belong to.
        SEAMS_RETURN_IF_ERROR(copyPresentedXattrs(old.get(), tmp.get(), path));
      }
    }
    // Replacing a name moves the directory's ctime but not its entries: if the vault knew the
    // directory's state before, it still does afterwards (so refresh() sees no outside change).
    bool parent_known = existed && unchangedSinceRecorded(parent->get());
    auto v = versions_->above(replaced_version);
    if (!v.ok()) return v.status();
    if (writeXattr(tmp.get(), *v, 0) != 0) return errnoStatus("set version xattr for", path);
    if (::renameat(tmp_fd_.get(), tmp_name.c_str(), parent->get(), leaf.c_str()) != 0) {
      return errnoStatus("rename into place", path);
    }
    remover.armed = false;
    remember(tmp.get(), *v, /*published=*/true);  // after the rename, which moved its ctime
    if (created != nullptr) *created = !existed;
    if (!existed) {
      auto pv = bumpVersion(parent->get());
      if (!pv.ok()) return pv.status();
    } else if (parent_known) {
      auto pv = readXattr(parent->get());
      if (pv.ok() && *pv != 0) remember(parent->get(), *pv, /*published=*/true);
    }
    // Under the lock: a moment later a write() may already have moved the version on.
    attr = attrOf(tmp.get());
  }
  // The new directory entry reaches the disk before we acknowledge. The version xattr, set after
  // the data fsync, is not fsync'd on its own: on ext4 the directory fsync commits the journal
  // that holds it, and wherever it is lost the file merely has no version after a power cut and
  // gets a fresh one (above every version handed out) on first sight. One fsync fewer per put.
  SEAMS_RETURN_IF_ERROR(fsyncFd(parent->get(), "fsync directory of", path));
  return attr;
}

Result<FileAttr> Storage::create(const VaultPath& path, std::uint32_t mode) {
  if (path.isRoot()) return Status(Errc::already_exists, "create /");
  auto parent = openParent(path);
  if (!parent.ok()) return parent.status();
  const std::string leaf = leafOf(path);
  StripeGuard guard(stripes_, {stripeIndex(path), stripeIndex(path.parent())});
  // O_EXCL never follows a symlink: a planted link makes this already_exists.
  UniqueFd fd(::openat(parent->get(), leaf.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | kOpenBase, privateFileMode(mode)));
  if (!fd.valid()) return errnoStatus("create", path);
  if (::fchmod(fd.get(), privateFileMode(mode)) != 0) return errnoStatus("chmod", path);
  if (writeModeXattr(fd.get(), mode) != 0) return errnoStatus("set mode of", path);
  auto v = bumpVersion(fd.get());
  if (!v.ok()) return v.status();
  auto pv = bumpVersion(parent->get());
  if (!pv.ok()) return pv.status();
  return attrOf(fd.get());
}

Result<FileAttr> Storage::mkdir(const VaultPath& path, std::uint32_t mode) {
  if (path.isRoot()) return Status(Errc::already_exists, "mkdir /");
  auto parent = openParent(path);
  if (!parent.ok()) return parent.status();
  const std::string leaf = leafOf(path);
  StripeGuard guard(stripes_, {stripeIndex(path), stripeIndex(path.parent())});
  if (::mkdirat(parent->get(), leaf.c_str(), kPrivateDirMode) != 0) {
    return errnoStatus("mkdir", path);
  }
  UniqueFd fd(
      ::openat(parent->get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | kOpenBase));
  if (!fd.valid()) return errnoStatus("open new directory", path);
  if (::fchmod(fd.get(), kPrivateDirMode) != 0) return errnoStatus("chmod", path);
  // The backing directory stays 0700 (see privateFileMode); the caller's bits are presented.
  if (writeModeXattr(fd.get(), mode) != 0) return errnoStatus("set mode of", path);
  auto v = bumpVersion(fd.get());
  if (!v.ok()) return v.status();
  auto pv = bumpVersion(parent->get());
  if (!pv.ok()) return pv.status();
  return attrOf(fd.get());
}

Status Storage::unlink(const VaultPath& path) {
  if (path.isRoot()) return Status(Errc::is_a_directory, "unlink /");
  auto parent = openParent(path);
  if (!parent.ok()) return parent.status();
  const std::string leaf = leafOf(path);
  StripeGuard guard(stripes_, {stripeIndex(path), stripeIndex(path.parent())});
  if (::unlinkat(parent->get(), leaf.c_str(), 0) != 0) return errnoStatus("unlink", path);
  return statusOf(bumpVersion(parent->get()));
}

Status Storage::rmdir(const VaultPath& path) {
  if (path.isRoot()) return Status(Errc::invalid_argument, "the vault root cannot be removed");
  auto parent = openParent(path);
  if (!parent.ok()) return parent.status();
  const std::string leaf = leafOf(path);
  StripeGuard guard(stripes_, {stripeIndex(path), stripeIndex(path.parent())});
  if (::unlinkat(parent->get(), leaf.c_str(), AT_REMOVEDIR) != 0) return errnoStatus("rmdir", path);
  return statusOf(bumpVersion(parent->get()));
}

Result<FileAttr> Storage::rename(const VaultPath& from, const VaultPath& to) {
  if (from.isRoot() || to.isRoot()) {
    return Status(Errc::invalid_argument, "the vault root cannot be renamed or replaced");
  }
  auto from_parent = openParent(from);
  if (!from_parent.ok()) return from_parent.status();
  auto to_parent = openParent(to);
  if (!to_parent.ok()) return to_parent.status();
  const std::string from_leaf = leafOf(from);
  const std::string to_leaf = leafOf(to);
  StripeGuard guard(stripes_, {stripeIndex(from), stripeIndex(to), stripeIndex(from.parent()),
                               stripeIndex(to.parent())});
  struct stat st {};
  if (::fstatat(from_parent->get(), from_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errnoStatus("rename", from);
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    return Status(Errc::invalid_argument, ctx("rename: not a regular file or directory:", from));
  }
  if (::renameat(from_parent->get(), from_leaf.c_str(), to_parent->get(), to_leaf.c_str()) != 0) {
    return errnoStatus("rename to " + to.str() + " from", from);
  }
  UniqueFd fd(::openat(to_parent->get(), to_leaf.c_str(), O_RDONLY | O_NOFOLLOW | kOpenBase));
  if (!fd.valid()) return errnoStatus("open renamed", to);
  auto v = bumpVersion(fd.get());
  if (!v.ok()) return v.status();
  auto pv = bumpVersion(from_parent->get());
  if (!pv.ok()) return pv.status();
  if (from.parent() != to.parent()) {
    pv = bumpVersion(to_parent->get());
    if (!pv.ok()) return pv.status();
  }
  return attrOf(fd.get());
}

}  // namespace seams

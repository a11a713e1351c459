#include "core/roots/runtime_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>
#include <utility>

namespace seams {
namespace {

Status checkDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::fromErrno(ec.value(), "runtime_dir " + path);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::fromErrno(errno, "runtime_dir " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status(Errc::invalid_argument, "runtime_dir " + path + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Status(Errc::permission_denied,
                  "runtime_dir " + path + " belongs to uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return Status::fromErrno(errno, "chmod 0700 " + path);
  }
  return okStatus();
}

// "<pid> <holder>" as the holder wrote it; empty if it has not written yet.
std::string holderText(int fd) {
  char buf[256] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Result<RuntimeDirLock> prepareRuntimeDir(const std::string& path, const std::string& lock_name,
                                         const std::string& holder,
                                         std::chrono::milliseconds patience) {
  SEAMS_RETURN_IF_ERROR(checkDirectory(path));
  const std::string lock_path = path + "/" + lock_name + ".lock";
  const auto deadline = std::chrono::steady_clock::now() + patience;
  UniqueFd fd;
  for (;;) {
    fd.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return Status::fromErrno(errno, "open " + lock_path);
    int rc;
    while ((rc = ::flock(fd.get(), LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (rc != 0) {
      if (errno != EWOULDBLOCK) return Status::fromErrno(errno, "flock " + lock_path);
      const std::string text = holderText(fd.get());
      const std::size_t space = text.find(' ');
      const std::string pid = text.empty() ? "unknown" : text.substr(0, space);
      const std::string who =
          space == std::string::npos ? "another process" : text.substr(space + 1);
      return Status(Errc::conflict, "runtime_dir " + path + " is in use by " + who + " (pid " +
                                        pid + ", lock " + lock_path +
                                        "): stop it first, or give this deployment its own "
                                        "runtime_dir");
    }
    // Locked; but a holder that exited cleanly unlinked the file we had opened: the lock on a
    // removed inode guards nothing, so go again on whatever the path names now.
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) == 0 && ::stat(lock_path.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      break;
    }
  }
  const std::string text = std::to_string(::getpid()) + " " + holder + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Status::fromErrno(errno, "write " + lock_path);
  }
  return RuntimeDirLock(std::move(fd), lock_path);
}

void RuntimeDirLock::release() {
  if (!fd_.valid()) return;
  ::unlink(path_.c_str());  // while still holding the lock: see the header
  fd_.reset();
}

}  // namespace seams

#include "core/services/runtime_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace seams {

Status prepareRuntimeDir(const std::string& path) {
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

}  // namespace seams

#include "core/config/fuse_access.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace seams {

bool fuseConfAllowsOther(std::string_view text) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos) {
      line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
      if (line == "user_allow_other") return true;
    }
    pos = end + 1;
  }
  return false;
}

bool allowOtherCanWork() {
  if (::geteuid() == 0) return true;
  std::ifstream in(kFuseConf);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  return fuseConfAllowsOther(text.str());
}

Status checkFuseDevice() {
  if (::faccessat(AT_FDCWD, kFuseDevice, R_OK | W_OK, AT_EACCESS) == 0) return okStatus();
  const int err = errno;
  if (err == ENOENT) {
    return Status(Errc::not_found,
                  std::string("fuse.enabled: ") + kFuseDevice +
                      " does not exist: load the module (modprobe fuse), give a container "
                      "--device /dev/fuse, or set [fuse] enabled = false to run without a mount");
  }
  return Status(Errc::permission_denied,
                std::string("fuse.enabled: this user (uid ") + std::to_string(::geteuid()) +
                    ") may not open " + kFuseDevice + " (" + std::strerror(err) +
                    "): run as root, make the device usable by this user (chmod 0666 " +
                    kFuseDevice + ", as Debian ships it), or set [fuse] enabled = false");
}

Status checkAllowOther(bool allow_other) {
  if (!allow_other || allowOtherCanWork()) return okStatus();
  return Status(Errc::permission_denied,
                std::string("fuse.allow_other: a user other than root may mount with allow_other "
                            "only when ") +
                    kFuseConf +
                    " has a line `user_allow_other`: add it (as root), or set [fuse] "
                    "allow_other = false (then only this user can use the mount)");
}

}  // namespace seams

#include "core/storage/private_root.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace seams {

Status checkPrivateRoot(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status(Errc::not_found, "vault_root: " + root +
                                         " does not exist (create it with "
                                         "mode 0700, or run `seamctl init DIR`)");
    }
    return Status::fromErrno(err, "vault_root: " + root);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Errc::invalid_argument, "vault_root: " + root + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Status(Errc::permission_denied,
                  fmt::format("vault_root: {} belongs to uid {}, not to this daemon's uid {} "
                              "(chown it, run the daemon as its owner, or set "
                              "allow_shared_vault_root = true)",
                              root, st.st_uid, ::geteuid()));
  }
  const unsigned mode = st.st_mode & 07777;
  if ((mode & 077) != 0) {
    return Status(Errc::permission_denied,
                  fmt::format("vault_root: {} has mode {:04o}: other users can reach the files "
                              "behind the vault's permissions (chmod 0700 {}, or set "
                              "allow_shared_vault_root = true to accept it)",
                              root, mode, root));
  }
  return okStatus();
}

}  // namespace seams

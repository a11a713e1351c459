// Stale UNIX socket files: what a server killed with SIGKILL (or a crash) leaves behind. The next
// server must remove one before it can bind, but must never take over a socket that someone is
// still serving on.
//
// Thread-safety: a plain function.
#pragma once

#include <string>

#include "core/common/status.h"

namespace seams {

// Removes the socket file at `path` if nobody listens on it. Returns true when a stale one was
// removed (the caller logs it: an operator should see that a crash was cleaned up), false when
// there was nothing. Errors: conflict when a live server accepts connections there,
// invalid_argument when something other than a socket is at `path` (left in place), errno
// failures of lstat/unlink.
Result<bool> removeStaleSocket(const std::string& path);

}  // namespace seams

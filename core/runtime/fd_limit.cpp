#include "core/runtime/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <string>

namespace seams {

Result<FdLimit> raiseFdLimitToHard() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return Status::fromErrno(errno, "getrlimit(NOFILE)");
  FdLimit out{rl.rlim_cur, rl.rlim_cur, rl.rlim_max};
  if (rl.rlim_cur == rl.rlim_max) return out;
  rlimit raised{rl.rlim_max, rl.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    return Status::fromErrno(errno, "setrlimit(NOFILE, " + std::to_string(rl.rlim_max) + ")");
  }
  out.soft = rl.rlim_max;
  return out;
}

}  // namespace seams

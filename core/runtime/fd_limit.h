// The process's file-descriptor limit, raised at start (issue 12, defect 3).
//
// Every HTTP connection, IPC socket and open vault file costs an fd, and the soft
// RLIMIT_NOFILE a process inherits is often 1024 (systemd's default for services, a login
// shell's too) while the hard limit is far higher. Each composition root calls
// raiseFdLimitToHard() once at start (ProcessRoot::run for seamd and the split daemons, and
// seam-split's launcher, whose children inherit it) and logs the figure; the HTTP frontend
// derives http.max_connections from the result. The shipped systemd units set LimitNOFILE=.
#pragma once

#include <cstdint>

#include "core/common/status.h"

namespace seams {

struct FdLimit {
  std::uint64_t before = 0;  // the soft limit found
  std::uint64_t soft = 0;    // the soft limit now (the hard limit, if raising worked)
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard one. io_error (with the figures found) when the
// limit cannot be read or set; the process then runs with what it has.
Result<FdLimit> raiseFdLimitToHard();

}  // namespace seams

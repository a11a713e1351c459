// What a process may do with FUSE on this machine, for the operator's sake: whether /dev/fuse can
// be opened, and whether `allow_other` can work. Both are checked before mounting so the error
// says what to change, and `seamctl init` uses allowOtherCanWork() to choose fuse.allow_other.
//
//   /dev/fuse     a mount needs it readable and writable (root; or a user when the device is 0666,
//                 as on a stock Debian install, through the setuid fusermount3).
//   allow_other   root may always use it; any other user only when /etc/fuse.conf has a line
//                 `user_allow_other` (libfuse's rule).
//
// Thread-safety: plain functions; they read files and nothing else.
#pragma once

#include <string>
#include <string_view>

#include "core/common/status.h"

namespace seams {

inline constexpr const char* kFuseDevice = "/dev/fuse";
inline constexpr const char* kFuseConf = "/etc/fuse.conf";

// True when `fuse_conf_text` (the text of /etc/fuse.conf) has `user_allow_other` on a line of its
// own (surrounding blanks allowed; a '#' starts a comment).
bool fuseConfAllowsOther(std::string_view fuse_conf_text);
// True when a mount with allow_other would be accepted for this process (effective uid 0, or
// /etc/fuse.conf allows it).
bool allowOtherCanWork();
// ok when this process may use /dev/fuse; otherwise permission_denied / not_found with the next
// steps, naming fuse.enabled.
Status checkFuseDevice();
// ok when allow_other is off or can work; otherwise permission_denied naming fuse.allow_other and
// /etc/fuse.conf.
Status checkAllowOther(bool allow_other);

}  // namespace seams

// Small facts about this host that the launcher, the bench and the end-to-end tests all need.
#pragma once

#include <cstdint>
#include <string>

namespace seams {

// A TCP port on 127.0.0.1 that was free a moment ago (bound, read back, released: another
// process may take it before the caller binds it, which only tests and the bench accept).
// 0 if none could be had.
std::uint16_t freeLoopbackPort();
// True if `path` is a mount point now (/proc/self/mountinfo, exact match of the canonical path).
bool isMountPoint(const std::string& path);
// A whole file's bytes; "" if it is missing or unreadable.
std::string readWholeFile(const std::string& path);

}  // namespace seams

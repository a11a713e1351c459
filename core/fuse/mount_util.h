// Mount-table helpers for the FUSE frontend: find FUSE mounts at a path, clear a dead one.
//
// A FUSE daemon that died (kill -9, a crash) leaves its mount behind: every access to the mount
// point fails with ENOTCONN ("Transport endpoint is not connected") until someone unmounts it.
// clearStaleMount() is what start() calls first so that a restart after a crash just works.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace seams {

struct MountEntry {
  unsigned major = 0;
  unsigned minor = 0;       // for FUSE: the connection number under /sys/fs/fuse/connections
  std::string mount_point;  // unescaped (mountinfo writes space as \040 and so on)
  std::string fs_type;      // "fuse", "fuse.seams", "ext4", ...
  std::string source;

  bool isFuse() const { return fs_type == "fuse" || fs_type.rfind("fuse.", 0) == 0; }
};

// Parses /proc/<pid>/mountinfo text; malformed lines are skipped.
std::vector<MountEntry> parseMountInfo(std::string_view text);
// The current mount table of this process's mount namespace (empty if unreadable).
std::vector<MountEntry> readMountTable();
// The FUSE mounts whose mount point is exactly `path` (an absolute, canonical path), oldest first.
std::vector<MountEntry> fuseMountsAt(const std::string& path);

// `path` made absolute with its parent's symlinks resolved, without touching `path` itself
// (a dead mount there would fail realpath). Errors: the parent does not exist.
Result<std::string> canonicalMountPoint(const std::string& path);

// ok when `path` is an existing directory we can mount on. Errors name the key: not_found
// "fuse.mountpoint: /x does not exist", not_a_directory "fuse.mountpoint: /x is a regular file,
// not a directory" (the kernel would accept a file and then answer EIO). Call after
// clearStaleMount() (a dead mount fails every stat).
Status checkMountDirectory(const std::string& path);

// Clears dead FUSE mounts stacked at `path`: stat -> ENOTCONN -> umount2(MNT_DETACH). A mount
// whose daemon does not answer that stat within `hang_timeout` is hung (say, a previous instance
// of this service that the watchdog abandoned): it is aborted and detached (MNT_FORCE). Each one
// cleared is logged (warn), so an operator sees that a crash was cleaned up.
// Errors: conflict if a live, answering FUSE filesystem is mounted there (someone's working
// mount is never taken over); the errno of a failed stat or umount2.
Status clearStaleMount(const std::string& path,
                       std::chrono::milliseconds hang_timeout = std::chrono::seconds(2));

}  // namespace seams

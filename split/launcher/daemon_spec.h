// The split deployment's daemons, as the launcher sees them: what each is called, which binary runs
// it, what it depends on, and what it leaves behind when it dies (sockets, a mount).
//
// Names in `seamctl status` are the short ones ("fsd", "authd", "syncd", "httpd", "fused"); the
// binary of daemon NAME is "seam-NAME" in the bin dir. Start order follows the dependencies:
// fsd and authd first, syncd after fsd, httpd and fused after fsd and authd.
//
// Thread-safety: plain values and free functions; no shared state.
#pragma once

#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/config/config.h"
#include "core/process/listen_fds.h"

namespace seams::split {

struct DaemonSpec {
  std::string name;                       // "fsd"
  std::string program;                    // absolute path of "seam-fsd"
  std::vector<std::string> dependencies;  // daemon names
  std::vector<std::string> sockets;       // socket files it binds (its IPC socket, if any, and its
                                          // own control socket): removed after it dies
  std::string mountpoint;                 // seam-fused only: lazily unmounted after it dies
  std::string control_socket;             // its own control socket (also in `sockets`)
  // Listening sockets the launcher holds for it and passes at every start (LISTEN_FDS): httpd's
  // HTTP listener. Borrowed from the launcher, which keeps them open for its whole life, so
  // connections queue in their backlog while the daemon restarts instead of being refused.
  std::vector<PassedSocket> listen_fds;
};

// Every daemon the config asks for, in registration order (fsd, authd, syncd, httpd, fused).
// httpd is left out when [http] enabled = false, fused when [fuse] enabled = false, as in seamd.
std::vector<DaemonSpec> daemonSpecs(const Config& config, const std::string& bin_dir);

// split.bin_dir if set, else the directory of our own executable (/proc/self/exe).
Result<std::string> resolveBinDir(const Config& config);

// True if `path` is the mount point of a FUSE filesystem (any "fuse" or "fuse.*" type) according to
// `mountinfo` (the text of /proc/self/mountinfo, octal escapes such as \040 understood).
bool isFuseMountIn(const std::string& mountinfo, const std::string& path);
// The same, read from /proc/self/mountinfo now.
bool isFuseMounted(const std::string& path);
// If a FUSE filesystem is mounted at `path` (a dead one included), detaches it (umount2
// MNT_DETACH). ok when nothing was mounted.
Status detachFuseMount(const std::string& path);

}  // namespace seams::split

// The runtime directory holds a deployment's sockets (control, and in split the daemons' IPC
// sockets). It is created mode 0700 and owned by us, so nobody else can even reach a socket in
// it; an existing one is tightened to 0700, and one owned by another uid is refused.
#pragma once

#include <string>

#include "core/common/status.h"

namespace seams {

Status prepareRuntimeDir(const std::string& path);

}  // namespace seams

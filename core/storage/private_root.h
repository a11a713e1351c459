// The vault root must be private to the daemon's user.
//
// The backing directory holds every file in plain form; the vault's permission model (rules,
// sessions) is only worth something if nobody else can read the directory behind it. So seamd and
// seam-fsd refuse a root that is not a directory owned by their effective uid with no group or
// other bits (r, w or x: x alone lets another user open a file whose name they can guess), unless
// the config's `allow_shared_vault_root = true` says the operator wants that.
//
// Thread-safety: a plain function.
#pragma once

#include <string>

#include "core/common/status.h"

namespace seams {

// ok when `root` is a directory owned by geteuid() with mode bits 0700 or tighter.
// Errors (the message names the key, says what was found and how to fix it):
//   not_found         the root does not exist
//   invalid_argument  it is not a directory
//   permission_denied it belongs to another uid, or group/other bits are set
Status checkPrivateRoot(const std::string& root);

}  // namespace seams

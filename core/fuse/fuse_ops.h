// The request handlers of FuseFrontend: libfuse's low-level callbacks (fuse_ops.cpp).
//
// fuse_frontend.cpp owns the frontend's life (mount, session loop, stop, the change listener that
// invalidates the kernel's caches); fuse_ops.cpp answers the kernel's requests on that session.
// Each callback finds its FuseFrontend in the session's userdata (fuse_session_new's last
// argument), maps the caller's uid to a principal, resolves the node or name to a vault path and
// checks the caller's access (the table in fuse_frontend.h) before it calls the Vault; it never
// lets an exception reach libfuse's C frames (a handler that throws answers EIO and is counted in
// health().handler_exceptions). Private to core/fuse.
#pragma once

struct fuse_lowlevel_ops;

namespace seams {

class FuseFrontend;

// The callback table to hand to fuse_session_new() with the FuseFrontend as userdata.
fuse_lowlevel_ops fuseOps();

// Whether a request handler of `fs` is running on this thread: a change made there must not be
// notified to the kernel from inside that handler (fuse_frontend.h, "Changes made elsewhere").
bool handlingOnThisThread(const FuseFrontend& fs) noexcept;

}  // namespace seams

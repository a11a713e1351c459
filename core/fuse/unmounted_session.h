// UnmountedSession: kernel requests into a FuseFrontend's libfuse ops table, without a kernel.
//
// It owns the session FuseFrontend::newUnmountedSession() makes, attaches its own I/O (replies are
// captured from libfuse's writev, nothing is ever read from an fd) and feeds one request at a time
// to fuse_session_process_buf(), exactly as the mounted loop decodes a request from /dev/fuse. The
// handler runs on the calling thread and its replies are in replies() until the next send().
//
// Users: the FUSE fuzz target (tests/fuzz/fuse_harness.cpp), which models what a kernel may send
// on top of it, and seam-counts (bench/counts/), which counts the instructions of the read path.
// The caller builds well-formed requests: libfuse trusts the kernel, and so does the frontend.
//
// Thread-safety: one thread at a time per session. The reply capture is per thread, so sessions
// on different threads do not mix. Lifetime: the frontend must outlive this object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

struct fuse_session;

namespace seams {

class FuseFrontend;

class UnmountedSession {
 public:
  // internal when libfuse refuses to make a session or attach the I/O.
  static Result<std::unique_ptr<UnmountedSession>> open(FuseFrontend& frontend);
  ~UnmountedSession();  // fuse_session_destroy
  UnmountedSession(const UnmountedSession&) = delete;
  UnmountedSession& operator=(const UnmountedSession&) = delete;

  // Sends one request: a fuse_in_header (opcode, node, uid = gid, a fresh unique id) followed by
  // `args`, the opcode's argument struct(s) as the kernel lays them out. The replies libfuse wrote
  // for it (none for FORGET, one otherwise) are replies() until the next call. Buffers are reused
  // from call to call, so a steady stream of requests allocates only what the handlers do.
  void send(std::uint32_t opcode, std::uint64_t nodeid, std::uint32_t uid, std::string_view args);

  // FUSE_INIT with the flags a recent kernel offers; internal when it is refused.
  Status init();

  // The replies to the last send(), each a fuse_out_header and its payload.
  const std::vector<std::string>& replies() const { return replies_; }
  // The unique id of the last request (what its reply's header must carry).
  std::uint64_t lastUnique() const { return next_unique_; }

 private:
  explicit UnmountedSession(fuse_session* se) : se_(se) {}
  fuse_session* se_;
  std::uint64_t next_unique_ = 0;
  std::string request_;  // the request, then padding: the kernel's buffer is always large
  std::vector<std::string> replies_;
};

}  // namespace seams

#define FUSE_USE_VERSION 312
#include "core/fuse/unmounted_session.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include "core/fuse/fuse_frontend.h"

namespace seams {
namespace {

// The session whose request is being processed on this thread (fuse_session_process_buf calls
// the writev back on the same thread before it returns).
thread_local std::vector<std::string>* t_replies = nullptr;

ssize_t noRead(int, void*, size_t, void*) {
  return 0;  // never called: nothing runs the session loop
}

// Room libfuse may read past a short request's struct for some opcodes' optional fields.
constexpr std::size_t kPadding = 256;

ssize_t captureWritev(int, struct iovec* iov, int count, void*) {
  std::size_t total = 0;
  if (t_replies != nullptr) {
    std::string& msg = t_replies->emplace_back();
    for (int i = 0; i < count; ++i) total += iov[i].iov_len;
    msg.reserve(total);
    for (int i = 0; i < count; ++i) {
      msg.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    }
  } else {
    for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  }
  return static_cast<ssize_t>(total);
}

}  // namespace

Result<std::unique_ptr<UnmountedSession>> UnmountedSession::open(FuseFrontend& frontend) {
  fuse_session* se = frontend.newUnmountedSession();
  if (se == nullptr) return Status(Errc::internal, "fuse_session_new failed");
  std::unique_ptr<UnmountedSession> session(new UnmountedSession(se));
  const fuse_custom_io io{&captureWritev, &noRead, nullptr, nullptr};
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);  // the session closes it
  if (fd < 0 || fuse_session_custom_io(se, &io, fd) != 0) {
    if (fd >= 0) ::close(fd);
    return Status(Errc::internal, "fuse_session_custom_io failed");
  }
  return session;
}

UnmountedSession::~UnmountedSession() {
  fuse_session_destroy(se_);
}

void UnmountedSession::send(std::uint32_t opcode, std::uint64_t nodeid, std::uint32_t uid,
                            std::string_view args) {
  fuse_in_header h{};
  h.len = static_cast<std::uint32_t>(sizeof h + args.size());
  h.opcode = opcode;
  h.unique = next_unique_ += 2;
  h.nodeid = nodeid;
  h.uid = uid;
  h.gid = uid;
  h.pid = 4242;
  request_.assign(reinterpret_cast<const char*>(&h), sizeof h);
  request_.append(args);
  request_.append(kPadding, '\0');
  fuse_buf buf{};
  buf.size = h.len;
  buf.mem = request_.data();
  replies_.clear();
  t_replies = &replies_;
  fuse_session_process_buf(se_, &buf);
  t_replies = nullptr;
}

Status UnmountedSession::init() {
  fuse_init_in in{};
  in.major = FUSE_KERNEL_VERSION;
  in.minor = FUSE_KERNEL_MINOR_VERSION;
  in.max_readahead = 128 * 1024;
  in.flags = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
             FUSE_WRITEBACK_CACHE | FUSE_EXPORT_SUPPORT | FUSE_MAX_PAGES;
  send(FUSE_INIT, 0, 0, std::string_view(reinterpret_cast<const char*>(&in), sizeof in));
  fuse_out_header out{};
  if (replies_.size() != 1 || replies_[0].size() < sizeof out) {
    return Status(Errc::internal, "FUSE_INIT got no reply");
  }
  std::memcpy(&out, replies_[0].data(), sizeof out);
  if (out.error != 0) return Status(Errc::internal, "FUSE_INIT refused");
  return okStatus();
}

}  // namespace seams

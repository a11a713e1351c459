// fuzzFuse: kernel requests into FuseFrontend's libfuse ops table, without a kernel.
//
// FuseFrontend::newUnmountedSession() gives a libfuse session over the frontend's real handlers;
// fuse_session_process_buf() decodes each request exactly as the mounted loop does and calls the
// handler on this thread; replies come back through a custom writev. What a real kernel
// guarantees is modelled here, because libfuse trusts it and so must we: every request is
// well-formed for its opcode (sizes, NUL-terminated names without '/'), node ids are ones the
// frontend handed out (or the root), forget counts never exceed lookups, file handles are ones
// open/opendir returned and not yet released, and at the end every handle is released and every
// node forgotten, as an unmount does. Everything else (names, offsets, sizes, flags, modes, uids,
// the order of operations) comes from the input.
//
// Invariants: every request but FORGET gets exactly one reply and FORGET none; errors are
// negative errnos; a READ or READDIR reply never exceeds the size asked; no handler throws
// (FuseFrontend::Health::handler_exceptions stays 0).
#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/clock.h"
#include "core/fuse/fuse_frontend.h"
#include "core/fuse/unmounted_session.h"
#include "tests/fuzz/harness.h"
#include "tests/fuzz/memory_auth.h"
#include "tests/fuzz/memory_vault.h"

namespace seams::fuzz {
namespace {

// Reads the input as a stream of choices; past the end every value is 0.
class Bytes {
 public:
  explicit Bytes(std::string_view in) : in_(in) {}
  bool empty() const { return in_.empty(); }
  std::uint8_t u8() {
    if (in_.empty()) return 0;
    auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return u16() | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return u32() | (static_cast<std::uint64_t>(u32()) << 32); }
  std::string_view take(std::size_t n) {
    n = std::min(n, in_.size());
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }

 private:
  std::string_view in_;
};

template <typename T>
void appendPod(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

constexpr std::uint32_t kUids[] = {0, 1000, 1001, 4242};  // admin, alice, bob, unmapped

// The kernel's side of one session: what it may send, given what it has been told.
class Kernel {
 public:
  explicit Kernel(UnmountedSession& session) : session_(session) {}

  // Sends one request; the replies are checked against the protocol.
  Status send(std::uint32_t opcode, std::uint64_t nodeid, std::uint32_t uid, std::string args,
              std::size_t reply_limit = SIZE_MAX) {
    session_.send(opcode, nodeid, uid, args);
    const std::vector<std::string>& replies = session_.replies();
    last_error_ = 0;
    last_payload_.clear();

    const bool forget = opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET;
    if (replies.size() != (forget ? 0u : 1u)) {
      return Status(Errc::internal, "opcode " + std::to_string(opcode) + " got " +
                                        std::to_string(replies.size()) + " replies");
    }
    if (forget) return okStatus();
    const std::string& r = replies[0];
    fuse_out_header out{};
    if (r.size() < sizeof out) return Status(Errc::internal, "reply shorter than its header");
    std::memcpy(&out, r.data(), sizeof out);
    if (out.unique != session_.lastUnique() || out.len != r.size()) {
      return Status(Errc::internal, "reply header does not match the request");
    }
    if (out.error > 0 || out.error < -4095) {
      return Status(Errc::internal, "reply error " + std::to_string(out.error));
    }
    last_error_ = out.error;
    last_payload_ = r.substr(sizeof out);
    if (out.error == 0 && last_payload_.size() > reply_limit) {
      return Status(Errc::internal, "opcode " + std::to_string(opcode) + " replied " +
                                        std::to_string(last_payload_.size()) + " bytes for " +
                                        std::to_string(reply_limit));
    }
    return okStatus();
  }

  Status init() { return session_.init(); }

  // After a reply carrying fuse_entry_out (at `offset` in the payload): the kernel now holds one
  // more reference to that node.
  void noteEntry(std::size_t offset = 0) {
    if (last_error_ != 0 || last_payload_.size() < offset + sizeof(fuse_entry_out)) return;
    fuse_entry_out e{};
    std::memcpy(&e, last_payload_.data() + offset, sizeof e);
    if (e.nodeid != 0) ++lookups_[e.nodeid];  // 0: a negative entry, no reference
  }
  void noteOpen(bool dir, std::size_t offset = 0) {
    if (last_error_ != 0 || last_payload_.size() < offset + sizeof(fuse_open_out)) return;
    fuse_open_out o{};
    std::memcpy(&o, last_payload_.data() + offset, sizeof o);
    handles_.push_back({dir, o.fh, last_node_});
  }

  // A node the kernel may name: the root, one it holds a reference to, or (rarely) a stale id.
  std::uint64_t node(Bytes& b) {
    const std::uint8_t pick = b.u8();
    if (pick == 0xff) return 2 + b.u8();  // possibly forgotten already: must be ENOENT, not UB
    if (lookups_.empty() || pick % 4 == 0) return FUSE_ROOT_ID;
    auto it = lookups_.begin();
    std::advance(it, pick % lookups_.size());
    return it->first;
  }

  struct Handle {
    bool dir;
    std::uint64_t fh;
    std::uint64_t node;
  };
  // A live handle of the kind asked for, or null.
  const Handle* handle(Bytes& b, bool dir) {
    std::vector<const Handle*> fit;
    for (const Handle& h : handles_) {
      if (h.dir == dir) fit.push_back(&h);
    }
    if (fit.empty()) return nullptr;
    return fit[b.u8() % fit.size()];
  }
  void dropHandle(const Handle* h) {
    for (auto it = handles_.begin(); it != handles_.end(); ++it) {
      if (&*it == h) {
        handles_.erase(it);
        return;
      }
    }
  }

  std::map<std::uint64_t, std::uint64_t>& lookups() { return lookups_; }
  std::vector<Handle>& handles() { return handles_; }
  void setNode(std::uint64_t n) { last_node_ = n; }
  std::int32_t lastError() const { return last_error_; }

 private:
  UnmountedSession& session_;
  std::map<std::uint64_t, std::uint64_t> lookups_;  // node id -> references the kernel holds
  std::vector<Handle> handles_;
  std::uint64_t last_node_ = FUSE_ROOT_ID;
  std::int32_t last_error_ = 0;
  std::string last_payload_;
};

// A name as the kernel passes it: no '/', no NUL, at most 1024 bytes (FUSE_NAME_MAX).
std::string name(Bytes& b) {
  static constexpr std::string_view kNames[] = {"a.txt", "docs", "new", "x", ".seams", "..", "."};
  const std::uint8_t pick = b.u8();
  if (pick < 200) return std::string(kNames[pick % std::size(kNames)]);
  std::string out(b.take(b.u8() + (pick == 0xff ? 800u : 0u)));
  for (char& c : out) {
    if (c == '/' || c == '\0') c = '_';
  }
  if (out.empty()) out = "e";
  return out;
}

std::string cstr(const std::string& s) {
  return s + '\0';
}

Status step(Kernel& k, Bytes& b) {
  const std::uint32_t uid = kUids[b.u8() % std::size(kUids)];
  const std::uint8_t op = b.u8();
  std::string args;
  switch (op % 26) {
    case 0: {  // LOOKUP
      const std::uint64_t parent = k.node(b);
      SEAMS_RETURN_IF_ERROR(k.send(FUSE_LOOKUP, parent, uid, cstr(name(b))));
      k.noteEntry();
      return okStatus();
    }
    case 1: {  // FORGET
      auto& refs = k.lookups();
      if (refs.empty()) return okStatus();
      auto it = refs.begin();
      std::advance(it, b.u8() % refs.size());
      fuse_forget_in in{};
      in.nlookup = 1 + b.u8() % it->second;
      appendPod(args, in);
      const std::uint64_t node = it->first;
      it->second -= in.nlookup;
      if (it->second == 0) refs.erase(it);
      return k.send(FUSE_FORGET, node, uid, args);
    }
    case 2: {  // GETATTR
      fuse_getattr_in in{};
      appendPod(args, in);
      return k.send(FUSE_GETATTR, k.node(b), uid, args);
    }
    case 3: {  // SETATTR
      fuse_setattr_in in{};
      const std::uint64_t node = k.node(b);
      in.valid = b.u8() & (FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME |
                           FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW);
      in.size = b.u8() & 1 ? b.u16() : b.u64();
      in.mode = b.u16();
      in.uid = b.u16();
      in.gid = b.u16();
      in.atime = b.u32();
      in.mtime = b.u32();
      in.atimensec = b.u32() % 1'000'000'000u;
      in.mtimensec = b.u32() % 1'000'000'000u;
      appendPod(args, in);
      return k.send(FUSE_SETATTR, node, uid, args);
    }
    case 4: {  // MKDIR
      fuse_mkdir_in in{};
      const std::uint64_t parent = k.node(b);
      in.mode = S_IFDIR | (b.u16() & 07777);
      in.umask = 022;
      appendPod(args, in);
      args += cstr(name(b));
      SEAMS_RETURN_IF_ERROR(k.send(FUSE_MKDIR, parent, uid, args));
      k.noteEntry();
      return okStatus();
    }
    case 5:
    case 6: {  // UNLINK, RMDIR
      const std::uint64_t parent = k.node(b);
      return k.send(op % 26 == 5 ? FUSE_UNLINK : FUSE_RMDIR, parent, uid, cstr(name(b)));
    }
    case 7: {  // RENAME
      fuse_rename_in in{};
      const std::uint64_t parent = k.node(b);
      in.newdir = k.node(b);
      appendPod(args, in);
      args += cstr(name(b));
      args += cstr(name(b));
      return k.send(FUSE_RENAME, parent, uid, args);
    }
    case 8: {  // RENAME2
      fuse_rename2_in in{};
      const std::uint64_t parent = k.node(b);
      in.newdir = k.node(b);
      in.flags = b.u8() % 4;  // 0, RENAME_NOREPLACE, RENAME_EXCHANGE, both
      appendPod(args, in);
      args += cstr(name(b));
      args += cstr(name(b));
      return k.send(FUSE_RENAME2, parent, uid, args);
    }
    case 9:
    case 10: {  // OPEN, OPENDIR
      const bool dir = op % 26 == 10;
      fuse_open_in in{};
      const std::uint64_t node = k.node(b);
      static constexpr std::uint32_t kModes[] = {O_RDONLY,
                                                 O_WRONLY,
                                                 O_RDWR,
                                                 O_RDWR | O_TRUNC,
                                                 O_WRONLY | O_APPEND,
                                                 O_RDONLY | O_DIRECTORY};
      in.flags = kModes[b.u8() % std::size(kModes)];
      appendPod(args, in);
      k.setNode(node);
      SEAMS_RETURN_IF_ERROR(k.send(dir ? FUSE_OPENDIR : FUSE_OPEN, node, uid, args));
      k.noteOpen(dir);
      return okStatus();
    }
    case 11: {  // CREATE
      fuse_create_in in{};
      const std::uint64_t parent = k.node(b);
      in.flags = O_CREAT | (b.u8() & 1 ? O_EXCL : 0) | (b.u8() & 1 ? O_RDWR : O_WRONLY);
      in.mode = S_IFREG | (b.u16() & 07777);
      in.umask = 022;
      appendPod(args, in);
      args += cstr(name(b));
      k.setNode(parent);
      SEAMS_RETURN_IF_ERROR(k.send(FUSE_CREATE, parent, uid, args));
      k.noteEntry();
      k.noteOpen(false, sizeof(fuse_entry_out));
      return okStatus();
    }
    case 12: {  // READ
      const Kernel::Handle* h = k.handle(b, false);
      if (h == nullptr) return okStatus();
      fuse_read_in in{};
      in.fh = h->fh;
      in.offset = b.u8() & 1 ? b.u16() : b.u64();
      in.size = b.u32() % (1u << 20);
      appendPod(args, in);
      return k.send(FUSE_READ, h->node, uid, args, in.size);
    }
    case 13: {  // WRITE
      const Kernel::Handle* h = k.handle(b, false);
      if (h == nullptr) return okStatus();
      fuse_write_in in{};
      in.fh = h->fh;
      in.offset = b.u8() & 1 ? b.u16() : b.u64();
      std::string_view data = b.take(b.u8());
      in.size = static_cast<std::uint32_t>(data.size());
      appendPod(args, in);
      args += data;
      return k.send(FUSE_WRITE, h->node, uid, args);
    }
    case 14:
    case 15: {  // FLUSH, FSYNC
      const Kernel::Handle* h = k.handle(b, false);
      if (h == nullptr) return okStatus();
      if (op % 26 == 14) {
        fuse_flush_in in{};
        in.fh = h->fh;
        appendPod(args, in);
        return k.send(FUSE_FLUSH, h->node, uid, args);
      }
      fuse_fsync_in in{};
      in.fh = h->fh;
      in.fsync_flags = b.u8() & 1;
      appendPod(args, in);
      return k.send(FUSE_FSYNC, h->node, uid, args);
    }
    case 16:
    case 17: {  // RELEASE, RELEASEDIR
      const bool dir = op % 26 == 17;
      const Kernel::Handle* h = k.handle(b, dir);
      if (h == nullptr) return okStatus();
      fuse_release_in in{};
      in.fh = h->fh;
      appendPod(args, in);
      const std::uint64_t node = h->node;
      k.dropHandle(h);
      return k.send(dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node, uid, args);
    }
    case 18: {  // READDIR
      const Kernel::Handle* h = k.handle(b, true);
      if (h == nullptr) return okStatus();
      fuse_read_in in{};
      in.fh = h->fh;
      in.offset = b.u8() & 1 ? b.u8() : b.u64();  // userspace may seekdir anywhere
      in.size = b.u16();
      appendPod(args, in);
      return k.send(FUSE_READDIR, h->node, uid, args, in.size);
    }
    case 19: {  // FSYNCDIR
      const Kernel::Handle* h = k.handle(b, true);
      if (h == nullptr) return okStatus();
      fuse_fsync_in in{};
      in.fh = h->fh;
      appendPod(args, in);
      return k.send(FUSE_FSYNCDIR, h->node, uid, args);
    }
    case 20:  // STATFS
      return k.send(FUSE_STATFS, k.node(b), uid, args);
    case 21: {  // GETXATTR
      fuse_getxattr_in in{};
      const std::uint64_t node = k.node(b);
      in.size = b.u8() & 1 ? 0 : b.u16();
      appendPod(args, in);
      static constexpr std::string_view kXattrs[] = {"user.seams.version", "security.capability",
                                                     "user.other"};
      const std::uint8_t pick = b.u8();
      args += cstr(pick < 240 ? std::string(kXattrs[pick % std::size(kXattrs)]) : name(b));
      return k.send(FUSE_GETXATTR, node, uid, args,
                    in.size == 0 ? sizeof(fuse_getxattr_out) : in.size);
    }
    case 22: {  // LISTXATTR
      fuse_getxattr_in in{};
      const std::uint64_t node = k.node(b);
      in.size = b.u8() & 1 ? 0 : b.u16();
      appendPod(args, in);
      return k.send(FUSE_LISTXATTR, node, uid, args,
                    in.size == 0 ? sizeof(fuse_getxattr_out) : in.size);
    }
    case 23: {  // ACCESS
      fuse_access_in in{};
      const std::uint64_t node = k.node(b);
      in.mask = b.u8() & 7;
      appendPod(args, in);
      return k.send(FUSE_ACCESS, node, uid, args);
    }
    case 24: {  // BATCH_FORGET of everything one node holds
      auto& refs = k.lookups();
      if (refs.empty()) return okStatus();
      auto it = refs.begin();
      std::advance(it, b.u8() % refs.size());
      fuse_batch_forget_in in{};
      in.count = 1;
      fuse_forget_one one{};
      one.nodeid = it->first;
      one.nlookup = it->second;
      refs.erase(it);
      appendPod(args, in);
      appendPod(args, one);
      return k.send(FUSE_BATCH_FORGET, 0, uid, args);
    }
    default: {  // an operation the frontend does not implement: libfuse answers ENOSYS
      static constexpr std::uint32_t kOthers[] = {FUSE_READLINK,  FUSE_SYMLINK,  FUSE_MKNOD,
                                                  FUSE_LINK,      FUSE_SETXATTR, FUSE_REMOVEXATTR,
                                                  FUSE_FALLOCATE, FUSE_LSEEK};
      const std::uint32_t opcode = kOthers[b.u8() % std::size(kOthers)];
      args.assign(128, '\0');
      args += "x";
      args += '\0';
      args += "y";
      args += '\0';
      return k.send(opcode, k.node(b), uid, args);
    }
  }
}

// What an unmount leaves behind in the kernel: every handle released, every node forgotten.
Status unmount(Kernel& k) {
  while (!k.handles().empty()) {
    const Kernel::Handle h = k.handles().back();
    k.handles().pop_back();
    fuse_release_in in{};
    in.fh = h.fh;
    std::string args;
    appendPod(args, in);
    SEAMS_RETURN_IF_ERROR(k.send(h.dir ? FUSE_RELEASEDIR : FUSE_RELEASE, h.node, 0, args));
  }
  for (auto& [node, count] : k.lookups()) {
    fuse_forget_in in{};
    in.nlookup = count;
    std::string args;
    appendPod(args, in);
    SEAMS_RETURN_IF_ERROR(k.send(FUSE_FORGET, node, 0, args));
  }
  k.lookups().clear();
  return okStatus();
}

}  // namespace

Status fuzzFuse(std::string_view input) {
  static MemoryVault* vault = new MemoryVault();
  static MemoryAuth* auth = new MemoryAuth();
  static SystemClock* clock = new SystemClock();
  vault->reset();
  auth->reset();

  FuseConfig config;
  config.mountpoint = "/nonexistent";  // never mounted
  FuseFrontend fs(*vault, *auth, config, *clock);
  auto session = UnmountedSession::open(fs);
  if (!session.ok()) return session.status();
  Kernel kernel(**session);
  SEAMS_RETURN_IF_ERROR(kernel.init());
  Bytes bytes(input);
  for (int i = 0; i < 64 && !bytes.empty(); ++i) {
    SEAMS_RETURN_IF_ERROR(step(kernel, bytes));
  }
  SEAMS_RETURN_IF_ERROR(unmount(kernel));
  if (fs.health().handler_exceptions != 0) {
    return Status(Errc::internal, "a FUSE handler threw (see the log)");
  }
  return okStatus();
}

}  // namespace seams::fuzz

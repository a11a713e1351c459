#define FUSE_USE_VERSION 312
#include "core/fuse/fuse_ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fuse/fuse_frontend.h"

namespace seams {
namespace {

constexpr std::string_view kVersionXattr = "user.seams.version";

// The frontend whose request handler runs on this thread, if any. The change listener compares
// it with itself: a change this frontend's own handler made must not be notified from inside
// that handler (see the header). Per frontend, not a bool, so a second mount of the same Vault
// is still told about changes made through the first.
thread_local const FuseFrontend* t_handling = nullptr;

int errnoOf(const Status& s) {
  const int e = toErrno(s.code());
  return e == 0 ? EIO : e;
}

}  // namespace

// The libfuse callbacks. Each one runs its body through handle(), which marks the thread,
// tracks the request for the heartbeat and turns any exception into EIO: nothing escapes into
// libfuse's C frames. A body returns 0 once it has replied, or the errno to reply with; the
// reply is always its last action, so an exception can never follow a reply.
class FuseOps {
 public:
  static fuse_lowlevel_ops table() {
    fuse_lowlevel_ops ops{};
    ops.init = &FuseOps::init;
    ops.lookup = &FuseOps::lookup;
    ops.forget = &FuseOps::forget;
    ops.forget_multi = &FuseOps::forgetMulti;
    ops.getattr = &FuseOps::getattr;
    ops.setattr = &FuseOps::setattr;
    ops.mkdir = &FuseOps::mkdir;
    ops.unlink = &FuseOps::unlink;
    ops.rmdir = &FuseOps::rmdir;
    ops.rename = &FuseOps::rename;
    ops.open = &FuseOps::open;
    ops.read = &FuseOps::read;
    ops.write = &FuseOps::write;
    ops.flush = &FuseOps::flush;
    ops.release = &FuseOps::release;
    ops.fsync = &FuseOps::fsync;
    ops.opendir = &FuseOps::opendir;
    ops.readdir = &FuseOps::readdir;
    ops.releasedir = &FuseOps::releasedir;
    ops.fsyncdir = &FuseOps::fsyncdir;
    ops.statfs = &FuseOps::statfs;
    ops.getxattr = &FuseOps::getxattr;
    ops.listxattr = &FuseOps::listxattr;
    ops.access = &FuseOps::access;
    ops.create = &FuseOps::create;
    return ops;
  }

 private:
  using DirHandle = FuseFrontend::DirHandle;
  using OpenFile = FuseFrontend::OpenFile;

  // The open file behind a request's fi, or null (fi absent or without a handle).
  static OpenFile* fileOf(const fuse_file_info* fi) {
    return fi != nullptr ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
  }

  // The name whose rules govern an open file: the node's name, or, once the node has none
  // (unlinked or replaced through the mount), the name the file was opened under.
  static VaultPath ruleName(FuseFrontend& fs, fuse_ino_t ino, const OpenFile& file) {
    if (auto path = fs.inodes_.path(ino)) return std::move(*path);
    return file.opened_as;
  }

  // The kernel forgot the node: its last backing inode need not be remembered.
  static void forgetBacking(FuseFrontend& fs, fuse_ino_t ino) {
    if (fs.inodes_.lookupCount(ino) != 0) return;
    MutexLock lock(fs.files_mutex_);
    fs.backing_.erase(ino);
  }

  // An open file of node `ino`, for requests that come without one: the kernel's fstat sends
  // GETATTR without a handle, and on an unlinked file the node has no name left to stat.
  static std::optional<HandleId> anyOpenFile(FuseFrontend& fs, fuse_ino_t ino,
                                             VaultPath* opened_as) {
    MutexLock lock(fs.files_mutex_);
    auto it = fs.open_files_.find(ino);
    if (it == fs.open_files_.end()) return std::nullopt;
    *opened_as = it->second->opened_as;
    return it->second->handle;
  }

  // Opens `path` in the vault by the open flags and hands the handle to fi. REQUIRES:
  // setOpenFlags(fi) done (this may take keep_cache back and set direct_io).
  static int openHandle(FuseFrontend& fs, fuse_ino_t ino, const VaultPath& path, fuse_file_info* fi,
                        FileAttr* attr) {
    const int acc = fi->flags & O_ACCMODE;
    std::uint32_t mode = 0;
    if (acc == O_RDONLY || acc == O_RDWR) mode |= OpenMode::kRead;
    if (acc == O_WRONLY || acc == O_RDWR) mode |= OpenMode::kWrite;
    // O_RDONLY|O_TRUNC truncates on Linux; Need::open asked for write access.
    if (fi->flags & O_TRUNC) mode |= OpenMode::kWrite | OpenMode::kTruncate;
    auto opened = fs.vault_.open(path, mode);
    if (!opened.ok()) return errnoOf(opened.status());
    if (attr != nullptr) *attr = opened->attr;
    auto file = std::make_unique<OpenFile>(OpenFile{opened->handle, path, ino, opened->attr.inode});
    {
      // Node ids name paths, so one node can stand for two backing files over time (a put or
      // a rename behind the mount replaces the file under the same name). The kernel's page
      // cache is per node: drop it when this open finds another file than the last open did,
      // and bypass it while another open file of the node is a different file.
      MutexLock lock(fs.files_mutex_);
      auto [last, fresh] = fs.backing_.try_emplace(ino, file->backing_inode);
      if (!fresh && last->second != file->backing_inode) {
        fi->keep_cache = 0;
        last->second = file->backing_inode;
      }
      auto [first, end] = fs.open_files_.equal_range(ino);
      for (auto it = first; it != end; ++it) {
        if (it->second->backing_inode != file->backing_inode) fi->direct_io = 1;
      }
      fs.open_files_.emplace(ino, file.get());
    }
    fi->fh = reinterpret_cast<std::uint64_t>(file.release());
    return 0;
  }

  // Gives an open file back to the vault (the kernel's release, or an open it never received).
  static void closeHandle(FuseFrontend& fs, OpenFile* file) {
    std::unique_ptr<OpenFile> owned(file);
    {
      MutexLock lock(fs.files_mutex_);
      auto [first, end] = fs.open_files_.equal_range(file->ino);
      for (auto it = first; it != end; ++it) {
        if (it->second == file) {
          fs.open_files_.erase(it);
          break;
        }
      }
    }
    Status s = fs.vault_.release(owned->handle);
    if (!s.ok() && s.code() != Errc::bad_handle) {
      spdlog::warn("fuse: releasing {}: {}", owned->opened_as.str(), s.toString());
    }
  }

  static FuseFrontend& self(fuse_req_t req) {
    return *static_cast<FuseFrontend*>(fuse_req_userdata(req));
  }

  template <typename Body>
  static void handle(fuse_req_t req, Body&& body) noexcept {
    FuseFrontend& fs = self(req);
    InFlightTracker::Scope tracked(fs.in_flight_);
    const FuseFrontend* previous = t_handling;
    t_handling = &fs;
    int err = 0;
    try {
      err = body(fs);
    } catch (const std::exception& e) {
      fs.handler_exceptions_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("fuse: handler threw: {}", e.what());
      err = EIO;
    } catch (...) {
      fs.handler_exceptions_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("fuse: handler threw a non-standard exception");
      err = EIO;
    }
    t_handling = previous;
    if (err != 0) fuse_reply_err(req, err);
  }

  // Marks a Vault mutation made by a handler (see onVaultChange()). With the path(s) it changes,
  // it is also an OwnChanges::Scope: say changed(version) / removed() once the Vault call
  // succeeded, so the feed's echo of this change leaves the kernel alone (own_changes.h).
  class Mutating {
   public:
    explicit Mutating(FuseFrontend& fs) : fs_(fs) { begin(); }
    Mutating(FuseFrontend& fs, const VaultPath& path) : fs_(fs) {
      begin();
      scope_.emplace(fs.own_, path);
    }
    Mutating(FuseFrontend& fs, const VaultPath& from, const VaultPath& to) : fs_(fs) {
      begin();
      scope_.emplace(fs.own_, from, to);
    }
    ~Mutating() {
      scope_.reset();
      fs_.mutations_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    }
    Mutating(const Mutating&) = delete;
    Mutating& operator=(const Mutating&) = delete;

    void changed(std::uint64_t version) {
      if (scope_) scope_->changed(version);
    }
    void removed() {
      if (scope_) scope_->removed();
    }

   private:
    void begin() { fs_.mutations_in_flight_.fetch_add(1, std::memory_order_acq_rel); }
    FuseFrontend& fs_;
    std::optional<OwnChanges::Scope> scope_;
  };

  // --- who, where, may they -------------------------------------------------------------------

  static Result<Principal> caller(FuseFrontend& fs, fuse_req_t req) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    auto who = fs.auth_.principalForUid(ctx->uid);
    if (!who.ok() && who.code() == Errc::not_found) {
      return Status(Errc::permission_denied, "uid " + std::to_string(ctx->uid) + " is not mapped");
    }
    return who;
  }

  static Result<VaultPath> pathOf(FuseFrontend& fs, fuse_ino_t ino) {
    auto path = fs.inodes_.path(ino);
    if (!path) return Status(Errc::not_found, "node " + std::to_string(ino) + " is gone");
    return std::move(*path);
  }

  // The path of `name` in directory `parent`, or the vault's refusal of the name (the reserved
  // ".seams", a name too long); onName() decides which errno that is.
  static Result<VaultPath> childOf(FuseFrontend& fs, fuse_ino_t parent, const char* name) {
    auto dir = pathOf(fs, parent);
    if (!dir.ok()) return dir.status();
    return dir->child(name);
  }

  static int allow(FuseFrontend& fs, const Principal& who, const VaultPath& path, Access access) {
    Status s = fs.auth_.check(who, path, access);
    return s.ok() ? 0 : errnoOf(s);
  }

  // Metadata is visible to whoever may read the object or list it.
  static int allowMeta(FuseFrontend& fs, const Principal& who, const VaultPath& path) {
    Status s = fs.auth_.check(who, path, Access::read);
    if (s.ok()) return 0;
    if (s.code() != Errc::permission_denied) return errnoOf(s);
    Status l = fs.auth_.check(who, path, Access::list);
    return l.ok() ? 0 : errnoOf(l);
  }

  // The access a callback needs on its target (the table in fuse_frontend.h).
  enum class Need : std::uint8_t {
    mapped,  // only a mapped uid
    meta,    // read or list (allowMeta)
    read,
    list,
    write,
    open,    // read and/or write by the open flags (O_TRUNC: write)
    create,  // write, and read unless O_WRONLY
  };

  static int allowed(FuseFrontend& fs, const Principal& who, const VaultPath& path, Need need,
                     int open_flags) {
    switch (need) {
      case Need::mapped:
        return 0;
      case Need::meta:
        return allowMeta(fs, who, path);
      case Need::read:
        return allow(fs, who, path, Access::read);
      case Need::list:
        return allow(fs, who, path, Access::list);
      case Need::write:
        return allow(fs, who, path, Access::write);
      case Need::open: {
        const int mode = open_flags & O_ACCMODE;
        if (mode == O_RDONLY || mode == O_RDWR) {
          if (int err = allow(fs, who, path, Access::read)) return err;
        }
        if (mode == O_WRONLY || mode == O_RDWR || (open_flags & O_TRUNC)) {
          return allow(fs, who, path, Access::write);
        }
        return 0;
      }
      case Need::create:
        if (int err = allow(fs, who, path, Access::write)) return err;
        if ((open_flags & O_ACCMODE) != O_WRONLY) return allow(fs, who, path, Access::read);
        return 0;
    }
    return EIO;
  }

  // What a callback acts on once its preamble let it through; `err` is otherwise the errno to
  // answer with.
  struct Target {
    int err = 0;
    Principal who;
    VaultPath path;
  };

  static Target checked(FuseFrontend& fs, Principal who, VaultPath path, Need need, int flags) {
    const int err = allowed(fs, who, path, need, flags);
    return {err, std::move(who), std::move(path)};
  }

  // The preamble of a callback on node `ino`: who asks (EACCES for an unmapped uid), the node's
  // path (ENOENT once the node is gone) and whether they may (`open_flags` for Need::open).
  static Target onNode(FuseFrontend& fs, fuse_req_t req, fuse_ino_t ino, Need need,
                       int open_flags = 0) {
    auto who = caller(fs, req);
    if (!who.ok()) return {errnoOf(who.status())};
    auto path = pathOf(fs, ino);
    if (!path.ok()) return {ENOENT};
    return checked(fs, std::move(*who), std::move(*path), need, open_flags);
  }

  // Whether a callback's name must already be there (lookup, unlink, rmdir, rename's source): a
  // name the vault refuses (the reserved ".seams") then simply is not there, ENOENT, or
  // ENAMETOOLONG; a name to be made (mkdir, create) is refused with the vault's errno.
  enum class Name : std::uint8_t { existing, made };

  // The preamble of a callback on `name` in directory `parent`, as onNode().
  static Target onName(FuseFrontend& fs, fuse_req_t req, fuse_ino_t parent, const char* name,
                       Name kind, Need need, int open_flags = 0) {
    auto who = caller(fs, req);
    if (!who.ok()) return {errnoOf(who.status())};
    auto path = childOf(fs, parent, name);
    if (!path.ok()) {
      if (kind == Name::made) return {errnoOf(path.status())};
      return {path.code() == Errc::name_too_long ? ENAMETOOLONG : ENOENT};
    }
    return checked(fs, std::move(*who), std::move(*path), need, open_flags);
  }

  // The preamble of a callback on an open file (`file`, from fi): EBADF without one; the path is
  // the name whose rules govern it (ruleName()).
  static Target onOpenFile(FuseFrontend& fs, fuse_req_t req, fuse_ino_t ino, const OpenFile* file,
                           Need need) {
    auto who = caller(fs, req);
    if (!who.ok()) return {errnoOf(who.status())};
    if (file == nullptr) return {EBADF};
    return checked(fs, std::move(*who), ruleName(fs, ino, *file), need, 0);
  }

  // --- replies --------------------------------------------------------------------------------

  static struct timespec timespecOf(std::int64_t ns) {
    struct timespec t {};
    t.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    t.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (t.tv_nsec < 0) {  // before the epoch
      t.tv_nsec += 1'000'000'000;
      t.tv_sec -= 1;
    }
    return t;
  }

  static std::int64_t nsOf(const struct timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  }

  // What a setattr asks of the vault beyond the size, or an errno. Ownership: root may set any
  // owner (stored, presented); anyone else only what is already shown (chown to oneself, as
  // cp -a and tar do), else EPERM as a POSIX filesystem without CAP_CHOWN would say.
  static int attrChangeOf(FuseFrontend& fs, fuse_req_t req, const VaultPath& path,
                          const struct stat& in, int to_set, AttrChange& c) {
    if (to_set & FUSE_SET_ATTR_MODE) {
      c.what |= AttrChange::kMode;
      c.mode = in.st_mode & 07777;
    }
    if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
      auto now = fs.vault_.stat(path);
      if (!now.ok()) return errnoOf(now.status());
      const std::uint32_t uid = now->owner_set ? now->uid : fs.owner_uid_;
      const std::uint32_t gid = now->owner_set ? now->gid : fs.owner_gid_;
      const bool root = fuse_req_ctx(req)->uid == 0;
      if ((to_set & FUSE_SET_ATTR_UID) && in.st_uid != uid) {
        if (!root) return EPERM;
        c.what |= AttrChange::kUid;
        c.uid = in.st_uid;
      }
      if ((to_set & FUSE_SET_ATTR_GID) && in.st_gid != gid) {
        if (!root) return EPERM;
        c.what |= AttrChange::kGid;
        c.gid = in.st_gid;
      }
    }
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      c.what |= AttrChange::kAtimeNow;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      c.what |= AttrChange::kAtime;
      c.atime_ns = nsOf(in.st_atim);
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      c.what |= AttrChange::kMtimeNow;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      c.what |= AttrChange::kMtime;
      c.mtime_ns = nsOf(in.st_mtim);
    }
    return 0;
  }

  // `by_handle`: attributes from statHandle/truncateHandle, where nlink 0 means unlinked (every
  // peer that has handles has the field); elsewhere 0 is a peer that predates it.
  static struct stat toStat(const FuseFrontend& fs, fuse_ino_t ino, const FileAttr& a,
                            bool by_handle = false) {
    struct stat st {};
    const bool dir = a.type == FileType::directory;
    // The backing inode: stable for the file's life, whatever node id the kernel holds for it
    // now (a node the kernel forgot gets a new id at the next lookup). The node id only when
    // the owner did not say (an older peer).
    st.st_ino = a.inode != 0 ? a.inode : ino;
    st.st_mode = (dir ? S_IFDIR : S_IFREG) | (a.mode & 07777);  // 0000 is a mode like any other
    st.st_nlink = a.nlink != 0 || by_handle ? a.nlink : (dir ? 2 : 1);
    st.st_uid = a.owner_set ? a.uid : fs.owner_uid_;
    st.st_gid = a.owner_set ? a.gid : fs.owner_gid_;
    st.st_size = static_cast<off_t>(a.size);
    st.st_blksize = 4096;
    st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
    st.st_mtim = timespecOf(a.mtime_ns);
    st.st_atim = timespecOf(a.atime_ns != 0 ? a.atime_ns : a.mtime_ns);
    st.st_ctim = timespecOf(a.ctime_ns != 0 ? a.ctime_ns : a.mtime_ns);
    return st;
  }

  // Replies with an entry for `path`, counting the kernel's new reference to its node.
  static int replyEntry(FuseFrontend& fs, fuse_req_t req, const VaultPath& path,
                        const FileAttr& attr) {
    fuse_entry_param e{};
    e.ino = fs.inodes_.remember(path, attr.inode);
    e.generation = 0;  // node ids are never reused
    e.attr = toStat(fs, e.ino, attr);
    e.attr_timeout = fs.config_.attr_timeout_s;
    e.entry_timeout = fs.config_.entry_timeout_s;
    // An interrupted request never reached the kernel, which will therefore never forget it.
    if (fuse_reply_entry(req, &e) == -ENOENT) fs.inodes_.forget(e.ino, 1);
    return 0;
  }

  static void setOpenFlags(const FuseFrontend& fs, fuse_file_info* fi) {
    fi->keep_cache = fs.config_.kernel_cache ? 1 : 0;
    // Every write reaches the vault before it is acknowledged, so close() has nothing to flush.
    fi->noflush = 1;
  }

  // --- callbacks ------------------------------------------------------------------------------

  static void init(void* userdata, fuse_conn_info* conn) noexcept {
    auto& fs = *static_cast<FuseFrontend*>(userdata);
    // The kernel's write-back cache would acknowledge writes before the vault has them and
    // would keep dirty pages a remote change cannot invalidate cleanly: keep it off.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    // O_TRUNC arrives with open() (one request instead of setattr + open).
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    // Node ids are paths; they cannot be resolved from a file handle after a reboot.
    conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
    {
      MutexLock lock(fs.ready_mutex_);
      fs.init_done_ = true;
    }
    fs.ready_cv_.notify_all();
  }

  static void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onName(fs, req, parent, name, Name::existing, Need::meta);
      if (t.err != 0) return t.err;
      auto attr = fs.vault_.stat(t.path);
      if (!attr.ok()) {
        if (attr.code() != Errc::not_found) return errnoOf(attr.status());
        // A negative entry: the kernel remembers the miss for entry_timeout; a creation made
        // elsewhere invalidates it (onVaultChange).
        fuse_entry_param e{};
        e.ino = 0;
        e.entry_timeout = fs.config_.entry_timeout_s;
        fuse_reply_entry(req, &e);
        return 0;
      }
      return replyEntry(fs, req, t.path, *attr);
    });
  }

  static void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    handle(req, [&](FuseFrontend& fs) -> int {
      fs.inodes_.forget(ino, nlookup);
      forgetBacking(fs, ino);
      fuse_reply_none(req);
      return 0;
    });
  }

  static void forgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    handle(req, [&](FuseFrontend& fs) -> int {
      for (size_t i = 0; i < count; ++i) {
        fs.inodes_.forget(forgets[i].ino, forgets[i].nlookup);
        forgetBacking(fs, forgets[i].ino);
      }
      fuse_reply_none(req);
      return 0;
    });
  }

  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      // fstat: the kernel sends the handle only for regular files. The open file answers even
      // once its name is gone (nlink 0).
      if (OpenFile* file = fileOf(fi)) {
        Target t = onOpenFile(fs, req, ino, file, Need::meta);
        if (t.err != 0) return t.err;
        auto attr = fs.vault_.statHandle(file->handle);
        if (!attr.ok()) return errnoOf(attr.status());
        const struct stat st = toStat(fs, ino, *attr, /*by_handle=*/true);
        fuse_reply_attr(req, &st, fs.config_.attr_timeout_s);
        return 0;
      }
      auto who = caller(fs, req);
      if (!who.ok()) return errnoOf(who.status());
      auto path = pathOf(fs, ino);
      if (!path.ok()) {
        // Detached (unlinked or replaced through the mount) but perhaps still open: fstat.
        VaultPath opened_as;
        std::optional<HandleId> open = anyOpenFile(fs, ino, &opened_as);
        if (!open) return ENOENT;
        if (int err = allowMeta(fs, *who, opened_as)) return err;
        auto attr = fs.vault_.statHandle(*open);
        if (!attr.ok()) return attr.code() == Errc::bad_handle ? ENOENT : errnoOf(attr.status());
        const struct stat st = toStat(fs, ino, *attr, /*by_handle=*/true);
        fuse_reply_attr(req, &st, fs.config_.attr_timeout_s);
        return 0;
      }
      if (int err = allowMeta(fs, *who, *path)) return err;
      auto attr = fs.vault_.stat(*path);
      if (!attr.ok()) return errnoOf(attr.status());
      const struct stat st = toStat(fs, ino, *attr);
      fuse_reply_attr(req, &st, fs.config_.attr_timeout_s);
      return 0;
    });
  }

  static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                      fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      // ftruncate: by handle, so it reaches the open file whatever became of its name. (fi is
      // read only with a size: futimens on a directory also brings one, a DirHandle.)
      OpenFile* file = (to_set & FUSE_SET_ATTR_SIZE) ? fileOf(fi) : nullptr;
      if (file != nullptr && !(to_set & ~FUSE_SET_ATTR_SIZE & ~FUSE_SET_ATTR_CTIME)) {
        Target t = onOpenFile(fs, req, ino, file, Need::write);
        if (t.err != 0) return t.err;
        Mutating mutating(fs, t.path);
        auto result =
            fs.vault_.truncateHandle(file->handle, static_cast<std::uint64_t>(attr->st_size));
        if (!result.ok()) return errnoOf(result.status());
        mutating.changed(result->version);
        const struct stat st = toStat(fs, ino, *result, /*by_handle=*/true);
        fuse_reply_attr(req, &st, fs.config_.attr_timeout_s);
        return 0;
      }
      Target t = onNode(fs, req, ino, Need::write);
      if (t.err != 0) return t.err;
      const VaultPath& path = t.path;
      AttrChange change;
      if (int err = attrChangeOf(fs, req, path, *attr, to_set, change)) return err;
      Mutating mutating(fs, path);
      Result<FileAttr> result =
          (to_set & FUSE_SET_ATTR_SIZE)
              ? fs.vault_.truncate(path, static_cast<std::uint64_t>(attr->st_size))
              : Result<FileAttr>(Status(Errc::internal, "unset"));
      if ((to_set & FUSE_SET_ATTR_SIZE) && !result.ok()) return errnoOf(result.status());
      if (result.ok()) mutating.changed(result->version);  // the truncate's, if both
      if (change.what != 0) {
        result = fs.vault_.setAttributes(path, change);
      } else if (!(to_set & FUSE_SET_ATTR_SIZE)) {
        result = fs.vault_.stat(path);  // nothing to change: chown to what is shown
      }
      if (!result.ok()) return errnoOf(result.status());
      if (change.what != 0) mutating.changed(result->version);
      const struct stat st = toStat(fs, ino, *result);
      fuse_reply_attr(req, &st, fs.config_.attr_timeout_s);
      return 0;
    });
  }

  static void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onName(fs, req, parent, name, Name::made, Need::write);
      if (t.err != 0) return t.err;
      Mutating mutating(fs, t.path);
      auto attr = fs.vault_.mkdir(t.path, mode & 07777);
      if (!attr.ok()) return errnoOf(attr.status());
      mutating.changed(attr->version);
      return replyEntry(fs, req, t.path, *attr);
    });
  }

  static void removeName(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onName(fs, req, parent, name, Name::existing, Need::write);
      if (t.err != 0) return t.err;
      Mutating mutating(fs, t.path);
      Status s = dir ? fs.vault_.rmdir(t.path) : fs.vault_.unlink(t.path);
      if (!s.ok()) return errnoOf(s);
      mutating.removed();
      fs.inodes_.detach(t.path);
      fuse_reply_err(req, 0);
      return 0;
    });
  }
  static void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    removeName(req, parent, name, false);
  }
  static void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    removeName(req, parent, name, true);
  }

  static void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                     const char* newname, unsigned int flags) {
    handle(req, [&](FuseFrontend& fs) -> int {
      if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return EINVAL;  // RENAME_EXCHANGE
      // Both names are resolved before either is checked.
      Target source = onName(fs, req, parent, name, Name::existing, Need::mapped);
      if (source.err != 0) return source.err;
      const VaultPath& from = source.path;
      auto to = childOf(fs, newparent, newname);
      if (!to.ok()) return errnoOf(to.status());
      if (int err = allow(fs, source.who, from, Access::write)) return err;
      if (int err = allow(fs, source.who, *to, Access::write)) return err;
      if (flags & RENAME_NOREPLACE) {
        // Not atomic with the rename; the vault has no no-replace rename. Good enough for
        // tools that ask for it (mv -n), which also check themselves.
        auto existing = fs.vault_.stat(*to);
        if (existing.ok()) return EEXIST;
        if (existing.code() != Errc::not_found) return errnoOf(existing.status());
      }
      Mutating mutating(fs, from, *to);
      auto attr = fs.vault_.rename(from, *to);
      if (!attr.ok()) return errnoOf(attr.status());
      mutating.changed(attr->version);
      fs.inodes_.rename(from, *to);
      fuse_reply_err(req, 0);
      return 0;
    });
  }

  static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onNode(fs, req, ino, Need::open, fi->flags);
      if (t.err != 0) return t.err;
      setOpenFlags(fs, fi);
      {
        std::optional<Mutating> mutating;
        if (fi->flags & O_TRUNC) mutating.emplace(fs, t.path);  // O_TRUNC changes the file
        FileAttr opened;
        if (int err = openHandle(fs, ino, t.path, fi, &opened)) return err;
        if (mutating) mutating->changed(opened.version);
      }
      // An interrupted open never reached the kernel, which will never release it.
      if (fuse_reply_open(req, fi) == -ENOENT) closeHandle(fs, fileOf(fi));
      return 0;
    });
  }

  static void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                     fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onName(fs, req, parent, name, Name::made, Need::create, fi->flags);
      if (t.err != 0) return t.err;
      const VaultPath& path = t.path;
      Mutating mutating(fs, path);
      auto attr = fs.vault_.create(path, mode & 07777);
      // Created elsewhere since the kernel's lookup: open the existing file, as open(2) would.
      if (!attr.ok() && !(attr.code() == Errc::already_exists && !(fi->flags & O_EXCL))) {
        return errnoOf(attr.status());
      }
      if (attr.ok()) mutating.changed(attr->version);
      fuse_entry_param e{};
      e.ino = fs.inodes_.remember(path, attr.ok() ? attr->inode : 0);
      setOpenFlags(fs, fi);
      FileAttr opened;
      if (int err = openHandle(fs, e.ino, path, fi, &opened)) {
        fs.inodes_.forget(e.ino, 1);  // the kernel never gets this entry
        return err;
      }
      if (!attr.ok() && (fi->flags & O_TRUNC)) mutating.changed(opened.version);
      e.attr = toStat(fs, e.ino, opened);
      e.attr_timeout = fs.config_.attr_timeout_s;
      e.entry_timeout = fs.config_.entry_timeout_s;
      if (fuse_reply_create(req, &e, fi) == -ENOENT) {
        fs.inodes_.forget(e.ino, 1);
        closeHandle(fs, fileOf(fi));
      }
      return 0;
    });
  }

  static void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      OpenFile* file = fileOf(fi);
      Target t = onOpenFile(fs, req, ino, file, Need::read);
      if (t.err != 0) return t.err;
      auto data = fs.vault_.readHandle(file->handle, static_cast<std::uint64_t>(off), size);
      if (!data.ok()) {
        // read(2) past the end returns 0 bytes; the vault calls that a bad range.
        if (data.code() == Errc::range_not_satisfiable) {
          fuse_reply_buf(req, nullptr, 0);
          return 0;
        }
        return errnoOf(data.status());
      }
      fuse_reply_buf(req, data->data.data(), data->data.size());
      return 0;
    });
  }

  static void write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                    fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      OpenFile* file = fileOf(fi);
      Target t = onOpenFile(fs, req, ino, file, Need::write);
      if (t.err != 0) return t.err;
      Mutating mutating(fs, t.path);
      auto attr = fs.vault_.writeHandle(file->handle, static_cast<std::uint64_t>(off), {buf, size});
      if (!attr.ok()) return errnoOf(attr.status());
      mutating.changed(attr->version);
      fuse_reply_write(req, size);
      return 0;
    });
  }

  static void flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    handle(req, [&](FuseFrontend& fs) -> int {
      auto who = caller(fs, req);
      if (!who.ok()) return errnoOf(who.status());
      fuse_reply_err(req, 0);  // writes are already in the vault
      return 0;
    });
  }

  static void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      if (OpenFile* file = fileOf(fi)) {
        fi->fh = 0;
        closeHandle(fs, file);
      }
      fuse_reply_err(req, 0);
      return 0;
    });
  }

  static void fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      auto who = caller(fs, req);
      if (!who.ok()) return errnoOf(who.status());
      if (OpenFile* file = fileOf(fi)) {
        Status s = fs.vault_.fsyncHandle(file->handle);
        if (!s.ok()) return errnoOf(s);
        fuse_reply_err(req, 0);
        return 0;
      }
      auto path = pathOf(fs, ino);
      if (!path.ok()) return ENOENT;
      Mutating mutating(fs);
      Status s = fs.vault_.fsync(*path);
      if (!s.ok()) return errnoOf(s);
      fuse_reply_err(req, 0);
      return 0;
    });
  }

  static void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onNode(fs, req, ino, Need::list);
      if (t.err != 0) return t.err;
      auto entries = fs.vault_.list(t.path);
      if (!entries.ok()) return errnoOf(entries.status());
      auto dir = std::make_unique<DirHandle>();
      dir->path = t.path;
      dir->entries = std::move(*entries);
      const DirHandle* key = dir.get();
      fi->fh = reinterpret_cast<std::uint64_t>(key);
      {
        // Registered until releasedir(), or until stop if the kernel never sends that.
        MutexLock lock(fs.files_mutex_);
        fs.open_dirs_.emplace(key, std::move(dir));
      }
      // An interrupted opendir never reached the kernel, which will never release it.
      if (fuse_reply_open(req, fi) == -ENOENT) {
        MutexLock lock(fs.files_mutex_);
        fs.open_dirs_.erase(key);
      }
      return 0;
    });
  }

  static void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      const auto* dir = reinterpret_cast<const DirHandle*>(fi->fh);
      if (dir == nullptr) return EBADF;
      std::string buf(size, '\0');
      std::size_t used = 0;
      // Offsets: 1 after ".", 2 after "..", 3 + i after entries[i].
      const std::size_t total = dir->entries.size() + 2;
      for (std::size_t i = static_cast<std::size_t>(off); i < total; ++i) {
        struct stat st {};
        const char* name;
        if (i < 2) {
          name = i == 0 ? "." : "..";
          st.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
          st.st_mode = S_IFDIR;
        } else {
          const DirEntry& entry = dir->entries[i - 2];
          name = entry.name.c_str();
          // d_ino: the backing inode, as st_ino (getcwd past PATH_MAX walks up comparing them);
          // from an owner that does not send it, the node id when the kernel has one, as
          // toStat() then does.
          st.st_ino = entry.attr.inode != 0 ? entry.attr.inode : i + 1;
          if (entry.attr.inode == 0) {
            if (auto child = dir->path.child(entry.name); child.ok()) {
              if (auto id = fs.inodes_.find(*child)) st.st_ino = *id;
            }
          }
          st.st_mode = entry.attr.type == FileType::directory ? S_IFDIR : S_IFREG;
        }
        const std::size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st,
                                                   static_cast<off_t>(i + 1));
        if (need > size - used) break;
        used += need;
      }
      fuse_reply_buf(req, buf.data(), used);
      return 0;
    });
  }

  static void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    handle(req, [&](FuseFrontend& fs) -> int {
      std::unique_ptr<DirHandle> dir;  // destroyed outside the lock
      {
        MutexLock lock(fs.files_mutex_);
        auto it = fs.open_dirs_.find(reinterpret_cast<const DirHandle*>(fi->fh));
        if (it != fs.open_dirs_.end()) {
          dir = std::move(it->second);
          fs.open_dirs_.erase(it);
        }
      }
      fi->fh = 0;
      fuse_reply_err(req, 0);
      return 0;
    });
  }

  static void fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
    handle(req, [&](FuseFrontend& fs) -> int {
      auto who = caller(fs, req);
      if (!who.ok()) return errnoOf(who.status());
      fuse_reply_err(req, 0);  // directory changes are made durable by the vault itself
      return 0;
    });
  }

  static void statfs(fuse_req_t req, fuse_ino_t) {
    handle(req, [&](FuseFrontend& fs) -> int {
      auto who = caller(fs, req);
      if (!who.ok()) return errnoOf(who.status());
      // The Vault interface has no capacity figures; report a filesystem of unknown size (like
      // /proc) with the limits that hold.
      struct statvfs sv {};
      sv.f_bsize = 4096;
      sv.f_frsize = 4096;
      sv.f_namemax = VaultPath::kMaxComponent;
      fuse_reply_statfs(req, &sv);
      return 0;
    });
  }

  // Replies to a getxattr/listxattr value: its size when asked for the size, ERANGE if the
  // caller's buffer is too small.
  static int replyXattr(fuse_req_t req, std::string_view value, size_t size) {
    if (size == 0) {
      fuse_reply_xattr(req, value.size());
      return 0;
    }
    if (size < value.size()) return ERANGE;
    fuse_reply_buf(req, value.data(), value.size());
    return 0;
  }

  static void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    handle(req, [&](FuseFrontend& fs) -> int {
      // Answered before anything else: the kernel asks for security.capability on writes.
      if (name != kVersionXattr) return ENODATA;
      Target t = onNode(fs, req, ino, Need::meta);
      if (t.err != 0) return t.err;
      auto attr = fs.vault_.stat(t.path);
      if (!attr.ok()) return errnoOf(attr.status());
      return replyXattr(req, std::to_string(attr->version), size);
    });
  }

  static void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    handle(req, [&](FuseFrontend& fs) -> int {
      Target t = onNode(fs, req, ino, Need::meta);
      if (t.err != 0) return t.err;
      static constexpr char kNames[] = "user.seams.version";  // with its NUL
      return replyXattr(req, std::string_view(kNames, sizeof kNames), size);
    });
  }

  static void access(fuse_req_t req, fuse_ino_t ino, int mask) {
    handle(req, [&](FuseFrontend& fs) -> int {
      // F_OK, R_OK and X_OK (search, for directories): whoever may see the object.
      Target t = onNode(fs, req, ino, Need::meta);
      if (t.err != 0) return t.err;
      if (mask & W_OK) {
        if (int err = allow(fs, t.who, t.path, Access::write)) return err;
      }
      fuse_reply_err(req, 0);
      return 0;
    });
  }
};

fuse_lowlevel_ops fuseOps() {
  return FuseOps::table();
}

bool handlingOnThisThread(const FuseFrontend& fs) noexcept {
  return t_handling == &fs;
}

}  // namespace seams

// Vault: the file service every frontend programs against.
//
// Implementations: LocalVault (core/vault/local_vault.h: storage + the FS cache, in-process) and
// the IPC client stubs in ipc/ (the same calls over a UNIX socket). A frontend cannot tell them
// apart, which is the point of the whole project.
//
// Versions. Every file and directory has a 64-bit version. Every change (write, put, truncate,
// setAttributes, create, rename onto, a change seen by sync) gives the changed file a new version
// greater than any version the vault has handed out before, across restarts too. So a reader that
// holds version v knows a later read returning w > v reflects a later change; drift is measured
// on this.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/change_event.h"
#include "core/common/file_attr.h"
#include "core/common/probe.h"
#include "core/common/status.h"
#include "core/common/subscription.h"
#include "core/common/vault_path.h"

namespace seams {

// A file opened by Vault::open(). The id names one open file of one client; it is never reused
// while the vault runs, so a stale or forged id is bad_handle, never another file.
using HandleId = std::uint64_t;

// How Vault::open() opens a file: bits, combined.
struct OpenMode {
  enum : std::uint32_t {
    kRead = 1u << 0,
    kWrite = 1u << 1,
    kTruncate = 1u << 2,  // to size 0 at open (needs kWrite): O_TRUNC
    kAll = (1u << 3) - 1,
  };
};

struct OpenedFile {
  HandleId handle = 0;
  FileAttr attr;  // after the open (and its truncation)

  friend bool operator==(const OpenedFile&, const OpenedFile&) = default;
};

class Vault {
 public:
  virtual ~Vault() = default;

  virtual Result<FileAttr> stat(const VaultPath& path) = 0;
  // Entries in name order. Errors: not_found, not_a_directory.
  virtual Result<std::vector<DirEntry>> list(const VaultPath& path) = 0;
  // Up to `length` bytes from `offset`; an offset past the end is range_not_satisfiable,
  // an offset at the end returns no bytes.
  virtual Result<ReadResult> read(const VaultPath& path, std::uint64_t offset,
                                  std::uint64_t length) = 0;
  // Writes into an existing file at offset (extending it); returns the new attributes.
  virtual Result<FileAttr> write(const VaultPath& path, std::uint64_t offset,
                                 std::string_view data) = 0;
  // Whole-file atomic replace (temp + fsync + rename), creating the file if needed. Once this
  // returns, the content survives kill -9 and power loss; a reader never sees a torn file.
  virtual Result<FileAttr> put(const VaultPath& path, std::string_view data) = 0;
  // Creates an empty file; already_exists if the name is taken.
  virtual Result<FileAttr> create(const VaultPath& path, std::uint32_t mode) = 0;
  virtual Result<FileAttr> mkdir(const VaultPath& path, std::uint32_t mode) = 0;
  virtual Status unlink(const VaultPath& path) = 0;
  virtual Status rmdir(const VaultPath& path) = 0;
  // Replaces `to` if it is a file (or an empty directory, when `from` is a directory).
  virtual Result<FileAttr> rename(const VaultPath& from, const VaultPath& to) = 0;
  virtual Result<FileAttr> truncate(const VaultPath& path, std::uint64_t size) = 0;
  // Sets presented attributes: permission bits, owner, atime/mtime (chmod, chown, utimensat).
  // The bits and the owner are stored as vault metadata and returned by stat/list; they do not
  // decide access (the Auth rules do) and never reach the backing file's own mode or owner,
  // which stay private. Times are the backing file's. A change: the entry gets a new version
  // and the feed reports `modified`. Who may call it is the frontend's decision (FUSE: write
  // access on the path, as for truncate; only root changes the owner).
  // Errors: not_found; invalid_argument for `what` bits beyond kAll or mode bits beyond 07777.
  virtual Result<FileAttr> setAttributes(const VaultPath& path, const AttrChange& change) = 0;
  // Flushes a file's data to stable storage (FUSE fsync; put() does this itself).
  virtual Status fsync(const VaultPath& path) = 0;

  // Handle-based I/O: POSIX's open-file semantics. An open file stays usable through its handle
  // until release(), whatever happens to its name meanwhile: unlinked (statHandle then shows
  // nlink 0, reads see the data, writes go to the orphaned file and are lost at release, as on
  // any filesystem), renamed (through the vault or behind its back), or replaced by a rename onto
  // it or by put() (the handle keeps the old file: readers see the content they opened).
  //
  // The vault's owner keeps the backing file open per handle, so the number is bounded: a client
  // that holds the limit gets too_many_open (EMFILE) until it releases one. Over IPC a handle
  // belongs to the client process that opened it, across all its connections (a frontend's
  // threads share its handles): another client's ids are bad_handle, and the server releases
  // every handle a client still holds when its last connection closes (a frontend that dies
  // leaks nothing). Path-based read/write/put stay: HTTP has no open files.
  //
  // Versions and the feed: a write or truncate by handle to a file that is still linked changes
  // it like write()/truncate() by path (a new version; `modified` for its current name, followed
  // through renames made through the vault). A change to an unlinked or replaced file publishes
  // nothing: no name shows it.
  //
  // Errors: open as read()/write() by path (not_found, is_a_directory, ...), invalid_argument for
  // mode bits beyond OpenMode::kAll or none of kRead/kWrite, too_many_open; by handle: bad_handle,
  // and permission_denied for a read on a handle opened without kRead or a write/truncate on one
  // opened without kWrite.
  virtual Result<OpenedFile> open(const VaultPath& path, std::uint32_t mode) = 0;
  // As read(): up to `length` bytes from `offset`; range_not_satisfiable past the end.
  virtual Result<ReadResult> readHandle(HandleId handle, std::uint64_t offset,
                                        std::uint64_t length) = 0;
  virtual Result<FileAttr> writeHandle(HandleId handle, std::uint64_t offset,
                                       std::string_view data) = 0;
  virtual Result<FileAttr> statHandle(HandleId handle) = 0;
  virtual Result<FileAttr> truncateHandle(HandleId handle, std::uint64_t size) = 0;
  virtual Status fsyncHandle(HandleId handle) = 0;
  // Closes the backing file; the handle is bad_handle afterwards.
  virtual Status release(HandleId handle) = 0;

  // Sync's entry point: `path` changed in the backing directory behind the vault's back (or
  // vanished). Assigns a new version, invalidates caches and reports the change on the feed.
  virtual Status reconcile(const VaultPath& path) = 0;

  // The coupling probe (core/common/probe.h): `work_us` microseconds of real CPU work (a
  // calibrated hash chain, core/vault/probe_work.h; not a sleep) done where the vault lives --
  // in the owner's process, across the seam in split -- answered with `reply_bytes` bytes
  // derived from it. Touches no file, changes nothing, publishes nothing; wrappers (caches,
  // per-connection views) pass it through uncached. Errors: invalid_argument when either is
  // beyond the owner's ProbeLimits (its config's [probe]).
  virtual Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) = 0;

  // Change feed: every change made through this vault (and by sync) is reported to each
  // subscriber, in the order the changes were made for any one path.
  virtual std::unique_ptr<Subscription> subscribe(ChangeListener listener) = 0;
};

}  // namespace seams

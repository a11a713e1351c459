// Storage: the vault's backing directory, and the only code that touches it.
//
// Confinement. Every path is resolved relative to a directory fd on the root with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), so no symlink in the
// backing directory is ever followed, anywhere in a path (a planted `ln -s /etc vault/etc` makes
// every call through it fail with invalid_argument, from ELOOP). Name-based calls (create,
// mkdir, unlink, rmdir, rename, put) open the parent directory that way and act on the last
// component with *at() calls that do not follow it: unlink or rename of a symlink acts on the
// link itself, never on its target. Symlinks and special files (fifos, sockets, devices) are
// invisible to list(); stat/read/write through them fail. Mount points inside the root are
// crossed (only an administrator can make one, deliberately), symlinks never.
//
// Privacy. Files are made 0600 (0700 when the owner x bit is asked for) and directories 0700,
// whatever mode a caller asks for: who may read what is the vault's permission model, not the
// backing directory's mode bits. Whether the root itself is private is checked by
// checkPrivateRoot() (private_root.h) before a daemon opens it.
//
// Presented attributes. The permission bits a caller asked for (create, mkdir, setAttributes) are
// kept in the xattr `user.seams.mode` (decimal) and the owner set by setAttributes in
// `user.seams.owner` ("uid:gid"), on the backing inode beside the version: they move with a
// rename, are carried over by put(), and go with unlink. Without them an entry shows its backing
// bits and no owner. atime/mtime are the backing inode's own (futimens); bumping the version
// writes an xattr, which moves ctime but never mtime. A directory's nlink is the backing one's
// (2 + subdirectories), less the hidden `.seams` at the root.
//
// Long paths. A vault path may be longer than PATH_MAX (VaultPath::kMaxLength); openBeneath()
// then walks down in PATH_MAX-sized pieces, each opened with the same confinement.
//
// Versions. Every file and directory has a 64-bit version, kept in the xattr `user.seams.version`
// of the backing inode. Versions come from one vault-wide counter persisted in `<root>/.seams/`
// (version_counter.h), so a version is never handed out twice, across restarts and across two
// Storage objects on one root (see open()). A change gives the changed entry a fresh version; a
// change of a directory's entries (create, mkdir, unlink, rmdir, rename into or out of it) gives
// the directory a fresh version too. An entry without the xattr (made outside the vault) gets a
// fresh version the first time it is seen.
//
// Atomicity. put() writes a temp file in `<root>/.seams/tmp/`, fsyncs it, sets its version xattr,
// renames it over the target and fsyncs the target's directory: readers see the old file or the
// new one, each with its own version, never a mix. In-place changes (write, truncate) and every
// version assignment of one path are serialised by a striped lock, and reads take the same stripe
// shared, so a read's bytes and version always belong together and a path's version never goes
// backwards. Every call opens its path only once it holds the lock, so it always acts on the
// inode the name points to at that moment, never on one a concurrent put() just replaced.
//
// Known limits. A hard link planted in the backing directory to a file elsewhere on the same
// filesystem is indistinguishable from a file (only root can make one to a file it does not own,
// with fs.protected_hardlinks). Name-based calls resolve the parent directory before taking the
// stripe lock, so a call racing a rename of one of its ancestors may land in the moved directory,
// as the same syscalls would.
//
// Thread-safety: every method may be called concurrently from any thread. stripes_[i] guards the
// content+version pairing of the paths hashing to i; when a call needs several stripes it takes
// them in index order. The version counter has its own lock (version_counter.h); recorded_mutex_
// guards recorded_ and is never held while taking another lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/common/file_attr.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/common/unique_fd.h"
#include "core/common/vault_path.h"
#include "core/storage/version_counter.h"

struct stat;

namespace seams {

// A whole file, as read in one go for the content cache.
struct FileContent {
  FileAttr attr;
  std::string data;
};

// What refresh() found behind the vault's back.
struct RefreshResult {
  enum class Change : std::uint8_t {
    unchanged = 0,  // exactly as the vault last left it (an echo of the vault's own change)
    modified = 1,   // changed; it now has a fresh version
    created = 2,    // first seen by the vault (no version yet, or one only a read assigned)
    removed = 3,    // gone, or no longer a regular file or directory
  };
  Change change = Change::unchanged;
  FileAttr attr;  // the entry's attributes, except for removed
};

class Storage {
 public:
  static constexpr std::string_view kVersionXattr = "user.seams.version";
  static constexpr std::uint64_t kVersionBlock = VersionCounter::kBlock;

  // Opens (creating `<root>/.seams/` and its tmp dir if needed) the vault rooted at `root`, which
  // must be an existing directory. One process owns a root at a time (an flock on `.seams/lock`
  // holding the owner's pid, released when the owner closes or dies): an open while another
  // process owns it fails with conflict. A second open in the owning process succeeds — a
  // supervised service restarted while frontends still hold the previous Vault — and the two
  // objects then take disjoint version blocks and each file's version still grows (a bump always
  // exceeds the version stored on the file), though two objects changing one file at the same
  // instant are not ordered against each other. The owner removes temp files a crash left behind.
  static Result<std::unique_ptr<Storage>> open(const std::string& root);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  Result<FileAttr> stat(const VaultPath& path);
  // Entries in name order, without the reserved `.seams` dir, symlinks or special files.
  Result<std::vector<DirEntry>> list(const VaultPath& path);
  // Up to `length` bytes from `offset`; an offset past the end is range_not_satisfiable.
  Result<ReadResult> read(const VaultPath& path, std::uint64_t offset, std::uint64_t length);
  // The whole file and its attributes, when it is at most `max_bytes` long; too_large otherwise.
  Result<FileContent> readAll(const VaultPath& path, std::uint64_t max_bytes);
  // Writes into an existing file at `offset` (extending it); not durable until fsync().
  Result<FileAttr> write(const VaultPath& path, std::uint64_t offset, std::string_view data);
  // Whole-file atomic, durable replace; creates the file (mode 0600) or keeps the old one's mode
  // less its group and other bits.
  // *created (when given) tells whether the name was new, i.e. the parent's entries changed.
  Result<FileAttr> put(const VaultPath& path, std::string_view data, bool* created = nullptr);
  Result<FileAttr> create(const VaultPath& path, std::uint32_t mode);
  Result<FileAttr> mkdir(const VaultPath& path, std::uint32_t mode);
  // Removes a file (or a symlink: the link itself). is_a_directory for a directory.
  Status unlink(const VaultPath& path);
  Status rmdir(const VaultPath& path);
  // rename(2) semantics; the moved entry gets a fresh version. invalid_argument when `from` is a
  // symlink (the vault does not move what it cannot see).
  Result<FileAttr> rename(const VaultPath& from, const VaultPath& to);
  Result<FileAttr> truncate(const VaultPath& path, std::uint64_t size);
  // Presented mode/owner (xattrs) and the backing inode's atime/mtime; a fresh version.
  // Errors: invalid_argument (unknown `what` bits, mode beyond 07777), not_found.
  Result<FileAttr> setAttributes(const VaultPath& path, const AttrChange& change);
  Status fsync(const VaultPath& path);
  // Sync's entry point: looks at an entry that may have changed behind the vault's back. An
  // entry changed (or new) gets a fresh version, and a new or vanished entry gives its directory
  // one. An entry exactly as the vault last left it — same inode and ctime as recorded after the
  // vault's own last change, which covers the inotify echo of every change the vault makes,
  // including its own xattr writes — is reported unchanged and nothing is bumped; so is a
  // vanished entry whose nearest surviving ancestor directory is unchanged (the vault removed it
  // itself). After a restart nothing is known yet, so the first refresh of each entry bumps it.
  Result<RefreshResult> refresh(const VaultPath& path);

  // ---- Open files: the backing of Vault's handles --------------------------------------------
  // An open file stays the same inode whatever happens to its name, so these act on the fd;
  // `path` is the name the caller believes the file has (null: it knows the file has none).
  // A change through the fd gives the file a fresh version only while the file is still linked
  // AND still the entry at `path` (checked under path's stripe, which also orders it against
  // path-based calls); otherwise the bytes change and the version does not, since no name shows
  // the file (an unlinked file, or one replaced or moved behind the caller's back). *at_path
  // tells which happened.

  struct OpenedBacking {
    UniqueFd fd;
    FileAttr attr;  // after the open (and its truncation)
  };
  // Opens the regular file at `path` (read-only, or read-write when `writable`), with the same
  // confinement as every other call. `truncate` (REQUIRES writable): to size 0 with a fresh
  // version, as truncate() does. Errors: as stat(); is_a_directory; invalid_argument for a
  // special file.
  Result<OpenedBacking> openFile(const VaultPath& path, bool writable, bool truncate);
  Result<FileAttr> writeOpen(int fd, const VaultPath* path, std::uint64_t offset,
                             std::string_view data, bool* at_path);
  Result<FileAttr> truncateOpen(int fd, const VaultPath* path, std::uint64_t size, bool* at_path);
  // As read(), by fd; with `path` the bytes and the version are read under its stripe, so they
  // belong together as read()'s do.
  Result<ReadResult> readOpen(int fd, const VaultPath* path, std::uint64_t offset,
                              std::uint64_t length);
  // The attributes of an open file; nlink is 0 once it is unlinked.
  Result<FileAttr> statOpen(int fd);
  Status fsyncOpen(int fd);

  // The next version the counter would hand out (for tests and diagnostics).
  std::uint64_t peekNextVersion() const { return versions_->peekNext(); }

 private:
  static constexpr std::size_t kStripes = 64;

  Storage(std::string root, UniqueFd root_fd, UniqueFd tmp_fd, UniqueFd state_fd, UniqueFd lock_fd,
          std::unique_ptr<VersionCounter> versions);

  // openat2 beneath the root with symlinks refused everywhere.
  Result<UniqueFd> openBeneath(const VaultPath& path, int flags, std::uint32_t mode = 0) const;
  Result<UniqueFd> openParent(const VaultPath& path) const;

  // Sets a fresh version on fd; returns it.
  Result<std::uint64_t> bumpVersion(int fd);
  // The stored version, or a fresh one set with XATTR_CREATE when the entry has none.
  Result<std::uint64_t> versionOf(int fd);
  // `st_out`: the fstat it made, for callers that need more than FileAttr holds.
  Result<FileAttr> attrOf(int fd, struct ::stat* st_out = nullptr);
  // Whether the open file `fd` is still linked and the entry at `path`. REQUIRES: path's stripe.
  Result<bool> isAtPath(int fd, const VaultPath& path) const;
  // Records the state the vault left an entry in (after its last change to it), for refresh().
  // `published`: the version was reported to the vault's clients as a change (false when only a
  // read assigned it on first sight).
  void remember(int fd, std::uint64_t version, bool published);
  // True when fd's entry is exactly as the vault last recorded it, with a published version.
  bool unchangedSinceRecorded(int fd, bool* known_unpublished = nullptr);
  // The nearest existing directory at or above `path`, opened.
  Result<std::pair<VaultPath, UniqueFd>> nearestExisting(const VaultPath& path) const;

  std::shared_mutex& stripe(const VaultPath& path);
  std::size_t stripeIndex(const VaultPath& path) const;

  const std::string root_;
  const UniqueFd root_fd_;
  const UniqueFd tmp_fd_;       // <root>/.seams/tmp
  const UniqueFd state_fd_;     // <root>/.seams
  const UniqueFd lock_fd_;      // <root>/.seams/lock, flock'ed by the owning object (else unset)
  std::uint64_t root_dev_ = 0;  // the root's inode, to leave `.seams` out of its link count
  std::uint64_t root_ino_ = 0;

  const std::unique_ptr<VersionCounter> versions_;  // borrows state_fd_, so declared after it
  const std::string tmp_prefix_;                    // "put-<pid>-<random>-": unique to this object
  std::atomic<std::uint64_t> tmp_counter_{0};

  std::array<std::shared_mutex, kStripes> stripes_;

  // What the vault last left each inode as. Bounded: when full it is cleared, which only costs
  // one extra version bump per entry on its next refresh.
  struct Recorded {
    std::uint64_t dev;  // a mount inside the vault has its own inode numbers
    std::int64_t ctime_ns;
    std::uint64_t version;
    bool published;
  };
  static constexpr std::size_t kMaxRecorded = 1 << 18;
  Mutex recorded_mutex_;
  std::unordered_map<std::uint64_t, Recorded> recorded_ GUARDED_BY(recorded_mutex_);  // by inode
};

}  // namespace seams

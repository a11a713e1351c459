// VersionCounter: the vault-wide source of versions, persisted so none is ever handed out twice.
//
// The counter's high-water mark lives in `<root>/.seams/version-mark` (decimal, one line). Blocks
// of kBlock versions are reserved ahead and the mark fsync'd before any of them is handed out, so
// handing one out is an atomic increment, and after a restart (or a crash) the counter starts above
// the reserved mark. A block is reserved under an flock on `.seams/mark.lock`, starting from the
// mark on disk, so several counters on one root (several Storage objects, in any process) take
// disjoint blocks. The mark is written beside and renamed over, so a crash leaves the old mark or
// the new one, never half of one.
//
// Versions from one counter grow; versions from two counters on one root are disjoint but
// interleave. above() is how a caller keeps one entry's version growing regardless: it never
// returns a version at or below the one the entry holds, moving this counter past it if needed.
//
// Thread-safety: every method may be called concurrently from any thread. mark_mutex_ lets one
// thread per object reserve a block; the flock orders objects.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/common/unique_fd.h"

namespace seams {

class VersionCounter {
 public:
  static constexpr std::uint64_t kBlock = 1 << 16;

  // Opens (or creates) `.seams/mark.lock` in `state_dir_fd` (the open `<root>/.seams`) and starts
  // above the mark stored there (0 when there is none). `root` only names the vault in errors.
  // Errors: io_error when the mark is corrupt; the errno of opening or reading the files.
  // REQUIRES: state_dir_fd stays open for the counter's lifetime (the counter borrows it).
  static Result<std::unique_ptr<VersionCounter>> open(int state_dir_fd, std::string_view root);

  VersionCounter(const VersionCounter&) = delete;
  VersionCounter& operator=(const VersionCounter&) = delete;

  // A version never handed out before on this root. Fails only when a block must be reserved and
  // the mark cannot be written (the errno of the failing call).
  Result<std::uint64_t> next();
  // A fresh version greater than `current` (the version an entry holds now, perhaps from another
  // counter, a copied-in vault or a lost mark file); errors as next().
  Result<std::uint64_t> above(std::uint64_t current);
  // The version next() would try first (for tests and diagnostics).
  std::uint64_t peekNext() const { return next_.load(std::memory_order_relaxed); }

 private:
  VersionCounter(int state_dir_fd, UniqueFd mark_lock_fd, std::uint64_t mark);

  // Reserves a block holding a version > block_hi_ (and >= at_least) above the mark on disk.
  Status reserveBlock(std::uint64_t at_least) REQUIRES(mark_mutex_);
  Status persistMark(std::uint64_t mark);

  const int state_dir_fd_;       // <root>/.seams, borrowed
  const UniqueFd mark_lock_fd_;  // <root>/.seams/mark.lock
  // Versions in (block_lo_, block_hi_] are durably reserved for this object. block_lo_ is stored
  // before block_hi_ (release), so a reader that sees the new block_hi_ sees its block_lo_ too.
  std::atomic<std::uint64_t> next_;
  std::atomic<std::uint64_t> block_lo_;
  std::atomic<std::uint64_t> block_hi_;
  Mutex mark_mutex_;  // one reserving thread per object
};

}  // namespace seams

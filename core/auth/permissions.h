// PermissionTable: permission rules and the decisions drawn from them, with a decision cache.
//
// Decision for (principal, path, access bit): among the rules whose subject matches the principal
// (its user, or any of its groups), whose prefix contains the path (whole components, so /docs
// does not contain /docsx) and whose access mask has the bit, the rule on the longest prefix wins;
// at equal depth deny beats allow (whether the rules name the user or a group); no matching rule
// means deny. Precedence is decided per bit: a deny of `write` on /a/b does not hide an allow of
// `read` on /a.
//
// Decision cache. allowed() is on the hot path of every request, so decisions are cached, keyed
// by (principal, path, access), in kShards shards, each an LRU with its own mutex, bounded by
// `cache_entries` in total (0 disables the cache). add() and remove() empty the cache before they
// return, so no decision made under the old rules is served after a revocation returns.
//
// The rules are an immutable snapshot behind a shared_ptr: a reader holds `snapshot_mu_` only to
// copy the pointer and decides with no lock held; a writer (serialised by `write_mu_`) publishes
// a modified copy by swapping the pointer. Not a reader/writer lock over the rules: glibc's
// prefers readers, and under a stream of cache misses (which every rule change causes) a
// revocation could wait long for its turn, which is the revocation lag the bench measures. Not
// std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock bit TSan cannot see.
// Copying the table on each change is cheap: rules are few and changes rare.
//
// The race that needs care: a reader computes a decision under the old rules, a revocation then
// changes the rules and empties the cache, and the reader inserts its stale decision afterwards.
// A generation counter closes it: each snapshot carries its generation, and a reader inserts only
// if `generation_` still equals its snapshot's, checked under the shard's lock. A writer publishes
// the snapshot, then sets `generation_`, then empties every shard (each under its lock), so a
// stale insert either lands before its shard is emptied (and is emptied with it) or sees the new
// generation and is dropped.
//
// Thread-safety: every method may be called concurrently from any thread. Locks: `write_mu_`
// serialises writers and is held while they swap the snapshot and empty the shards, so it comes
// before `snapshot_mu_` and before a shard lock; `snapshot_mu_` guards the pointer only; each
// shard's mutex guards that shard's entries only. No two of the last two are held together.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/auth/auth.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/common/vault_path.h"

namespace seams {

class PermissionTable {
 public:
  static constexpr std::size_t kShards = 16;

  // `cache_entries`: total decision-cache capacity (config auth.decision_cache_entries).
  explicit PermissionTable(std::size_t cache_entries = 65536);
  PermissionTable(const PermissionTable&) = delete;
  PermissionTable& operator=(const PermissionTable&) = delete;

  // invalid_argument if the rule cannot mean anything: an empty subject, or an access mask that
  // is empty or has bits outside kAllAccess.
  static Status validate(const Rule& rule);

  // True when `who` may perform `access` on `path`. An `access` value with several bits set
  // needs every one of them; a value with no known bit is denied.
  bool allowed(const Principal& who, const VaultPath& path, Access access) const;

  // Adds a rule (an equal rule already present is not added twice). Returns true when the rules
  // changed. The decision cache is empty of older decisions when this returns.
  // REQUIRES: validate(rule).ok()
  bool add(const Rule& rule);
  // Removes the rule equal to `rule`; false if there is none. The decision cache is empty of
  // older decisions when this returns.
  bool remove(const Rule& rule);
  // Every rule, in the order they were added.
  std::vector<Rule> rules() const;

  // Counters, for stats and tests.
  std::uint64_t cacheHits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t cacheMisses() const noexcept { return misses_.load(std::memory_order_relaxed); }
  std::size_t cacheSize() const;

  // Test hook: called after a decision is computed and before it is inserted into the cache, on
  // the deciding thread, with no lock held. Lets a test run a revocation exactly inside that
  // window. REQUIRES: set before any concurrent use; never on a production path.
  void setBeforeCacheInsertForTest(std::function<void()> hook) { before_insert_ = std::move(hook); }

 private:
  struct Shard {
    // Most recently used at the front. The index's keys view the strings in the list nodes,
    // which never move.
    using Lru = std::list<std::pair<std::string, bool>>;
    mutable Mutex mu;
    Lru lru GUARDED_BY(mu);
    std::unordered_map<std::string_view, Lru::iterator> index GUARDED_BY(mu);
  };

  // Lets by_prefix be searched with a string_view (no allocation per ancestor on the hot path).
  struct PrefixHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // One immutable version of the rules.
  struct Snapshot {
    std::uint64_t generation = 0;
    std::vector<Rule> rules;  // in the order added
    // The same rules by prefix string, each list in the order added.
    std::unordered_map<std::string, std::vector<Rule>, PrefixHash, std::equal_to<>> by_prefix;
  };

  static bool decide(const Snapshot& rules, const Principal& who, const std::string& path,
                     AccessMask bit);
  // Publishes `next` (REQUIRES: next.generation one past the current) and empties the cache.
  void publish(std::shared_ptr<Snapshot> next) REQUIRES(write_mu_);
  void clearCache() const;
  Shard& shardFor(std::size_t hash) const { return shards_[hash % kShards]; }

  const std::size_t shard_capacity_;  // 0: no cache

  Mutex write_mu_;  // serialises add() and remove()
  std::shared_ptr<const Snapshot> current() const;

  mutable Mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(snapshot_mu_);
  // The generation of the newest snapshot; set after it is published, before the cache is
  // emptied.
  std::atomic<std::uint64_t> generation_{0};

  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::atomic<std::uint64_t> misses_{0};
  std::function<void()> before_insert_;
};

}  // namespace seams

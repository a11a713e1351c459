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
// The race that needs care: a reader computes a decision under the old rules, a revocation then
// changes the rules and empties the cache, and the reader inserts its stale decision afterwards.
// A generation counter closes it: the reader notes the generation while it holds the rules lock,
// and inserts only if the generation is unchanged, checked under the shard's lock. A writer bumps
// the generation under the rules lock before it empties the shards, so a stale insert either
// lands before the shard is emptied (and is emptied with it) or sees the new generation and is
// dropped.
//
// Thread-safety: every method may be called concurrently from any thread. Locks: `rules_mu_`
// guards the rules and is never held while a shard lock is taken; each shard's mutex guards that
// shard's entries only.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/auth/auth.h"
#include "core/common/status.h"
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
    mutable std::mutex mu;
    Lru lru;
    std::unordered_map<std::string_view, Lru::iterator> index;
  };

  bool decide(const Principal& who, const std::string& path, AccessMask bit) const;
  void clearCache() const;
  Shard& shardFor(std::size_t hash) const { return shards_[hash % kShards]; }

  const std::size_t shard_capacity_;  // 0: no cache

  mutable std::shared_mutex rules_mu_;
  std::vector<Rule> rules_;  // guarded by rules_mu_
  // Lets by_prefix_ be searched with a string_view (no allocation per ancestor on the hot path).
  struct PrefixHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Rules by prefix string, each list in the order added. guarded by rules_mu_
  std::unordered_map<std::string, std::vector<Rule>, PrefixHash, std::equal_to<>> by_prefix_;
  // Bumped under rules_mu_ (exclusive) on every change, before the cache is emptied.
  std::atomic<std::uint64_t> generation_{0};

  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::atomic<std::uint64_t> misses_{0};
  std::function<void()> before_insert_;
};

}  // namespace seams

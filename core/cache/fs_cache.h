// FsCache: the vault's metadata (attr), directory-listing and content caches under one byte budget.
//
// Who uses it. LocalVault (in seamd and seam-fsd) in front of storage, and the split frontends'
// own caches (coherence `ttl` uses Options::ttl; `push` calls invalidate() from the change feed).
//
// Shape. Entries live in `shards` shards; a path's hash picks its shard, so every kind of entry for
// one path (attr, listing, content) sits in the same shard and a hit takes exactly one shard lock.
// Each shard has its own mutex and its own LRU list (all three kinds in one list, so a hot attr
// keeps its place against cold content). The byte budget is global: an insert first reserves its
// charge on one atomic byte count with a compare-and-swap that never lets the count pass the
// budget, evicting as needed, and only then takes its shard lock. So stats().bytes <= budget at
// every instant, also under concurrent inserts, and a small shard never starves a big entry.
// Eviction is approximately global LRU: each shard publishes the recency stamp of its LRU tail
// and the evicting thread takes the oldest tail among all shards (stamps come from a counter that
// moves on inserts only, so a hit writes no shared cache line). Why LRU and not something
// cleverer (ARC, TinyLFU): the workloads here are small hot sets with explicit invalidation; LRU
// is predictable, cheap under a lock, and easy to reason about in drift figures.
//
// Charging. An entry costs key bytes + payload bytes + kEntryOverhead (an honest estimate of the
// list node, hash-map node and shared_ptr control block). Content whose data is larger than
// max_entry_bytes is never cached; neither is a listing whose charge exceeds it. max_entry_bytes
// is clamped to what the budget can hold (maxEntryBytes() reports the clamped value): the
// frontends read a file whole, to cache it, only when it is at most maxEntryBytes(), and with a
// budget below the option (seam-bench's 512 KiB) a 1 MiB file was fetched whole for every 128 KiB
// FUSE read and then refused (issue 16: 8 MiB over IPC per 1 MiB read).
//
// The fill race and FillTicket. A reader that misses takes beginFill(path) BEFORE it reads the
// backing store, reads, then puts with the ticket. A writer changes the backing store and THEN
// calls invalidate(). A put whose path was invalidated after its ticket was taken (by path, by a
// covering prefix, or by clear()) is dropped, so a reader that read v1 before a writer wrote v2
// can never insert v1 after the writer's invalidation. Tickets compare epochs: each shard has a
// small table of per-bucket invalidation epochs (path hash -> bucket), and one global epoch counts
// prefix invalidations, with a short history of the prefixes so a put under an unrelated prefix
// survives. Trade-off: a put may be dropped falsely (another path in the same bucket was
// invalidated, or the prefix history overflowed) — that costs a miss later — but a stale insert is
// impossible. Independently, a put never replaces an entry holding a newer version with an older
// one (attr and content of one path are compared with each other too).
//
// TTL. With Options::ttl > 0 every entry expires ttl after its insertion, measured on the injected
// Clock; an expired entry is a miss and is removed when found.
//
// Thread-safety: every method may be called concurrently from any thread. Each shard's mutex
// guards its maps, its LRU list and the bytes of its entries; the prefix-history mutex guards the
// history of prefix invalidations. Lock order: a shard mutex may be held while taking the
// prefix-history mutex, never the reverse; no thread ever holds two shard mutexes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/clock.h"
#include "core/common/file_attr.h"
#include "core/common/vault_path.h"

namespace seams {

// A cached file's whole content and the version it belongs to. Shared, immutable: readers keep
// the shared_ptr as long as they like, without copying under the cache's lock.
struct CachedContent {
  std::string data;
  std::uint64_t version = 0;
};

// Proof of when a fill started. Take it with FsCache::beginFill before reading the backing store.
// A default-constructed ticket is never valid: a put with it is dropped.
class FillTicket {
 public:
  FillTicket() = default;

 private:
  friend class FsCache;
  std::size_t hash_ = 0;            // the path's hash: picks shard and epoch bucket
  std::uint64_t bucket_epoch_ = 0;  // the bucket's invalidation epoch at beginFill
  std::uint64_t prefix_epoch_ = 0;  // the global prefix-invalidation epoch at beginFill
  bool valid_ = false;
};

// Counters for one kind of entry. All monotonic except bytes and entries (current values).
struct FsCacheKindStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;         // includes lookups that found an expired entry
  std::uint64_t evictions = 0;      // removed to make room within the budget
  std::uint64_t expirations = 0;    // found past their TTL and removed
  std::uint64_t insertions = 0;     // puts that stored an entry (new or replacing)
  std::uint64_t invalidations = 0;  // entries removed by invalidate/invalidatePrefix/clear
  std::uint64_t dropped_fills = 0;  // puts dropped: path invalidated since the ticket
  std::uint64_t stale_puts = 0;     // puts dropped: the cache already held a newer version
  std::uint64_t rejected = 0;       // puts not stored: too large, or no room could be made
  std::uint64_t bytes = 0;          // charged bytes currently held
  std::uint64_t entries = 0;        // entries currently held

  FsCacheKindStats& operator+=(const FsCacheKindStats& o);
};

struct FsCacheStats {
  FsCacheKindStats attr;
  FsCacheKindStats list;
  FsCacheKindStats content;
  FsCacheKindStats total;   // the sum of the three
  std::uint64_t bytes = 0;  // bytes charged against the budget (incl. in-flight puts)
  std::uint64_t budget_bytes = 0;
  std::uint64_t max_entry_bytes = 0;
  std::uint64_t invalidate_calls = 0;
  std::uint64_t prefix_invalidate_calls = 0;
};

// One held entry, as FsCache::entries() lists it (for introspection: `seamctl caches`).
struct FsCacheEntryInfo {
  std::string_view kind;  // "attr" | "list" | "content" (static strings)
  std::string path;
  std::uint64_t version = 0;  // 0 for listings
  std::uint64_t bytes = 0;    // the entry's charge against the budget
};

class FsCache {
 public:
  // Fixed cost charged per entry on top of its key and payload: the LRU list node (the Node
  // itself, its links), the hash-map node and bucket slot, the shared_ptr control block and the
  // allocator headers of each, rounded up (fs_cache.cpp checks the estimate with static_assert).
  static constexpr std::size_t kEntryOverhead = 256;

  struct Options {
    std::size_t budget_bytes = 64 << 20;
    std::size_t max_entry_bytes = 4 << 20;
    int shards = 16;                   // clamped to 1..1024
    std::chrono::milliseconds ttl{0};  // 0 = never expires
  };

  // REQUIRES: clock outlives the cache.
  FsCache(Options options, const Clock& clock);
  ~FsCache();
  FsCache(const FsCache&) = delete;
  FsCache& operator=(const FsCache&) = delete;

  // Take BEFORE reading the backing store for `path`; pass to the put for the same path.
  FillTicket beginFill(const VaultPath& path) const;

  std::optional<FileAttr> getAttr(const VaultPath& path);
  // Dropped if `path` was invalidated since t, or if the cache holds a newer version of it.
  void putAttr(const VaultPath& path, const FileAttr& attr, const FillTicket& t);

  // The listing is copied out after the shard lock is released.
  std::optional<std::vector<DirEntry>> getList(const VaultPath& dir);
  // Dropped if `dir` was invalidated since t. Listings carry no version of their own; the ticket
  // alone keeps them fresh.
  void putList(const VaultPath& dir, std::vector<DirEntry> entries, const FillTicket& t);

  // nullptr on a miss. The hit path allocates nothing and copies nothing.
  std::shared_ptr<const CachedContent> getContent(const VaultPath& path);
  // Not cached when data.size() > maxEntryBytes(). Dropped like putAttr.
  void putContent(const VaultPath& path, std::uint64_t version, std::string data,
                  const FillTicket& t);

  // REQUIRES: called after the change to the backing store is visible to readers.
  // Removes path's attr, content and listing, and its parent's listing.
  void invalidate(const VaultPath& path);
  // Removes everything at or beneath prefix (by whole components: /docs does not cover /docsx),
  // and prefix's parent's listing.
  void invalidatePrefix(const VaultPath& prefix);
  // Removes everything; fills in flight are dropped.
  void clear();

  FsCacheStats stats() const;
  // Every entry held now (expired ones included until a lookup removes them), shard by shard:
  // each shard's lock is held while its entries are copied, never two at once. O(entries);
  // meant for introspection, not for a hot path.
  std::vector<FsCacheEntryInfo> entries() const;
  std::size_t maxEntryBytes() const { return options_.max_entry_bytes; }
  // The largest content whose entry (payload + kEntryOverhead + a short key) fits `budget`.
  static constexpr std::size_t maxContentFor(std::size_t budget) {
    constexpr std::size_t kSlack = kEntryOverhead + 4096;  // overhead, key, CachedContent
    return budget > kSlack ? budget - kSlack : 0;
  }
  std::size_t budgetBytes() const { return options_.budget_bytes; }

 private:
  struct Node;
  struct Shard;
  struct PrefixHistory;
  enum class Kind : std::uint8_t;

  Shard& shardFor(std::size_t hash) const;
  // Charges `charge` bytes against the budget, evicting as needed. False when no room could be
  // made (the entry is larger than the budget, or every byte is reserved by puts in flight).
  bool reserve(std::size_t charge);
  void release(std::size_t charge) { bytes_.fetch_sub(charge, std::memory_order_acq_rel); }
  // Evicts the least recently used entry of the shard whose LRU tail is oldest.
  bool evictOne();
  // REQUIRES: the shard's mutex is held.
  bool fillStillValid(const Shard& shard, const FillTicket& t, const VaultPath& path) const;
  // `node` holds exactly one Node, built outside any lock.
  void insert(Kind kind, const VaultPath& path, std::list<Node>&& node, const FillTicket& t);
  // Removes everything within prefix and drops fills in flight beneath it.
  void dropPrefix(const VaultPath& prefix);

  Options options_;
  const Clock& clock_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<PrefixHistory> prefixes_;
  // Bytes charged against the budget: held entries plus reservations of puts in flight.
  alignas(64) std::atomic<std::size_t> bytes_{0};
  // Recency source: moves once per insert, read (not written) on hits.
  alignas(64) std::atomic<std::uint64_t> tick_{1};
  std::atomic<std::uint64_t> invalidate_calls_{0};
  std::atomic<std::uint64_t> prefix_invalidate_calls_{0};
};

}  // namespace seams

#include "core/cache/fs_cache.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace seams {

enum class FsCache::Kind : std::uint8_t { attr = 0, list = 1, content = 2 };

namespace {

constexpr std::size_t kKinds = 3;
// Invalidation epochs per shard: more buckets, fewer false drops, a little more memory.
constexpr std::size_t kBucketsPerShard = 64;
// Prefix invalidations remembered for tickets; a ticket older than the history is dropped.
constexpr std::size_t kPrefixHistory = 64;
// Bound on the reserve loop, so a put under a storm of concurrent puts gives up instead of
// spinning: a dropped fill only costs a later miss.
constexpr int kReserveRounds = 256;
constexpr std::uint64_t kEmptyStamp = std::numeric_limits<std::uint64_t>::max();
constexpr int kMaxShards = 1024;

std::size_t hashPath(const VaultPath& p) {
  return std::hash<std::string_view>{}(p.str());
}

std::size_t bucketOf(std::size_t hash, std::size_t shards) {
  return (hash / shards) % kBucketsPerShard;
}

// True when key names prefix or lies beneath it, by whole components.
bool keyWithin(std::string_view key, std::string_view prefix) {
  if (prefix == "/") return true;
  if (!key.starts_with(prefix)) return false;
  return key.size() == prefix.size() || key[prefix.size()] == '/';
}

// An index key: a view of the node's own path string plus its hash, computed once per call (the
// same hash picks the shard), so a lookup hashes the path once and allocates nothing.
struct HashedKey {
  std::string_view text;
  std::size_t hash;
  friend bool operator==(const HashedKey& a, const HashedKey& b) { return a.text == b.text; }
};
struct HashedKeyHash {
  std::size_t operator()(const HashedKey& k) const noexcept { return k.hash; }
};

// What kEntryOverhead must cover beyond an entry's key bytes and payload (checked in Shard).
constexpr std::size_t kMallocHeader = 16;
constexpr std::size_t kListLinks = 2 * sizeof(void*);
constexpr std::size_t kMapNode = sizeof(void*) + sizeof(HashedKey) + sizeof(void*);
constexpr std::size_t kControlBlock = 2 * sizeof(long);

// Counters mutated only under the shard's mutex: a plain load + store (no locked instruction)
// is enough, and stats() may still read them at any time without a data race.
void bumpLocked(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
void dropLocked(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
  a.store(a.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}
// Counters mutated outside any lock.
void bumpShared(std::atomic<std::uint64_t>& a) {
  a.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t get(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

}  // namespace

FsCacheKindStats& FsCacheKindStats::operator+=(const FsCacheKindStats& o) {
  hits += o.hits;
  misses += o.misses;
  evictions += o.evictions;
  expirations += o.expirations;
  insertions += o.insertions;
  invalidations += o.invalidations;
  dropped_fills += o.dropped_fills;
  stale_puts += o.stale_puts;
  rejected += o.rejected;
  bytes += o.bytes;
  entries += o.entries;
  return *this;
}

// One cached entry. The payload member matching `kind` is set.
struct FsCache::Node {
  Kind kind = Kind::attr;
  std::string key;       // the path; the shard's index keys are views of this string
  std::size_t hash = 0;  // hashPath(key)
  std::size_t charge = 0;
  std::uint64_t stamp = 0;  // recency: tick_ at the last insert or hit
  MonoTime expires = MonoTime::max();
  std::uint64_t version = 0;  // attr and content only
  FileAttr attr;
  std::shared_ptr<const std::vector<DirEntry>> list;
  std::shared_ptr<const CachedContent> content;
};

struct FsCache::Shard {
  // An attr's payload (the FileAttr) lives inside the Node and is charged as payload.
  static_assert(sizeof(Node) - sizeof(FileAttr) + kListLinks + kMallocHeader + kMapNode +
                        kMallocHeader + sizeof(void*) + kControlBlock + kMallocHeader <=
                    kEntryOverhead,
                "kEntryOverhead under-charges an entry");

  using Lru = std::list<Node>;
  using Index = std::unordered_map<HashedKey, Lru::iterator, HashedKeyHash>;

  struct KindCounters {
    std::atomic<std::uint64_t> hits{0}, misses{0}, evictions{0}, expirations{0}, insertions{0},
        invalidations{0}, dropped_fills{0}, stale_puts{0}, rejected{0}, bytes{0}, entries{0};
  };

  // Guards lru, index, every Node, and the epochs' increments (epochs are read without it by
  // beginFill). Counters are written under it (except where bumpShared says otherwise).
  alignas(64) mutable std::mutex mu;
  Lru lru;  // front = most recently used
  Index index[kKinds];
  std::atomic<std::uint64_t> epochs[kBucketsPerShard] = {};
  // The stamp of lru.back(), or kEmptyStamp: lets evictOne pick a victim shard without locks.
  std::atomic<std::uint64_t> tail_stamp{kEmptyStamp};
  KindCounters counters[kKinds];

  KindCounters& of(Kind k) { return counters[static_cast<std::size_t>(k)]; }
  Index& indexOf(Kind k) { return index[static_cast<std::size_t>(k)]; }

  Lru::iterator find(Kind k, std::string_view key, std::size_t hash) {
    Index& idx = indexOf(k);
    auto it = idx.find(HashedKey{key, hash});
    return it == idx.end() ? lru.end() : it->second;
  }

  void publishTail() {
    tail_stamp.store(lru.empty() ? kEmptyStamp : lru.back().stamp, std::memory_order_relaxed);
  }

  void touch(Lru::iterator it, std::uint64_t stamp) {
    it->stamp = stamp;
    if (it != lru.begin()) lru.splice(lru.begin(), lru, it);
    publishTail();
  }

  // Unlinks a node and returns its payload, so the caller may free it after unlocking.
  // The caller returns node->charge to the budget and publishes the tail.
  std::shared_ptr<const void> erase(Lru::iterator it) {
    KindCounters& c = of(it->kind);
    dropLocked(c.bytes, it->charge);
    dropLocked(c.entries);
    indexOf(it->kind).erase(HashedKey{it->key, it->hash});
    std::shared_ptr<const void> payload;
    if (it->content) payload = std::move(it->content);
    if (it->list) payload = std::move(it->list);
    lru.erase(it);
    return payload;
  }
};

// The recent prefix invalidations, newest last, each with the epoch it was given.
struct FsCache::PrefixHistory {
  std::mutex mu;  // guards records and every increment of epoch
  std::atomic<std::uint64_t> epoch{0};
  std::deque<std::pair<std::uint64_t, VaultPath>> records;
};

FsCache::FsCache(Options options, const Clock& clock)
    : options_(options), clock_(clock), prefixes_(std::make_unique<PrefixHistory>()) {
  options_.shards = std::clamp(options_.shards, 1, kMaxShards);
  // An entry larger than the whole budget could never be held, so it must not count as small:
  // callers size their whole-file fills by maxEntryBytes().
  options_.max_entry_bytes =
      std::min(options_.max_entry_bytes, maxContentFor(options_.budget_bytes));
  shards_ = std::make_unique<Shard[]>(static_cast<std::size_t>(options_.shards));
}

FsCache::~FsCache() = default;

FsCache::Shard& FsCache::shardFor(std::size_t hash) const {
  return shards_[hash % static_cast<std::size_t>(options_.shards)];
}

FillTicket FsCache::beginFill(const VaultPath& path) const {
  FillTicket t;
  t.hash_ = hashPath(path);
  const Shard& s = shardFor(t.hash_);
  // Acquire pairs with the release increments in invalidate*: a ticket that sees an epoch also
  // sees the backing-store change that preceded that invalidation.
  t.bucket_epoch_ = s.epochs[bucketOf(t.hash_, options_.shards)].load(std::memory_order_acquire);
  t.prefix_epoch_ = prefixes_->epoch.load(std::memory_order_acquire);
  t.valid_ = true;
  return t;
}

bool FsCache::fillStillValid(const Shard& s, const FillTicket& t, const VaultPath& path) const {
  if (s.epochs[bucketOf(t.hash_, options_.shards)].load(std::memory_order_relaxed) !=
      t.bucket_epoch_) {
    return false;
  }
  if (prefixes_->epoch.load(std::memory_order_acquire) == t.prefix_epoch_) return true;
  // Some prefix was invalidated since the ticket: drop only if one of them covers this path,
  // or if the history no longer reaches back to the ticket.
  std::lock_guard lock(prefixes_->mu);
  const auto& records = prefixes_->records;
  if (records.empty() || records.front().first > t.prefix_epoch_ + 1) return false;
  for (auto it = records.rbegin(); it != records.rend() && it->first > t.prefix_epoch_; ++it) {
    if (path.isWithin(it->second)) return false;
  }
  return true;
}

bool FsCache::reserve(std::size_t charge) {
  const std::size_t budget = options_.budget_bytes;
  if (charge > budget) return false;
  for (int round = 0; round < kReserveRounds; ++round) {
    std::size_t cur = bytes_.load(std::memory_order_relaxed);
    while (cur + charge <= budget) {
      if (bytes_.compare_exchange_weak(cur, cur + charge, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    // Everything held may be reserved by puts still in flight; let them finish.
    if (!evictOne()) std::this_thread::yield();
  }
  return false;
}

bool FsCache::evictOne() {
  const auto n = static_cast<std::size_t>(options_.shards);
  std::size_t victim = n;
  std::uint64_t oldest = kEmptyStamp;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t stamp = shards_[i].tail_stamp.load(std::memory_order_relaxed);
    if (stamp < oldest) {
      oldest = stamp;
      victim = i;
    }
  }
  if (victim == n) return false;
  Shard& s = shards_[victim];
  std::shared_ptr<const void> payload;  // freed after the unlock
  std::lock_guard lock(s.mu);
  if (s.lru.empty()) return false;
  auto it = std::prev(s.lru.end());
  bumpLocked(s.of(it->kind).evictions);
  std::size_t charge = it->charge;
  payload = s.erase(it);
  s.publishTail();
  release(charge);
  return true;
}

void FsCache::insert(Kind kind, const VaultPath& path, std::list<Node>&& node,
                     const FillTicket& t) {
  Node& n = node.front();
  const std::size_t hash = hashPath(path);
  Shard& s = shardFor(hash);
  if (!t.valid_ || t.hash_ != hash) {  // no ticket, or one taken for another path
    bumpShared(s.of(kind).dropped_fills);
    return;
  }
  if (!reserve(n.charge)) {
    bumpShared(s.of(kind).rejected);
    return;
  }
  const bool versioned = kind != Kind::list;
  std::shared_ptr<const void> replaced[2];  // freed after the unlock
  std::size_t freed = 0;
  {
    std::lock_guard lock(s.mu);
    Shard::KindCounters& c = s.of(kind);
    if (!fillStillValid(s, t, path)) {
      bumpShared(c.dropped_fills);  // also bumped outside the lock, above
      release(n.charge);
      return;
    }
    auto same = s.find(kind, path.str(), hash);
    if (versioned) {
      // Attr and content of one path must agree: never go back to an older version, and a newer
      // one proves the other kind's older entry stale (this is what keeps `ttl` frontends from
      // serving content older than an attr they already hold).
      Kind other = kind == Kind::attr ? Kind::content : Kind::attr;
      auto sibling = s.find(other, path.str(), hash);
      if ((same != s.lru.end() && same->version > n.version) ||
          (sibling != s.lru.end() && sibling->version > n.version)) {
        bumpLocked(c.stale_puts);
        release(n.charge);
        return;
      }
      if (sibling != s.lru.end() && sibling->version < n.version) {
        bumpLocked(s.of(other).invalidations);
        freed += sibling->charge;
        replaced[1] = s.erase(sibling);
      }
    }
    if (same != s.lru.end()) {
      freed += same->charge;
      replaced[0] = s.erase(same);
    }
    n.stamp = tick_.fetch_add(1, std::memory_order_relaxed);
    if (options_.ttl.count() > 0) n.expires = clock_.now() + options_.ttl;
    n.hash = hash;
    s.lru.splice(s.lru.begin(), node);
    s.indexOf(kind).emplace(HashedKey{s.lru.front().key, hash}, s.lru.begin());
    bumpLocked(c.insertions);
    bumpLocked(c.bytes, n.charge);
    bumpLocked(c.entries);
    s.publishTail();
  }
  if (freed > 0) release(freed);
}

std::optional<FileAttr> FsCache::getAttr(const VaultPath& path) {
  const bool ttl = options_.ttl.count() > 0;
  const MonoTime now = ttl ? clock_.now() : MonoTime();
  const std::size_t hash = hashPath(path);
  Shard& s = shardFor(hash);
  std::lock_guard lock(s.mu);
  Shard::KindCounters& c = s.of(Kind::attr);
  auto it = s.find(Kind::attr, path.str(), hash);
  if (it == s.lru.end()) {
    bumpLocked(c.misses);
    return std::nullopt;
  }
  if (ttl && now >= it->expires) {
    bumpLocked(c.expirations);
    bumpLocked(c.misses);
    std::size_t charge = it->charge;
    s.erase(it);  // an attr has no payload to free outside the lock
    s.publishTail();
    release(charge);
    return std::nullopt;
  }
  bumpLocked(c.hits);
  s.touch(it, tick_.load(std::memory_order_relaxed));
  return it->attr;
}

void FsCache::putAttr(const VaultPath& path, const FileAttr& attr, const FillTicket& t) {
  std::list<Node> node(1);
  Node& n = node.front();
  n.kind = Kind::attr;
  n.key = path.str();
  n.attr = attr;
  n.version = attr.version;
  n.charge = n.key.size() + sizeof(FileAttr) + kEntryOverhead;
  insert(Kind::attr, path, std::move(node), t);
}

std::optional<std::vector<DirEntry>> FsCache::getList(const VaultPath& dir) {
  const bool ttl = options_.ttl.count() > 0;
  const MonoTime now = ttl ? clock_.now() : MonoTime();
  const std::size_t hash = hashPath(dir);
  Shard& s = shardFor(hash);
  std::shared_ptr<const std::vector<DirEntry>> found;
  std::shared_ptr<const void> expired;
  {
    std::lock_guard lock(s.mu);
    Shard::KindCounters& c = s.of(Kind::list);
    auto it = s.find(Kind::list, dir.str(), hash);
    if (it == s.lru.end()) {
      bumpLocked(c.misses);
      return std::nullopt;
    }
    if (ttl && now >= it->expires) {
      bumpLocked(c.expirations);
      bumpLocked(c.misses);
      std::size_t charge = it->charge;
      expired = s.erase(it);
      s.publishTail();
      release(charge);
      return std::nullopt;
    }
    bumpLocked(c.hits);
    s.touch(it, tick_.load(std::memory_order_relaxed));
    found = it->list;
  }
  return *found;  // the copy happens outside the lock
}

void FsCache::putList(const VaultPath& dir, std::vector<DirEntry> entries, const FillTicket& t) {
  std::size_t charge = dir.str().size() + sizeof(std::vector<DirEntry>) + kEntryOverhead +
                       entries.capacity() * sizeof(DirEntry);
  for (const DirEntry& e : entries) charge += e.name.size();
  if (charge > options_.max_entry_bytes) {
    bumpShared(shardFor(hashPath(dir)).of(Kind::list).rejected);
    return;
  }
  std::list<Node> node(1);
  Node& n = node.front();
  n.kind = Kind::list;
  n.key = dir.str();
  n.list = std::make_shared<const std::vector<DirEntry>>(std::move(entries));
  n.charge = charge;
  insert(Kind::list, dir, std::move(node), t);
}

std::shared_ptr<const CachedContent> FsCache::getContent(const VaultPath& path) {
  const bool ttl = options_.ttl.count() > 0;
  const MonoTime now = ttl ? clock_.now() : MonoTime();
  const std::size_t hash = hashPath(path);
  Shard& s = shardFor(hash);
  std::shared_ptr<const void> expired;  // declared before the lock: freed after the unlock
  std::lock_guard lock(s.mu);
  Shard::KindCounters& c = s.of(Kind::content);
  auto it = s.find(Kind::content, path.str(), hash);
  if (it == s.lru.end()) {
    bumpLocked(c.misses);
    return nullptr;
  }
  if (ttl && now >= it->expires) {
    bumpLocked(c.expirations);
    bumpLocked(c.misses);
    std::size_t charge = it->charge;
    expired = s.erase(it);
    s.publishTail();
    release(charge);
    return nullptr;
  }
  bumpLocked(c.hits);
  s.touch(it, tick_.load(std::memory_order_relaxed));
  return it->content;
}

void FsCache::putContent(const VaultPath& path, std::uint64_t version, std::string data,
                         const FillTicket& t) {
  if (data.size() > options_.max_entry_bytes) {
    bumpShared(shardFor(hashPath(path)).of(Kind::content).rejected);
    return;
  }
  std::list<Node> node(1);
  Node& n = node.front();
  n.kind = Kind::content;
  n.key = path.str();
  n.version = version;
  // Charge what the string really holds on the heap, not just its length.
  n.charge = n.key.size() + data.capacity() + sizeof(CachedContent) + kEntryOverhead;
  n.content = std::make_shared<const CachedContent>(CachedContent{std::move(data), version});
  insert(Kind::content, path, std::move(node), t);
}

void FsCache::invalidate(const VaultPath& path) {
  invalidate_calls_.fetch_add(1, std::memory_order_relaxed);
  const VaultPath parent = path.parent();
  const std::size_t hash = hashPath(path);
  const std::size_t parent_hash = hashPath(parent);
  // The path's own entries, then the parent's listing: one shard lock at a time.
  for (int step = 0; step < 2; ++step) {
    const std::size_t h = step == 0 ? hash : parent_hash;
    const std::string& key = step == 0 ? path.str() : parent.str();
    Shard& s = shardFor(h);
    std::shared_ptr<const void> payloads[kKinds];  // freed after the unlock
    std::size_t freed = 0;
    {
      std::lock_guard lock(s.mu);
      s.epochs[bucketOf(h, options_.shards)].fetch_add(1, std::memory_order_release);
      for (std::size_t k = 0; k < kKinds; ++k) {
        const auto kind = static_cast<Kind>(k);
        if (step == 1 && kind != Kind::list) continue;
        auto it = s.find(kind, key, h);
        if (it == s.lru.end()) continue;
        bumpLocked(s.of(kind).invalidations);
        freed += it->charge;
        payloads[k] = s.erase(it);
      }
      s.publishTail();
    }
    if (freed > 0) release(freed);
    if (path.isRoot()) break;  // the root is its own parent
  }
}

void FsCache::dropPrefix(const VaultPath& prefix) {
  {
    // Bump and record together, so a put that sees the new epoch also finds the record.
    std::lock_guard lock(prefixes_->mu);
    std::uint64_t epoch = prefixes_->epoch.load(std::memory_order_relaxed) + 1;
    prefixes_->records.emplace_back(epoch, prefix);
    if (prefixes_->records.size() > kPrefixHistory) prefixes_->records.pop_front();
    prefixes_->epoch.store(epoch, std::memory_order_release);
  }
  // A put that checked its ticket before the bump inserted under its shard lock before this walk
  // reaches that shard, so the walk removes it; one that checks after the bump is dropped.
  const std::string& p = prefix.str();
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::vector<std::shared_ptr<const void>> payloads;  // freed after the unlock
    std::size_t freed = 0;
    {
      std::lock_guard lock(s.mu);
      for (auto it = s.lru.begin(); it != s.lru.end();) {
        auto next = std::next(it);
        if (keyWithin(it->key, p)) {
          bumpLocked(s.of(it->kind).invalidations);
          freed += it->charge;
          if (auto payload = s.erase(it)) payloads.push_back(std::move(payload));
        }
        it = next;
      }
      s.publishTail();
    }
    if (freed > 0) release(freed);
  }
}

void FsCache::invalidatePrefix(const VaultPath& prefix) {
  prefix_invalidate_calls_.fetch_add(1, std::memory_order_relaxed);
  dropPrefix(prefix);
  if (prefix.isRoot()) return;
  // The parent's listing names the prefix itself.
  const VaultPath parent = prefix.parent();
  const std::size_t h = hashPath(parent);
  Shard& s = shardFor(h);
  std::shared_ptr<const void> payload;
  std::size_t freed = 0;
  {
    std::lock_guard lock(s.mu);
    s.epochs[bucketOf(h, options_.shards)].fetch_add(1, std::memory_order_release);
    auto it = s.find(Kind::list, parent.str(), h);
    if (it != s.lru.end()) {
      bumpLocked(s.of(Kind::list).invalidations);
      freed = it->charge;
      payload = s.erase(it);
      s.publishTail();
    }
  }
  if (freed > 0) release(freed);
}

void FsCache::clear() {
  dropPrefix(VaultPath::root());
}

FsCacheStats FsCache::stats() const {
  FsCacheStats out;
  FsCacheKindStats* kinds[kKinds] = {&out.attr, &out.list, &out.content};
  for (int i = 0; i < options_.shards; ++i) {
    const Shard& s = shards_[i];
    for (std::size_t k = 0; k < kKinds; ++k) {
      const Shard::KindCounters& c = s.counters[k];
      FsCacheKindStats& o = *kinds[k];
      o.hits += get(c.hits);
      o.misses += get(c.misses);
      o.evictions += get(c.evictions);
      o.expirations += get(c.expirations);
      o.insertions += get(c.insertions);
      o.invalidations += get(c.invalidations);
      o.dropped_fills += get(c.dropped_fills);
      o.stale_puts += get(c.stale_puts);
      o.rejected += get(c.rejected);
      o.bytes += get(c.bytes);
      o.entries += get(c.entries);
    }
  }
  out.total += out.attr;
  out.total += out.list;
  out.total += out.content;
  out.bytes = bytes_.load(std::memory_order_acquire);
  out.budget_bytes = options_.budget_bytes;
  out.max_entry_bytes = options_.max_entry_bytes;
  out.invalidate_calls = invalidate_calls_.load(std::memory_order_relaxed);
  out.prefix_invalidate_calls = prefix_invalidate_calls_.load(std::memory_order_relaxed);
  return out;
}

std::vector<FsCacheEntryInfo> FsCache::entries() const {
  static constexpr std::string_view kKindNames[kKinds] = {"attr", "list", "content"};
  std::vector<FsCacheEntryInfo> out;
  for (int i = 0; i < options_.shards; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    for (const Node& n : s.lru) {
      out.push_back({kKindNames[static_cast<std::size_t>(n.kind)], n.key, n.version, n.charge});
    }
  }
  return out;
}

}  // namespace seams

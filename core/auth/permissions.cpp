#include "core/auth/permissions.h"

#include <algorithm>
#include <functional>

namespace seams {
namespace {

// Appends a length-prefixed field, so no two different principals encode to the same key
// (names from IPC may hold any byte, including the separator a plain join would use).
void appendField(std::string& key, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(field);
}

std::string cacheKey(const Principal& who, const std::string& path, AccessMask access) {
  std::string key;
  std::size_t size = who.user.size() + path.size() + 16;
  for (const auto& g : who.groups) size += g.size() + 4;
  key.reserve(size);
  key.push_back(static_cast<char>(access));
  appendField(key, path);
  appendField(key, who.user);
  for (const auto& g : who.groups) appendField(key, g);
  return key;
}

bool subjectMatches(const Rule& rule, const Principal& who) {
  if (rule.subject_kind == Rule::Subject::user) return rule.subject == who.user;
  return std::find(who.groups.begin(), who.groups.end(), rule.subject) != who.groups.end();
}

}  // namespace

PermissionTable::PermissionTable(std::size_t cache_entries)
    : shard_capacity_(cache_entries == 0 ? 0 : (cache_entries + kShards - 1) / kShards),
      snapshot_(std::make_shared<const Snapshot>()) {}

Status PermissionTable::validate(const Rule& rule) {
  if (rule.subject.empty()) return Status(Errc::invalid_argument, "rule has an empty subject");
  if (rule.access == 0) return Status(Errc::invalid_argument, "rule grants or denies no access");
  if ((rule.access & ~kAllAccess) != 0) {
    return Status(Errc::invalid_argument, "rule has unknown access bits");
  }
  return Status();
}

bool PermissionTable::decide(const Snapshot& rules, const Principal& who, const std::string& path,
                             AccessMask bit) {
  // Walk from the path itself up to the root; the first depth with a matching rule decides.
  // Prefixes are whole components, so "/docsx" never looks up "/docs".
  std::string_view prefix = path;
  while (true) {
    if (auto it = rules.by_prefix.find(prefix); it != rules.by_prefix.end()) {
      bool any_allow = false;
      bool any_deny = false;
      for (const Rule& r : it->second) {
        if ((r.access & bit) == 0 || !subjectMatches(r, who)) continue;
        (r.effect == Rule::Effect::deny ? any_deny : any_allow) = true;
      }
      if (any_deny) return false;
      if (any_allow) return true;
    }
    if (prefix == "/") return false;
    const std::size_t slash = prefix.rfind('/');
    prefix = slash == 0 ? std::string_view("/") : prefix.substr(0, slash);
  }
}

bool PermissionTable::allowed(const Principal& who, const VaultPath& path, Access access) const {
  const auto requested = static_cast<AccessMask>(static_cast<AccessMask>(access) & kAllAccess);
  if (requested == 0) return false;

  std::string key;
  std::size_t hash = 0;
  if (shard_capacity_ != 0) {
    key = cacheKey(who, path.str(), requested);
    hash = std::hash<std::string>{}(key);
    Shard& shard = shardFor(hash);
    MutexLock lock(shard.mu);
    if (auto it = shard.index.find(key); it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second->second;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);

  const std::shared_ptr<const Snapshot> rules = current();
  bool allow = true;
  for (AccessMask bit = 1; bit <= kAllAccess && allow; bit <<= 1) {
    if ((requested & bit) != 0) allow = decide(*rules, who, path.str(), bit);
  }
  if (shard_capacity_ == 0) return allow;

  if (before_insert_) before_insert_();

  Shard& shard = shardFor(hash);
  MutexLock lock(shard.mu);
  // A change since we read the rules may have emptied this shard already: drop the decision.
  if (generation_.load(std::memory_order_acquire) != rules->generation) return allow;
  if (shard.index.count(key) != 0) return allow;  // another thread inserted it meanwhile
  if (shard.lru.size() >= shard_capacity_) {
    shard.index.erase(shard.lru.back().first);
    shard.lru.pop_back();
  }
  shard.lru.emplace_front(std::move(key), allow);
  shard.index.emplace(shard.lru.front().first, shard.lru.begin());
  return allow;
}

bool PermissionTable::add(const Rule& rule) {
  MutexLock lock(write_mu_);
  const std::shared_ptr<const Snapshot> old = current();
  const auto& rules = old->rules;
  if (std::find(rules.begin(), rules.end(), rule) != rules.end()) return false;
  auto next = std::make_shared<Snapshot>(*old);
  next->rules.push_back(rule);
  next->by_prefix[rule.prefix.str()].push_back(rule);
  publish(std::move(next));
  return true;
}

bool PermissionTable::remove(const Rule& rule) {
  MutexLock lock(write_mu_);
  const std::shared_ptr<const Snapshot> old = current();
  const auto& rules = old->rules;
  if (std::find(rules.begin(), rules.end(), rule) == rules.end()) return false;
  auto next = std::make_shared<Snapshot>(*old);
  next->rules.erase(std::find(next->rules.begin(), next->rules.end(), rule));
  auto bucket = next->by_prefix.find(rule.prefix.str());
  auto& list = bucket->second;
  list.erase(std::find(list.begin(), list.end(), rule));
  if (list.empty()) next->by_prefix.erase(bucket);
  publish(std::move(next));
  return true;
}

void PermissionTable::publish(std::shared_ptr<Snapshot> next) {
  next->generation = generation_.load(std::memory_order_relaxed) + 1;
  const std::uint64_t generation = next->generation;
  {
    MutexLock lock(snapshot_mu_);
    snapshot_ = std::move(next);
  }
  generation_.store(generation, std::memory_order_release);
  clearCache();
}

std::shared_ptr<const PermissionTable::Snapshot> PermissionTable::current() const {
  MutexLock lock(snapshot_mu_);
  return snapshot_;
}

std::vector<Rule> PermissionTable::rules() const {
  return current()->rules;
}

std::size_t PermissionTable::cacheSize() const {
  std::size_t n = 0;
  for (Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    n += shard.lru.size();
  }
  return n;
}

void PermissionTable::clearCache() const {
  for (Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    shard.index.clear();
    shard.lru.clear();
  }
}

}  // namespace seams

#include "core/http/login_throttle.h"

#include <algorithm>
#include <vector>

namespace seams::http {

LoginThrottle::Options LoginThrottle::optionsFrom(const HttpConfig& c) {
  Options o;
  o.free_per_address = c.login_free_failures_per_address;
  o.free_per_user = c.login_free_failures_per_user;
  o.delay_base = std::chrono::milliseconds(c.login_delay_base_ms);
  o.delay_max = std::chrono::milliseconds(std::max(c.login_delay_max_ms, c.login_delay_base_ms));
  o.forget_after = std::chrono::seconds(c.login_forget_s);
  return o;
}

LoginThrottle::LoginThrottle(Options options, const Clock& clock)
    : options_(options), clock_(clock) {}

std::string LoginThrottle::pairKey(std::string_view user, std::string_view address) {
  std::string key;
  key.reserve(user.size() + address.size() + 1);
  key.append(user).push_back('\0');  // a user name cannot hold NUL: the split is unambiguous
  key.append(address);
  return key;
}

std::chrono::milliseconds LoginThrottle::delay(std::uint32_t failures, int free) const {
  if (failures <= static_cast<std::uint32_t>(free)) return std::chrono::milliseconds(0);
  std::uint32_t k = failures - static_cast<std::uint32_t>(free);  // 1, 2, ...
  auto d = options_.delay_base;
  for (std::uint32_t i = 1; i < k && d < options_.delay_max; ++i) d *= 2;
  return std::min(d, options_.delay_max);
}

std::chrono::milliseconds LoginThrottle::remaining(const Record& r, int free, MonoTime now) const {
  if (now - r.last_failure >= options_.forget_after) return std::chrono::milliseconds(0);
  auto until = r.last_failure + delay(r.failures, free);
  if (until <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

std::optional<LoginThrottle::Wait> LoginThrottle::admit(std::string_view user,
                                                        std::string_view address) const {
  const MonoTime now = clock_.now();
  MutexLock lock(mu_);
  if (auto it = by_address_.find(std::string(address)); it != by_address_.end()) {
    if (auto w = remaining(it->second, options_.free_per_address, now); w.count() > 0) {
      return Wait{Scope::address, w};
    }
  }
  auto u = by_user_.find(std::string(user));
  if (u != by_user_.end() && by_pair_.count(pairKey(user, address)) > 0) {
    if (auto w = remaining(u->second, options_.free_per_user, now); w.count() > 0) {
      return Wait{Scope::user, w};
    }
  }
  return std::nullopt;
}

void LoginThrottle::bump(Table& table, const std::string& key, MonoTime now) {
  auto it = table.find(key);
  if (it == table.end()) {
    if (table.size() >= kMaxRecords) {
      for (auto e = table.begin(); e != table.end();) {
        e = now - e->second.last_failure >= options_.forget_after ? table.erase(e) : std::next(e);
      }
    }
    if (table.size() >= kMaxRecords) {
      // Still full of live records: drop the oldest eighth in one pass, so this O(n) step runs
      // once per kMaxRecords / 8 new keys, not on every one.
      std::vector<MonoTime> times;
      times.reserve(table.size());
      for (const auto& [k, r] : table) times.push_back(r.last_failure);
      auto cut = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 8);
      std::nth_element(times.begin(), cut, times.end());
      for (auto e = table.begin(); e != table.end();) {
        e = e->second.last_failure <= *cut ? table.erase(e) : std::next(e);
      }
    }
    it = table.emplace(key, Record{}).first;
  } else if (now - it->second.last_failure >= options_.forget_after) {
    it->second.failures = 0;  // forgotten: start over
  }
  ++it->second.failures;
  it->second.last_failure = now;
}

void LoginThrottle::failed(std::string_view user, std::string_view address) {
  const MonoTime now = clock_.now();
  MutexLock lock(mu_);
  bump(by_address_, std::string(address), now);
  bump(by_user_, std::string(user), now);
  bump(by_pair_, pairKey(user, address), now);
}

void LoginThrottle::succeeded(std::string_view user, std::string_view address) {
  MutexLock lock(mu_);
  by_address_.erase(std::string(address));
  by_pair_.erase(pairKey(user, address));
}

std::size_t LoginThrottle::records() const {
  MutexLock lock(mu_);
  return by_address_.size() + by_user_.size() + by_pair_.size();
}

}  // namespace seams::http

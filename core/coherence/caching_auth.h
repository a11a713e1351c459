// CachingAuth: a split frontend's cache of auth answers in front of the owner's Auth (an IPC stub
// of seam-authd), under the same coherence modes as CachingVault:
//
//   off   Every call goes upstream; subscribe() is upstream's feed.
//   ttl   Answers are kept for ttl after they were fetched, then asked again: a revoked rule or an
//         ended session may still be honoured for up to ttl (bounded drift). No feed.
//   push  Answers are kept until the upstream feed says otherwise: rules_changed drops every
//         decision (and the uid mappings); session_ended drops the sessions of that token id
//         (tokenId(token)), and an empty token id (the stubs' resync) drops every session. While
//         the feed may be down nothing is served from the cache (feed_state.h).
//
// What is cached: validate(token) -> principal; authorize(token, path, access) as the decision
// (allowed with its principal, or permission_denied) keyed by the token; check(principal, path,
// access) keyed by the principal (FUSE); principalForUid. unauthenticated answers and transport
// errors are never cached: a bad token always costs a round trip, which is what a client that
// presents one deserves. A generation counter, bumped by every invalidation and read before each
// upstream call, keeps an answer that raced with an invalidation out of the cache. Each map is
// bounded by `max_entries` (AuthConfig::decision_cache_entries); a full map is cleared.
//
// Thread-safety: every method may be called concurrently from any thread. mutex_ guards the maps
// (shared for lookups, exclusive for inserts and invalidations); generation_ is written under it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "core/auth/auth.h"
#include "core/coherence/feed_state.h"
#include "core/coherence/listener_set.h"
#include "core/common/clock.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"

namespace seams {

struct AuthCacheOptions {
  Coherence mode = Coherence::push;
  std::chrono::milliseconds ttl{1000};
  std::size_t max_entries = 65536;
};

class CachingAuth final : public Auth {
 public:
  // Subscribes to upstream's feed in push mode. REQUIRES: clock outlives this object; every
  // Subscription it hands out is destroyed before it.
  CachingAuth(std::shared_ptr<Auth> upstream, AuthCacheOptions options, const Clock& clock);
  ~CachingAuth() override;
  CachingAuth(const CachingAuth&) = delete;
  CachingAuth& operator=(const CachingAuth&) = delete;

  Result<Session> login(std::string_view user, std::string_view password) override;
  Status logout(std::string_view token) override;
  Result<Principal> validate(std::string_view token) override;
  Status check(const Principal& who, const VaultPath& path, Access access) override;
  Result<Principal> authorize(std::string_view token, const VaultPath& path,
                              Access access) override;
  Result<Principal> principalForUid(std::uint32_t uid) override;
  Status grant(const Principal& admin, const Rule& rule) override;
  Status revoke(const Principal& admin, const Rule& rule) override;
  Result<std::vector<Rule>> rules() override;
  std::unique_ptr<Subscription> subscribe(AuthListener listener) override;

  std::uint64_t upstreamCalls() const noexcept {
    return upstream_calls_.load(std::memory_order_relaxed);
  }
  bool serving() const noexcept {
    return options_.mode != Coherence::off && (options_.mode != Coherence::push || feed_.up());
  }

 private:
  struct SessionEntry {
    Principal principal;
    MonoTime fetched;
  };
  struct Decision {
    Status status;  // ok or permission_denied
    Principal principal;
    MonoTime fetched;
  };
  struct UidEntry {
    Principal principal;
    MonoTime fetched;
  };
  using TokenDecisionKey =
      std::tuple<std::string, std::string, std::uint8_t>;  // token, path, access
  using CheckKey = std::tuple<std::string, std::vector<std::string>, std::string, std::uint8_t>;

  bool fresh(MonoTime fetched) const;
  void dropDecisions() REQUIRES(mutex_);
  void dropSessions(const std::string& token_id) REQUIRES(mutex_);  // "" = all
  void onUpstreamEvent(const AuthEvent& e);
  template <typename R>
  R track(const FeedState::Token& t, R result);

  std::shared_ptr<Auth> upstream_;
  const AuthCacheOptions options_;
  const Clock& clock_;
  FeedState feed_;
  ListenerSet<AuthListener, AuthEvent> listeners_;
  std::atomic<std::uint64_t> upstream_calls_{0};

  mutable SharedMutex mutex_;
  std::uint64_t generation_ GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::string, SessionEntry> sessions_ GUARDED_BY(mutex_);  // by token
  std::map<TokenDecisionKey, Decision> token_decisions_ GUARDED_BY(mutex_);
  std::map<CheckKey, Decision> check_decisions_ GUARDED_BY(mutex_);
  std::unordered_map<std::uint32_t, UidEntry> uids_ GUARDED_BY(mutex_);

  std::unique_ptr<Subscription> upstream_subscription_;  // push only; destroyed first
};

}  // namespace seams

#include "core/coherence/caching_auth.h"

#include <utility>

namespace seams {
namespace {

template <typename R>
Errc codeOf(const R& r) {
  if constexpr (std::is_same_v<R, Status>) {
    return r.code();
  } else {
    return r.ok() ? Errc::ok : r.code();
  }
}

bool isDecision(Errc code) {
  return code == Errc::ok || code == Errc::permission_denied;
}

}  // namespace

CachingAuth::CachingAuth(std::shared_ptr<Auth> upstream, AuthCacheOptions options,
                         const Clock& clock)
    : upstream_(std::move(upstream)), options_(options), clock_(clock) {
  if (options_.mode == Coherence::push) {
    upstream_subscription_ =
        upstream_->subscribe([this](const AuthEvent& e) { onUpstreamEvent(e); });
  }
}

CachingAuth::~CachingAuth() {
  upstream_subscription_.reset();
}

bool CachingAuth::fresh(MonoTime fetched) const {
  return options_.mode != Coherence::ttl || clock_.now() - fetched < options_.ttl;
}

template <typename R>
R CachingAuth::track(const FeedState::Token& t, R result) {
  upstream_calls_.fetch_add(1, std::memory_order_relaxed);
  if (options_.mode != Coherence::push) return result;
  Errc code = codeOf(result);
  if (code == Errc::unavailable || code == Errc::timeout) {
    feed_.markDown();
    WriterLock lock(mutex_);
    ++generation_;
    dropDecisions();
    dropSessions("");
  } else {
    feed_.callSucceeded(t);
  }
  return result;
}

void CachingAuth::dropDecisions() {
  ++generation_;
  token_decisions_.clear();
  check_decisions_.clear();
  uids_.clear();
}

void CachingAuth::dropSessions(const std::string& token_id) {
  ++generation_;
  if (token_id.empty()) {
    sessions_.clear();
    token_decisions_.clear();
    return;
  }
  // Logouts are rare next to requests: a scan beats keeping a second index on the hot path.
  std::erase_if(sessions_, [&](const auto& kv) { return tokenId(kv.first) == token_id; });
  std::erase_if(token_decisions_,
                [&](const auto& kv) { return tokenId(std::get<0>(kv.first)) == token_id; });
}

void CachingAuth::onUpstreamEvent(const AuthEvent& e) {
  {
    WriterLock lock(mutex_);
    if (e.kind == AuthEvent::Kind::rules_changed) {
      dropDecisions();
    } else {
      dropSessions(e.token_id);
    }
  }
  // The second half of the stubs' resync: everything was dropped, the feed is back.
  if (e.kind == AuthEvent::Kind::session_ended && e.token_id.empty()) feed_.markUp();
  listeners_.publish(e);
}

Result<Session> CachingAuth::login(std::string_view user, std::string_view password) {
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->login(std::string(user), std::string(password)));
}

Status CachingAuth::logout(std::string_view token) {
  FeedState::Token t = feed_.beginCall();
  const std::string owned(token);
  Status s = track(t, upstream_->logout(owned));
  std::string id = tokenId(token);
  {
    WriterLock lock(mutex_);
    dropSessions(id);
  }
  if (options_.mode == Coherence::ttl) {
    listeners_.publish(AuthEvent{AuthEvent::Kind::session_ended, id, {}});
  }
  return s;
}

Result<Principal> CachingAuth::validate(std::string_view token) {
  const bool use = serving();
  std::uint64_t gen = 0;
  if (use) {
    ReaderLock lock(mutex_);
    if (auto it = sessions_.find(std::string(token));
        it != sessions_.end() && fresh(it->second.fetched)) {
      return it->second.principal;
    }
    gen = generation_;
  }
  FeedState::Token t = feed_.beginCall();
  Result<Principal> r = track(t, upstream_->validate(std::string(token)));
  if (use && r.ok()) {
    WriterLock lock(mutex_);
    if (gen == generation_) {
      if (sessions_.size() >= options_.max_entries) sessions_.clear();
      sessions_[std::string(token)] = SessionEntry{*r, clock_.now()};
    }
  }
  return r;
}

Result<Principal> CachingAuth::authorize(std::string_view token, const VaultPath& path,
                                         Access access) {
  const bool use = serving();
  std::uint64_t gen = 0;
  TokenDecisionKey key{std::string(token), path.str(), static_cast<std::uint8_t>(access)};
  if (use) {
    ReaderLock lock(mutex_);
    if (auto it = token_decisions_.find(key);
        it != token_decisions_.end() && fresh(it->second.fetched)) {
      if (!it->second.status.ok()) return it->second.status;
      return it->second.principal;
    }
    gen = generation_;
  }
  FeedState::Token t = feed_.beginCall();
  Result<Principal> r = track(t, upstream_->authorize(std::get<0>(key), path, access));
  Errc code = codeOf(r);
  if (use && isDecision(code)) {
    WriterLock lock(mutex_);
    if (gen == generation_) {
      if (token_decisions_.size() >= options_.max_entries) token_decisions_.clear();
      MonoTime now = clock_.now();
      token_decisions_[std::move(key)] =
          Decision{r.ok() ? okStatus() : r.status(), r.ok() ? *r : Principal{}, now};
      if (r.ok()) sessions_[std::string(token)] = SessionEntry{*r, now};
    }
  }
  return r;
}

Status CachingAuth::check(const Principal& who, const VaultPath& path, Access access) {
  const bool use = serving();
  std::uint64_t gen = 0;
  CheckKey key{who.user, who.groups, path.str(), static_cast<std::uint8_t>(access)};
  if (use) {
    ReaderLock lock(mutex_);
    if (auto it = check_decisions_.find(key);
        it != check_decisions_.end() && fresh(it->second.fetched)) {
      return it->second.status;
    }
    gen = generation_;
  }
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->check(who, path, access));
  if (use && isDecision(s.code())) {
    WriterLock lock(mutex_);
    if (gen == generation_) {
      if (check_decisions_.size() >= options_.max_entries) check_decisions_.clear();
      check_decisions_[std::move(key)] = Decision{s, who, clock_.now()};
    }
  }
  return s;
}

Result<Principal> CachingAuth::principalForUid(std::uint32_t uid) {
  const bool use = serving();
  std::uint64_t gen = 0;
  if (use) {
    ReaderLock lock(mutex_);
    if (auto it = uids_.find(uid); it != uids_.end() && fresh(it->second.fetched)) {
      return it->second.principal;
    }
    gen = generation_;
  }
  FeedState::Token t = feed_.beginCall();
  Result<Principal> r = track(t, upstream_->principalForUid(uid));
  if (use && r.ok()) {
    WriterLock lock(mutex_);
    if (gen == generation_) {
      if (uids_.size() >= options_.max_entries) uids_.clear();
      uids_[uid] = UidEntry{*r, clock_.now()};
    }
  }
  return r;
}

Status CachingAuth::grant(const Principal& admin, const Rule& rule) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->grant(admin, rule));
  {
    WriterLock lock(mutex_);
    dropDecisions();
  }
  if (options_.mode == Coherence::ttl) {
    listeners_.publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, admin.user});
  }
  return s;
}

Status CachingAuth::revoke(const Principal& admin, const Rule& rule) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->revoke(admin, rule));
  {
    WriterLock lock(mutex_);
    dropDecisions();
  }
  if (options_.mode == Coherence::ttl) {
    listeners_.publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, admin.user});
  }
  return s;
}

Result<std::vector<Rule>> CachingAuth::rules() {
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->rules());
}

std::unique_ptr<Subscription> CachingAuth::subscribe(AuthListener listener) {
  if (options_.mode == Coherence::off) return upstream_->subscribe(std::move(listener));
  return listeners_.add(std::move(listener));
}

}  // namespace seams

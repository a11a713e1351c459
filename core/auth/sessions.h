// SessionStore: the users from config, password checks, and the live sessions.
//
// Passwords. Users carry an Argon2id hash in libsodium's crypto_pwhash_str format; login()
// verifies with crypto_pwhash_str_verify. An unknown user is verified against a dummy hash with
// the same cost parameters as the configured hashes (dummyHashLike), so the answer and the work
// are the same whether or not the user exists, and timing does not tell which users exist. The
// dummy is assembled, not computed, so it adds nothing to the start.
//
// Tokens. 32 bytes from the kernel's CSPRNG (libsodium's randombytes_buf, which uses
// getrandom()), encoded URL-safe base64 without padding (43 characters). The table is keyed by a
// BLAKE2b hash of the token (crypto_generichash): it never holds the secret, a dump of it cannot
// be replayed, and lookups are by hash, so no comparison runs over the secret itself (which is
// why no constant-time comparison is needed: see DigestEq).
//
// Expiry. A session lives session_ttl_s after it was issued. With auth.sliding_expiry (the
// default) every successful validate() moves its expiry to now + session_ttl_s, so a session
// ends after session_ttl_s of disuse; without it, session_ttl_s after login no matter what.
// Session::expires_at_ms, returned at login, is therefore the earliest the session can expire.
// Expiry is measured on the monotonic clock; expires_at_ms is wall time, for clients only.
// An expired session is refused by validate() and removed: by the validate() or logout() that
// finds it, or by sweepExpired() for sessions never presented again. The owner may call
// sweepExpired() on a timer; login() also sweeps when the last sweep is older than
// min(session_ttl_s, kSweepInterval), so the table stays bounded even if no one does (a login
// already costs an Argon2id verification, so the sweep's cost is lost in it). Every removal is
// reported once through the `on_ended` callback.
//
// Thread-safety: every method may be called concurrently from any thread. The sessions live in
// kShards shards, each guarded by its own mutex, held only for the lookup (a plain mutex, not a
// reader/writer lock: sliding expiry writes on every validation anyway, and glibc's rwlock would
// let a stream of validations starve a logout). The users are immutable after construction.
// No lock is held while a password is hashed or `on_ended` runs.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/auth/auth.h"
#include "core/auth/auth_config.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"

namespace seams {

// Hashes a password for the config file (`seamctl init` uses it). The defaults are libsodium's
// INTERACTIVE limits (2 passes over 64 MiB): about a tenth of a second per login on a current
// core, which is what a user waiting on a login can accept, while every guess of an offline
// attacker with a stolen config costs the same time and memory. SENSITIVE (1 GiB, ~3 s) would
// make each login a memory hazard for a small daemon; MODERATE sits between. Tests pass
// crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN to stay fast.
// Errors: invalid_argument for limits below libsodium's minimum; internal if libsodium cannot
// initialise or Argon2id fails (it cannot get its memory).
Result<std::string> hashPassword(std::string_view password,
                                 unsigned long long opslimit = 0,  // 0: INTERACTIVE
                                 std::size_t memlimit = 0);        // 0: INTERACTIVE

// An Argon2id hash string that no password verifies against and whose verification costs what
// verifying `model` costs: the model's "$argon2id$v=..$m=..,t=..,p=.." parameters with a random
// salt and a random digest of the model's lengths. An empty model gives libsodium's minimum cost.
// Errors: invalid_argument if `model` is not an Argon2id string.
Result<std::string> dummyHashLike(const std::string& model);

// A session that ended (logout or expiry), as reported to `on_ended`.
struct EndedSession {
  std::string token_id;  // tokenId(token), never the token
  std::string user;
  enum class Reason : std::uint8_t { logout = 0, expired = 1 } reason = Reason::logout;
};

class SessionStore {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kTokenBytes = 32;
  static constexpr std::ptrdiff_t kMaxConcurrentVerifications = 4;
  static constexpr std::int64_t kSweepInterval = 60'000'000'000;  // ns
  // Called after a session is removed, with no lock held, on the thread that removed it.
  using EndedCallback = std::function<void(const EndedSession&)>;

  // Errors (invalid_argument, naming the user): a hash that is not a libsodium Argon2id string,
  // a duplicate user name or uid, an empty name; a session_ttl_s below 1.
  static Result<std::unique_ptr<SessionStore>> create(const std::vector<UserConfig>& users,
                                                      const AuthConfig& config, const Clock& clock,
                                                      EndedCallback on_ended = {});
  // Use create(); public only so std::make_unique can reach it.
  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  SessionStore(PrivateTag, const AuthConfig& config, const Clock& clock, EndedCallback on_ended);
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;
  ~SessionStore();

  // unauthenticated ("invalid user or password") for an unknown user or a wrong password.
  // Costs one Argon2id verification either way. At most kMaxConcurrentVerifications run at
  // once (each takes the hash's whole memory cost, 64 MiB at INTERACTIVE): a burst of logins
  // queues here instead of exhausting memory.
  Result<Session> login(std::string_view user, std::string_view password);
  // unauthenticated if the token is unknown, ended or expired.
  Result<Principal> validate(std::string_view token);
  // Ends the session; unauthenticated if it is not live (an expired one is removed all the same).
  Status logout(std::string_view token);
  // Removes every expired session; returns how many.
  std::size_t sweepExpired();

  // not_found when no user has this uid.
  Result<Principal> principalForUid(std::uint32_t uid) const;
  // Live sessions plus expired ones not yet removed.
  std::size_t sessionCount() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
  };
  struct DigestEq {
    bool operator()(const Digest& a, const Digest& b) const noexcept;
  };
  struct User {
    Principal principal;
    std::string password_hash;
  };
  struct Entry {
    const User* user = nullptr;
    std::string token_id;
    std::int64_t expires_ns = 0;  // monotonic ns
  };
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<Digest, std::unique_ptr<Entry>, DigestHash, DigestEq> sessions
        GUARDED_BY(mu);
  };

  static Digest digest(std::string_view token);
  Shard& shardFor(const Digest& d) { return shards_[d[0] % kShards]; }
  std::int64_t nowNs() const;
  void report(EndedSession ended) const;
  // Sweeps if the last sweep is older than sweep_interval_ns_.
  void maybeSweep();

  const Clock& clock_;
  const std::int64_t ttl_ns_;
  const bool sliding_;
  const std::int64_t sweep_interval_ns_;
  std::atomic<std::int64_t> last_sweep_ns_;
  const EndedCallback on_ended_;
  std::unordered_map<std::string, User> users_;            // immutable after create()
  std::unordered_map<std::uint32_t, const User*> by_uid_;  // immutable after create()
  std::string dummy_hash_;  // verified for unknown users; same cost as the real ones
  std::array<Shard, kShards> shards_;
  std::counting_semaphore<kMaxConcurrentVerifications> verify_slots_{kMaxConcurrentVerifications};
};

}  // namespace seams

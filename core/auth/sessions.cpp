#include "core/auth/sessions.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "core/auth/sodium_init.h"

namespace seams {
namespace {

constexpr std::string_view kBadCredentials = "invalid user or password";
constexpr std::string_view kArgon2idPrefix = "$argon2id$";
// Longer than any token we issue by far; anything longer is refused before it is hashed.
constexpr std::size_t kMaxTokenLength = 256;

struct CostParams {
  unsigned long long opslimit = 0;
  std::size_t memlimit = 0;
};

// Reads "m=<KiB>,t=<passes>" from "$argon2id$v=19$m=65536,t=2,p=1$salt$hash".
std::optional<CostParams> argon2idCost(const std::string& hash) {
  const std::size_t m = hash.find("$m=");
  if (m == std::string::npos) return std::nullopt;
  unsigned long long kib = 0;
  unsigned long long passes = 0;
  if (std::sscanf(hash.c_str() + m, "$m=%llu,t=%llu", &kib, &passes) != 2) return std::nullopt;
  return CostParams{passes, static_cast<std::size_t>(kib) * 1024};
}

Status checkHash(const std::string& name, const std::string& hash) {
  // needs_rehash() returns -1 when the string is not a well-formed hash of this algorithm.
  if (hash.compare(0, kArgon2idPrefix.size(), kArgon2idPrefix) != 0 ||
      crypto_pwhash_argon2id_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_MIN,
                                              crypto_pwhash_MEMLIMIT_MIN) == -1 ||
      !argon2idCost(hash)) {
    return Status(Errc::invalid_argument,
                  "user '" + name + "': password_hash is not a libsodium Argon2id string");
  }
  return Status();
}

// Unpadded standard base64, as argon2's encoding writes salts and digests.
std::string base64(const std::vector<unsigned char>& bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::size_t> decodedLength(std::string_view b64) {
  if (b64.empty()) return std::nullopt;  // (and libsodium's buffers must not be null)
  std::vector<unsigned char> bytes(b64.size());
  std::size_t len = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
    return std::nullopt;
  }
  return len;
}

}  // namespace

// crypto_pwhash_str_verify's work depends only on the parameters and the salt's and digest's
// lengths, so its time cannot tell this from a real user's hash; and unlike hashing a random
// password (one full Argon2id, ~0.1 s at INTERACTIVE) it costs nothing to make, which keeps the
// equalisation off the start path. A password matching it would need an Argon2id output equal to
// 32 random bytes: 2^-256.
Result<std::string> dummyHashLike(const std::string& model) {
  if (!ensureSodium()) return Status(Errc::internal, "libsodium failed to initialise");
  std::string params = "v=19$m=" + std::to_string(crypto_pwhash_MEMLIMIT_MIN / 1024) +
                       ",t=" + std::to_string(crypto_pwhash_OPSLIMIT_MIN) + ",p=1";
  std::size_t salt_len = crypto_pwhash_SALTBYTES;
  std::size_t digest_len = 32;
  if (!model.empty()) {
    // "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<digest>"
    std::vector<std::string_view> parts;
    std::string_view rest(model);
    for (std::size_t at; (at = rest.find('$')) != std::string_view::npos;) {
      parts.push_back(rest.substr(0, at));
      rest.remove_prefix(at + 1);
    }
    parts.push_back(rest);
    std::optional<std::size_t> salt, digest;
    if (parts.size() == 6) {
      salt = decodedLength(parts[4]);
      digest = decodedLength(parts[5]);
    }
    if (!salt || !digest || *salt == 0 || *digest == 0) {
      return Status(Errc::invalid_argument, "password_hash is not a libsodium Argon2id string");
    }
    params = std::string(parts[2]) + "$" + std::string(parts[3]);
    salt_len = *salt;
    digest_len = *digest;
  }
  std::vector<unsigned char> salt(salt_len), digest(digest_len);
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(digest.data(), digest.size());
  return std::string(kArgon2idPrefix) + params + "$" + base64(salt) + "$" + base64(digest);
}

Result<std::string> hashPassword(std::string_view password, unsigned long long opslimit,
                                 std::size_t memlimit) {
  if (!ensureSodium()) return Status(Errc::internal, "libsodium failed to initialise");
  if (opslimit == 0) opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  if (memlimit == 0) memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (opslimit < crypto_pwhash_OPSLIMIT_MIN || memlimit < crypto_pwhash_MEMLIMIT_MIN) {
    return Status(Errc::invalid_argument, "Argon2id limits below libsodium's minimum");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit, memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(Errc::internal, "Argon2id failed (out of memory?)");
  }
  return std::string(out);
}

std::size_t SessionStore::DigestHash::operator()(const Digest& d) const noexcept {
  // The digest is uniformly random already; bytes 8.. are independent of the shard byte.
  std::size_t h;
  std::memcpy(&h, d.data() + 8, sizeof h);
  return h;
}

bool SessionStore::DigestEq::operator()(const Digest& a, const Digest& b) const noexcept {
  // Plain memcmp on purpose: these are hashes, not secrets. Timing could at most tell a caller
  // how many leading bytes of H(their token) match a stored H(token), and that does not help
  // find a token with a given hash (BLAKE2b is preimage-resistant). sodium_memcmp cost 15% of
  // validate() here for no gain.
  return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

SessionStore::SessionStore(PrivateTag, const AuthConfig& config, const Clock& clock,
                           EndedCallback on_ended)
    : clock_(clock),
      ttl_ns_(std::int64_t{config.session_ttl_s} * 1'000'000'000),
      sliding_(config.sliding_expiry),
      sweep_interval_ns_(std::min(ttl_ns_, kSweepInterval)),
      last_sweep_ns_(nowNs()),
      on_ended_(std::move(on_ended)) {}

SessionStore::~SessionStore() = default;

Result<std::unique_ptr<SessionStore>> SessionStore::create(const std::vector<UserConfig>& users,
                                                           const AuthConfig& config,
                                                           const Clock& clock,
                                                           EndedCallback on_ended) {
  if (!ensureSodium()) return Status(Errc::internal, "libsodium failed to initialise");
  if (config.session_ttl_s < 1) {
    return Status(Errc::invalid_argument, "auth.session_ttl_s: must be at least 1");
  }
  auto store = std::make_unique<SessionStore>(PrivateTag{}, config, clock, std::move(on_ended));
  for (const UserConfig& u : users) {
    if (u.name.empty()) return Status(Errc::invalid_argument, "a user has an empty name");
    SEAMS_RETURN_IF_ERROR(checkHash(u.name, u.password_hash));
    auto [it, inserted] =
        store->users_.emplace(u.name, User{Principal{u.name, u.groups}, u.password_hash});
    if (!inserted) return Status(Errc::invalid_argument, "user '" + u.name + "' appears twice");
    if (u.uid) {
      if (!store->by_uid_.emplace(*u.uid, &it->second).second) {
        return Status(Errc::invalid_argument,
                      "user '" + u.name + "': uid " + std::to_string(*u.uid) + " is taken");
      }
    }
  }
  // The dummy costs what a real user's check costs. Configs are expected to hash every password
  // with the same parameters (seamctl init does); the first user's are taken.
  const std::string model = users.empty() ? std::string() : users.front().password_hash;
  auto dummy = dummyHashLike(model);
  if (!dummy.ok()) return dummy.status();
  store->dummy_hash_ = std::move(dummy).value();
  return store;
}

SessionStore::Digest SessionStore::digest(std::string_view token) {
  Digest d;
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return d;
}

std::int64_t SessionStore::nowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now().time_since_epoch())
      .count();
}

void SessionStore::report(EndedSession ended) const {
  if (on_ended_) on_ended_(ended);
}

void SessionStore::maybeSweep() {
  std::int64_t last = last_sweep_ns_.load(std::memory_order_relaxed);
  const std::int64_t now = nowNs();
  if (now - last < sweep_interval_ns_) return;
  // One of several concurrent logins wins the right to sweep; the others go on.
  if (!last_sweep_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  sweepExpired();
}

Result<Session> SessionStore::login(std::string_view user, std::string_view password) {
  maybeSweep();
  auto it = users_.find(std::string(user));
  const std::string& hash = it == users_.end() ? dummy_hash_ : it->second.password_hash;
  verify_slots_.acquire();
  const bool verified =
      crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  verify_slots_.release();
  if (it == users_.end() || !verified) {
    return Status(Errc::unauthenticated, std::string(kBadCredentials));
  }

  unsigned char raw[kTokenBytes];
  char encoded[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  Session session;
  while (true) {
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(encoded, sizeof encoded, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    session.token = encoded;
    sodium_memzero(encoded, sizeof encoded);

    auto entry = std::make_unique<Entry>();
    entry->user = &it->second;
    entry->token_id = tokenId(session.token);
    entry->expires_ns = nowNs() + ttl_ns_;
    const Digest d = digest(session.token);
    Shard& shard = shardFor(d);
    MutexLock lock(shard.mu);
    // A collision of 256 random bits does not happen; if it ever did, draw again.
    if (shard.sessions.emplace(d, std::move(entry)).second) break;
  }
  const auto wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch())
          .count();
  session.expires_at_ms = wall_ms + ttl_ns_ / 1'000'000;
  return session;
}

Result<Principal> SessionStore::validate(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return Status(Errc::unauthenticated, "invalid token");
  }
  const Digest d = digest(token);
  Shard& shard = shardFor(d);
  const std::int64_t now = nowNs();
  const User* user = nullptr;
  EndedSession ended;
  {
    MutexLock lock(shard.mu);
    auto it = shard.sessions.find(d);
    if (it == shard.sessions.end()) return Status(Errc::unauthenticated, "invalid token");
    Entry& e = *it->second;
    if (now < e.expires_ns) {
      // max(): a validation that read the clock earlier may land later; never move backwards.
      if (sliding_) e.expires_ns = std::max(e.expires_ns, now + ttl_ns_);
      user = e.user;
    } else {
      ended = EndedSession{std::move(e.token_id), e.user->principal.user,
                           EndedSession::Reason::expired};
      shard.sessions.erase(it);
    }
  }
  // Users are immutable: the copy is made outside the lock.
  if (user != nullptr) return user->principal;
  report(std::move(ended));
  return Status(Errc::unauthenticated, "session expired");
}

Status SessionStore::logout(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return Status(Errc::unauthenticated, "invalid token");
  }
  const Digest d = digest(token);
  Shard& shard = shardFor(d);
  EndedSession ended;
  {
    MutexLock lock(shard.mu);
    auto it = shard.sessions.find(d);
    if (it == shard.sessions.end()) return Status(Errc::unauthenticated, "invalid token");
    const bool expired = nowNs() >= it->second->expires_ns;
    ended = EndedSession{std::move(it->second->token_id), it->second->user->principal.user,
                         expired ? EndedSession::Reason::expired : EndedSession::Reason::logout};
    shard.sessions.erase(it);
  }
  const bool expired = ended.reason == EndedSession::Reason::expired;
  report(std::move(ended));
  if (expired) return Status(Errc::unauthenticated, "session expired");
  return Status();
}

std::size_t SessionStore::sweepExpired() {
  std::vector<EndedSession> ended;
  for (Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    const std::int64_t now = nowNs();
    for (auto it = shard.sessions.begin(); it != shard.sessions.end();) {
      if (now < it->second->expires_ns) {
        ++it;
        continue;
      }
      ended.push_back(EndedSession{std::move(it->second->token_id),
                                   it->second->user->principal.user,
                                   EndedSession::Reason::expired});
      it = shard.sessions.erase(it);
    }
  }
  for (EndedSession& e : ended) report(std::move(e));
  return ended.size();
}

Result<Principal> SessionStore::principalForUid(std::uint32_t uid) const {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) {
    return Status(Errc::not_found, "uid " + std::to_string(uid) + " maps to no vault user");
  }
  return it->second->principal;
}

std::size_t SessionStore::sessionCount() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    n += shard.sessions.size();
  }
  return n;
}

}  // namespace seams

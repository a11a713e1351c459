#include "core/auth/sessions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "tests/core/auth/auth_test_util.h"

namespace seams {
namespace {

using namespace seams::testing;
using std::chrono::seconds;

AuthConfig ttl(int seconds, bool sliding) {
  AuthConfig c;
  c.session_ttl_s = seconds;
  c.sliding_expiry = sliding;
  return c;
}

class SessionStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SessionStore> makeStore(const AuthConfig& config) {
    auto store = SessionStore::create(users_, config, clock_, [this](const EndedSession& e) {
      std::lock_guard lock(mu_);
      ended_.push_back(e);
    });
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return std::move(store).value();
  }
  std::vector<EndedSession> ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }

  std::vector<UserConfig> users_{user("alice", "wonderland", {"staff"}, 1000),
                                 user("bob", "builder")};
  ManualClock clock_;
  std::mutex mu_;
  std::vector<EndedSession> ended_;
};

TEST_F(SessionStoreTest, LoginWithTheRightPasswordGivesAToken) {
  auto store = makeStore(ttl(60, false));
  auto session = store->login("alice", "wonderland");
  ASSERT_TRUE(session.ok()) << session.status().toString();
  auto who = store->validate(session->token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, (Principal{"alice", {"staff"}}));
}

TEST_F(SessionStoreTest, WrongPasswordAndUnknownUserGetTheSameError) {
  auto store = makeStore(ttl(60, false));
  auto wrong = store->login("alice", "looking-glass");
  auto unknown = store->login("mallory", "wonderland");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.code(), Errc::unauthenticated);
  EXPECT_EQ(unknown.code(), wrong.code());
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_FALSE(store->login("", "").ok());
  EXPECT_FALSE(store->login("alice", "").ok());
}

TEST_F(SessionStoreTest, TokensAre32RandomBytesInUrlSafeBase64AndNeverRepeat) {
  auto store = makeStore(ttl(60, false));
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto session = store->login("bob", "builder");
    ASSERT_TRUE(session.ok());
    EXPECT_EQ(session->token.size(), 43u);  // ceil(32 * 4 / 3), no padding
    EXPECT_EQ(session->token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << session->token;
    EXPECT_TRUE(seen.insert(session->token).second);
  }
  EXPECT_EQ(store->sessionCount(), 50u);
}

TEST_F(SessionStoreTest, ExpiresAtIsTheTtlFromNowInWallTime) {
  auto store = makeStore(ttl(60, false));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch())
          .count();
  EXPECT_EQ(session->expires_at_ms, now_ms + 60'000);
}

TEST_F(SessionStoreTest, ValidateRefusesATokenAfterLogout) {
  auto store = makeStore(ttl(60, false));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(store->logout(session->token).ok());
  EXPECT_EQ(store->validate(session->token).code(), Errc::unauthenticated);
  EXPECT_EQ(store->logout(session->token).code(), Errc::unauthenticated);
  ASSERT_EQ(ended().size(), 1u);
  EXPECT_EQ(ended()[0].user, "bob");
  EXPECT_EQ(ended()[0].token_id, tokenId(session->token));
  EXPECT_EQ(ended()[0].reason, EndedSession::Reason::logout);
}

TEST_F(SessionStoreTest, LogoutEndsOnlyThatSession) {
  auto store = makeStore(ttl(60, false));
  auto first = store->login("bob", "builder");
  auto second = store->login("bob", "builder");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(store->logout(first->token).ok());
  EXPECT_TRUE(store->validate(second->token).ok());
}

TEST_F(SessionStoreTest, GarbageTokensAreRefused) {
  auto store = makeStore(ttl(60, false));
  EXPECT_EQ(store->validate("").code(), Errc::unauthenticated);
  EXPECT_EQ(store->validate("not-a-token").code(), Errc::unauthenticated);
  EXPECT_EQ(store->validate(std::string(100000, 'A')).code(), Errc::unauthenticated);
  EXPECT_EQ(store->validate(std::string("\0\0\0", 3)).code(), Errc::unauthenticated);
  EXPECT_EQ(store->logout("not-a-token").code(), Errc::unauthenticated);
}

TEST_F(SessionStoreTest, AFixedSessionExpiresTtlAfterLoginEvenWhenUsed) {
  auto store = makeStore(ttl(60, false));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  clock_.advance(seconds(59));
  EXPECT_TRUE(store->validate(session->token).ok());
  clock_.advance(seconds(1));
  EXPECT_EQ(store->validate(session->token).code(), Errc::unauthenticated);
  // Refusing it removed it, and said so once.
  EXPECT_EQ(store->sessionCount(), 0u);
  ASSERT_EQ(ended().size(), 1u);
  EXPECT_EQ(ended()[0].reason, EndedSession::Reason::expired);
  EXPECT_EQ(store->validate(session->token).code(), Errc::unauthenticated);
  EXPECT_EQ(ended().size(), 1u);
}

TEST_F(SessionStoreTest, ASlidingSessionLivesWhileItIsUsed) {
  auto store = makeStore(ttl(60, true));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  for (int i = 0; i < 10; ++i) {
    clock_.advance(seconds(59));
    ASSERT_TRUE(store->validate(session->token).ok()) << "after " << (i + 1) * 59 << " s";
  }
  clock_.advance(seconds(60));
  EXPECT_EQ(store->validate(session->token).code(), Errc::unauthenticated);
}

TEST_F(SessionStoreTest, AFailedValidationDoesNotExtendASlidingSession) {
  auto store = makeStore(ttl(60, true));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  clock_.advance(seconds(30));
  EXPECT_FALSE(store->validate("someone-elses-token").ok());
  clock_.advance(seconds(30));
  EXPECT_EQ(store->validate(session->token).code(), Errc::unauthenticated);
}

TEST_F(SessionStoreTest, SweepRemovesOnlyExpiredSessionsAndReportsEach) {
  auto store = makeStore(ttl(60, true));
  auto idle1 = store->login("alice", "wonderland");
  auto idle2 = store->login("bob", "builder");
  auto busy = store->login("bob", "builder");
  ASSERT_TRUE(idle1.ok() && idle2.ok() && busy.ok());
  clock_.advance(seconds(40));
  ASSERT_TRUE(store->validate(busy->token).ok());
  clock_.advance(seconds(20));
  EXPECT_EQ(store->sweepExpired(), 2u);
  EXPECT_EQ(store->sessionCount(), 1u);
  EXPECT_TRUE(store->validate(busy->token).ok());

  std::set<std::string> ids;
  for (const EndedSession& e : ended()) {
    EXPECT_EQ(e.reason, EndedSession::Reason::expired);
    ids.insert(e.token_id);
  }
  EXPECT_EQ(ids, (std::set<std::string>{tokenId(idle1->token), tokenId(idle2->token)}));
  EXPECT_EQ(store->sweepExpired(), 0u);
}

TEST_F(SessionStoreTest, ALoginSweepsSessionsExpiredSinceTheLastSweep) {
  auto store = makeStore(ttl(60, false));
  auto old = store->login("bob", "builder");
  ASSERT_TRUE(old.ok());
  clock_.advance(seconds(30));
  ASSERT_TRUE(store->login("bob", "builder").ok());
  EXPECT_EQ(store->sessionCount(), 2u);  // too soon to sweep, and nothing expired
  clock_.advance(seconds(31));
  ASSERT_TRUE(store->login("alice", "wonderland").ok());
  EXPECT_EQ(store->sessionCount(), 2u);
  ASSERT_EQ(ended().size(), 1u);
  EXPECT_EQ(ended()[0].token_id, tokenId(old->token));
  EXPECT_EQ(ended()[0].reason, EndedSession::Reason::expired);
}

TEST_F(SessionStoreTest, LogoutOfAnExpiredSessionIsRefusedButEndsIt) {
  auto store = makeStore(ttl(60, false));
  auto session = store->login("bob", "builder");
  ASSERT_TRUE(session.ok());
  clock_.advance(seconds(61));
  EXPECT_EQ(store->logout(session->token).code(), Errc::unauthenticated);
  EXPECT_EQ(store->sessionCount(), 0u);
  ASSERT_EQ(ended().size(), 1u);
  EXPECT_EQ(ended()[0].reason, EndedSession::Reason::expired);
}

TEST_F(SessionStoreTest, NoValidationStartedAfterLogoutReturnsSucceeds) {
  // Readers validate the token (sliding expiry writes on each) while the clock moves; once
  // logout has returned, no validation that starts afterwards may succeed.
  auto store = makeStore(ttl(60, true));
  auto session = store->login("alice", "wonderland");
  ASSERT_TRUE(session.ok());
  std::atomic<bool> logged_out{false};
  std::atomic<bool> done{false};
  std::atomic<int> after{0};
  std::atomic<int> stale{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const bool started_after = logged_out.load(std::memory_order_acquire);
        const bool ok = store->validate(session->token).ok();
        if (started_after) {
          ++after;
          if (ok) ++stale;
        }
      }
    });
  }
  // Less than the TTL in total, so the session is live at logout however the threads interleave.
  for (int i = 0; i < 100; ++i) clock_.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(store->logout(session->token).ok());
  logged_out.store(true, std::memory_order_release);
  while (after.load() < 300) std::this_thread::yield();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
  ASSERT_EQ(ended().size(), 1u);
  EXPECT_EQ(ended()[0].reason, EndedSession::Reason::logout);
}

TEST_F(SessionStoreTest, PrincipalForUidMapsConfiguredUids) {
  auto store = makeStore(ttl(60, false));
  auto alice = store->principalForUid(1000);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(store->principalForUid(1001).code(), Errc::not_found);
}

TEST(SessionStoreCreate, RefusesBadConfigsNamingTheUser) {
  ManualClock clock;
  const AuthConfig config;
  auto bad_hash = SessionStore::create({UserConfig{"eve", "plaintext", {}, {}}}, config, clock);
  EXPECT_EQ(bad_hash.code(), Errc::invalid_argument);
  EXPECT_NE(bad_hash.status().message().find("eve"), std::string::npos);

  auto scrypt = SessionStore::create(
      {UserConfig{"eve",
                  "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
                  {},
                  {}}},
      config, clock);
  EXPECT_EQ(scrypt.code(), Errc::invalid_argument);

  auto truncated = cheapHash("pw");
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(SessionStore::create({UserConfig{"eve", truncated, {}, {}}}, config, clock).code(),
            Errc::invalid_argument);

  EXPECT_EQ(SessionStore::create({user("a", "x"), user("a", "y")}, config, clock).code(),
            Errc::invalid_argument);
  EXPECT_EQ(
      SessionStore::create({user("a", "x", {}, 7), user("b", "y", {}, 7)}, config, clock).code(),
      Errc::invalid_argument);

  AuthConfig zero_ttl;
  zero_ttl.session_ttl_s = 0;
  EXPECT_EQ(SessionStore::create({}, zero_ttl, clock).code(), Errc::invalid_argument);
}

TEST(SessionStoreCreate, AStoreWithoutUsersRefusesEveryLogin) {
  ManualClock clock;
  auto store = SessionStore::create({}, AuthConfig{}, clock);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->login("root", "").code(), Errc::unauthenticated);
}

TEST(HashPassword, MakesAnArgon2idStringThatVerifies) {
  auto hash = hashPassword("secret", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(crypto_pwhash_str_verify(hash->c_str(), "secret", 6), 0);
  EXPECT_NE(crypto_pwhash_str_verify(hash->c_str(), "Secret", 6), 0);
  // Salted: the same password hashes differently each time.
  EXPECT_NE(*hash, *hashPassword("secret", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN));
}

// The unknown-user check must cost a real Argon2id verification: the dummy must parse as an
// Argon2id string with the model's parameters (crypto_pwhash_str_verify would otherwise fail at
// once, and the fast answer would tell that the user does not exist).
TEST(DummyHashLike, ParsesWithTheModelsCostAndVerifiesNoPassword) {
  const unsigned long long ops = crypto_pwhash_OPSLIMIT_MIN + 1;
  const std::size_t mem = crypto_pwhash_MEMLIMIT_MIN * 4;
  auto model = hashPassword("secret", ops, mem);
  ASSERT_TRUE(model.ok());
  auto dummy = dummyHashLike(*model);
  ASSERT_TRUE(dummy.ok()) << dummy.status().toString();
  EXPECT_EQ(dummy->size(), model->size());
  // Everything up to the salt is the model's: "$argon2id$v=19$m=..,t=..,p=1$".
  const std::size_t params_end = model->rfind('$', model->rfind('$') - 1);
  EXPECT_EQ(dummy->substr(0, params_end), model->substr(0, params_end));
  EXPECT_EQ(crypto_pwhash_argon2id_str_needs_rehash(dummy->c_str(), ops, mem), 0);
  EXPECT_NE(crypto_pwhash_str_verify(dummy->c_str(), "secret", 6), 0);
  EXPECT_NE(crypto_pwhash_str_verify(dummy->c_str(), "", 0), 0);
  // Random salt and digest each time.
  EXPECT_NE(*dummy, *dummyHashLike(*model));
}

TEST(DummyHashLike, WithoutAModelUsesTheMinimumCost) {
  auto dummy = dummyHashLike("");
  ASSERT_TRUE(dummy.ok());
  EXPECT_EQ(crypto_pwhash_argon2id_str_needs_rehash(dummy->c_str(), crypto_pwhash_OPSLIMIT_MIN,
                                                    crypto_pwhash_MEMLIMIT_MIN),
            0);
}

TEST(DummyHashLike, RefusesAModelThatIsNotAnArgon2idString) {
  for (const char* bad : {"plain", "$argon2id$v=19$m=65536,t=2,p=1$", "$argon2id$v=19$x$!!$??",
                          "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$"}) {
    EXPECT_EQ(dummyHashLike(bad).code(), Errc::invalid_argument) << bad;
  }
}

TEST(HashPassword, RefusesLimitsBelowTheMinimum) {
  EXPECT_EQ(hashPassword("x", crypto_pwhash_OPSLIMIT_MIN, 1024).code(), Errc::invalid_argument);
}

TEST_F(SessionStoreTest, ManyConcurrentLoginsAllSucceed) {
  // More threads than verification slots: the extra logins wait for a slot, none fail.
  auto store = makeStore(ttl(60, false));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3 * SessionStore::kMaxConcurrentVerifications; ++i) {
    threads.emplace_back([&] {
      if (store->login("alice", "wonderland").ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 3 * SessionStore::kMaxConcurrentVerifications);
}

TEST(TokenId, IsStableShortAndNotTheToken) {
  const std::string token = "q3Jx0Zb4k9mV1yPz8u7T6s5R4e3W2a1S0d9F8g7H6j5";
  const std::string id = tokenId(token);
  EXPECT_EQ(id, tokenId(token));
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(token.find(id), std::string::npos);
  EXPECT_NE(id, tokenId(token + "x"));
}

TEST(AccessName, NamesEachBit) {
  EXPECT_EQ(accessName(Access::read), "read");
  EXPECT_EQ(accessName(Access::write), "write");
  EXPECT_EQ(accessName(Access::list), "list");
  EXPECT_EQ(accessName(Access::admin), "admin");
  EXPECT_EQ(accessName(static_cast<Access>(3)), "unknown");
}

}  // namespace
}  // namespace seams

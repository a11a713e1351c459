#include "core/auth/local_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "tests/core/auth/auth_test_util.h"

namespace seams {
namespace {

using namespace seams::testing;
using std::chrono::seconds;

class LocalAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.session_ttl_s = 60;
    config_.sliding_expiry = false;
    auto auth = LocalAuth::create(users_, rules_, config_, clock_);
    ASSERT_TRUE(auth.ok()) << auth.status().toString();
    auth_ = std::move(auth).value();
    sub_ = auth_->subscribe([this](const AuthEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
  }
  void TearDown() override { sub_.reset(); }

  std::string loginOrDie(const std::string& name, const std::string& password) {
    auto s = auth_->login(name, password);
    EXPECT_TRUE(s.ok()) << s.status().toString();
    return s.ok() ? s->token : std::string();
  }
  std::vector<AuthEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  std::vector<UserConfig> users_{user("root", "r00t", {"admins"}, 0),
                                 user("alice", "wonderland", {"staff"}, 1000),
                                 user("bob", "builder", {}, 1001)};
  std::vector<Rule> rules_{allowGroup("admins", "/", kAllAccess),
                           allowGroup("staff", "/docs", kRead | kList),
                           allowUser("alice", "/docs/alice", kAllAccess)};
  AuthConfig config_;
  ManualClock clock_;
  std::unique_ptr<LocalAuth> auth_;
  std::unique_ptr<Subscription> sub_;
  std::mutex mu_;
  std::vector<AuthEvent> events_;

  const Principal root_{"root", {"admins"}};
  const Principal alice_{"alice", {"staff"}};
  const Principal bob_{"bob", {}};
};

TEST_F(LocalAuthTest, AuthorizeValidatesThenChecks) {
  const std::string token = loginOrDie("alice", "wonderland");
  auto ok = auth_->authorize(token, path("/docs/a.txt"), Access::read);
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(*ok, alice_);
  EXPECT_EQ(auth_->authorize(token, path("/docs/a.txt"), Access::write).code(),
            Errc::permission_denied);
  EXPECT_EQ(auth_->authorize("bogus", path("/docs/a.txt"), Access::read).code(),
            Errc::unauthenticated);
  EXPECT_TRUE(auth_->authorize(token, path("/docs/alice/x"), Access::write).ok());
}

TEST_F(LocalAuthTest, CheckSaysWhoMayNotDoWhat) {
  Status denied = auth_->check(bob_, path("/docs"), Access::read);
  EXPECT_EQ(denied.code(), Errc::permission_denied);
  EXPECT_NE(denied.message().find("bob"), std::string::npos);
  EXPECT_NE(denied.message().find("read"), std::string::npos);
  EXPECT_NE(denied.message().find("/docs"), std::string::npos);
}

TEST_F(LocalAuthTest, PrincipalForUidUsesTheConfiguredUids) {
  auto alice = auth_->principalForUid(1000);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(*alice, alice_);
  EXPECT_EQ(auth_->principalForUid(4242).code(), Errc::not_found);
}

TEST_F(LocalAuthTest, RulesListsTheInitialRules) {
  auto rules = auth_->rules();
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(*rules, rules_);
}

TEST_F(LocalAuthTest, GrantNeedsAdminOnTheRulesPrefix) {
  const Rule rule = allowUser("bob", "/docs/alice/shared", kRead);
  // Alice has every access on /docs/alice, admin included.
  EXPECT_TRUE(auth_->grant(alice_, rule).ok());
  EXPECT_TRUE(auth_->check(bob_, path("/docs/alice/shared/f"), Access::read).ok());
  // But not on /docs.
  EXPECT_EQ(auth_->grant(alice_, allowUser("bob", "/docs", kRead)).code(), Errc::permission_denied);
  EXPECT_EQ(auth_->grant(bob_, allowUser("bob", "/", kAllAccess)).code(), Errc::permission_denied);
  EXPECT_EQ(auth_->revoke(bob_, rule).code(), Errc::permission_denied);
  EXPECT_TRUE(auth_->revoke(root_, rule).ok());
}

TEST_F(LocalAuthTest, GrantRefusesAMeaninglessRule) {
  EXPECT_EQ(auth_->grant(root_, allowUser("bob", "/", 0)).code(), Errc::invalid_argument);
  EXPECT_EQ(auth_->grant(root_, allowUser("", "/", kRead)).code(), Errc::invalid_argument);
}

TEST_F(LocalAuthTest, RevokeOfAMissingRuleIsNotFound) {
  EXPECT_EQ(auth_->revoke(root_, allowUser("bob", "/nowhere", kRead)).code(), Errc::not_found);
  EXPECT_TRUE(events().empty());
}

TEST_F(LocalAuthTest, RevokeTakesEffectOnTheNextRequest) {
  const std::string token = loginOrDie("alice", "wonderland");
  ASSERT_TRUE(auth_->authorize(token, path("/docs/a"), Access::read).ok());
  ASSERT_TRUE(auth_->authorize(token, path("/docs/a"), Access::read).ok());
  ASSERT_TRUE(auth_->revoke(root_, rules_[1]).ok());
  EXPECT_EQ(auth_->authorize(token, path("/docs/a"), Access::read).code(), Errc::permission_denied);
}

TEST_F(LocalAuthTest, ListenersHearOfARuleChangeBeforeGrantAndRevokeReturn) {
  const Rule rule = allowUser("bob", "/tmp", kWrite);
  ASSERT_TRUE(auth_->grant(root_, rule).ok());
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].kind, AuthEvent::Kind::rules_changed);
  // An equal grant changes nothing and tells no one.
  ASSERT_TRUE(auth_->grant(root_, rule).ok());
  EXPECT_EQ(events().size(), 1u);
  ASSERT_TRUE(auth_->revoke(root_, rule).ok());
  ASSERT_EQ(events().size(), 2u);
  EXPECT_EQ(events()[1].kind, AuthEvent::Kind::rules_changed);
}

TEST_F(LocalAuthTest, TheCacheIsAlreadyClearWhenListenersHearOfARevoke) {
  const std::string token = loginOrDie("alice", "wonderland");
  ASSERT_TRUE(auth_->authorize(token, path("/docs/a"), Access::read).ok());
  Status seen_by_listener;
  // Listeners must not call back into Auth in production; check() never touches the feed, so
  // this one may, to look at the table exactly when the event is delivered.
  auto sub = auth_->subscribe([&](const AuthEvent& e) {
    if (e.kind == AuthEvent::Kind::rules_changed) {
      seen_by_listener = auth_->check(alice_, path("/docs/a"), Access::read);
    }
  });
  ASSERT_TRUE(auth_->revoke(root_, rules_[1]).ok());
  EXPECT_EQ(seen_by_listener.code(), Errc::permission_denied);
}

TEST_F(LocalAuthTest, LogoutIsAnnouncedWithTheTokenIdNotTheToken) {
  const std::string token = loginOrDie("bob", "builder");
  ASSERT_TRUE(auth_->logout(token).ok());
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].kind, AuthEvent::Kind::session_ended);
  EXPECT_EQ(events()[0].user, "bob");
  EXPECT_EQ(events()[0].token_id, tokenId(token));
  EXPECT_NE(events()[0].token_id, token);
  EXPECT_EQ(auth_->validate(token).code(), Errc::unauthenticated);
}

TEST_F(LocalAuthTest, SweepAnnouncesEachExpiredSession) {
  const std::string a = loginOrDie("alice", "wonderland");
  const std::string b = loginOrDie("bob", "builder");
  clock_.advance(seconds(61));
  EXPECT_EQ(auth_->sweepExpired(), 2u);
  ASSERT_EQ(events().size(), 2u);
  for (const AuthEvent& e : events()) EXPECT_EQ(e.kind, AuthEvent::Kind::session_ended);
  EXPECT_EQ(auth_->sessionCount(), 0u);
  EXPECT_EQ(auth_->authorize(a, path("/docs/x"), Access::read).code(), Errc::unauthenticated);
}

TEST_F(LocalAuthTest, ADestroyedSubscriptionHearsNothing) {
  sub_.reset();
  ASSERT_TRUE(auth_->grant(root_, allowUser("bob", "/tmp", kWrite)).ok());
  EXPECT_TRUE(events().empty());
}

TEST(LocalAuthCreate, RefusesABadRuleOrConfig) {
  ManualClock clock;
  auto bad_rule = LocalAuth::create({}, {allowUser("", "/", kRead)}, AuthConfig{}, clock);
  EXPECT_EQ(bad_rule.code(), Errc::invalid_argument);
  EXPECT_NE(bad_rule.status().message().find("rules[0]"), std::string::npos);
  AuthConfig negative;
  negative.decision_cache_entries = -1;
  EXPECT_EQ(LocalAuth::create({}, {}, negative, clock).code(), Errc::invalid_argument);
  EXPECT_EQ(LocalAuth::create({UserConfig{"eve", "nope", {}, {}}}, {}, AuthConfig{}, clock).code(),
            Errc::invalid_argument);
}

// Many threads validate and authorize while others grant, revoke and log in and out. Checks
// that nothing breaks (TSan and ASan watch the rest) and that each reader's answers are ones
// the rules could give: the stable rules always allow, the toggled one only sometimes.
TEST_F(LocalAuthTest, ConcurrentRequestsAndRuleChangesStayConsistent) {
  constexpr int kReaders = 3;
  constexpr int kRounds = 500;
  const std::string alice_token = loginOrDie("alice", "wonderland");
  const std::string bob_token = loginOrDie("bob", "builder");
  const Rule toggled = allowUser("bob", "/docs/shared", kRead);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      for (int i = 0; !stop.load() && i < 50 * kRounds; ++i) {
        const std::string file = "/docs/f" + std::to_string((i + r) % 64);
        if (!auth_->authorize(alice_token, path(file), Access::read).ok()) ++failures;
        if (auth_->authorize(alice_token, path(file), Access::write).ok()) ++failures;
        auto bob = auth_->authorize(bob_token, path("/docs/shared/x"), Access::read);
        if (!bob.ok() && bob.code() != Errc::permission_denied) ++failures;
        if (auth_->authorize(bob_token, path("/docs/private"), Access::read).ok()) ++failures;
      }
    });
  }
  std::thread admin([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!auth_->grant(root_, toggled).ok()) ++failures;
      if (!auth_->revoke(root_, toggled).ok()) ++failures;
    }
  });
  std::thread sessions([&] {
    for (int i = 0; i < 20; ++i) {
      auto s = auth_->login("bob", "builder");
      if (!s.ok() || !auth_->logout(s->token).ok()) ++failures;
      auth_->sweepExpired();
    }
  });
  admin.join();
  sessions.join();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  // After the last revoke, the toggled rule is gone for every thread.
  EXPECT_EQ(auth_->authorize(bob_token, path("/docs/shared/x"), Access::read).code(),
            Errc::permission_denied);
  EXPECT_EQ(events().size(), 2u * kRounds + 20u);
}

// A revoke that has returned is seen by every request that starts after it, on every thread:
// once the final revoke is published, no reader is allowed by the revoked rule again.
TEST_F(LocalAuthTest, NoRequestStartedAfterTheFinalRevokeIsAllowedByIt) {
  constexpr int kRounds = 300;
  const std::string bob_token = loginOrDie("bob", "builder");
  const Rule rule = allowUser("bob", "/docs/shared", kRead);
  std::atomic<bool> revoked_for_good{false};
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::atomic<int> checked_after{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const bool after_revoke = revoked_for_good.load(std::memory_order_acquire);
        auto result = auth_->authorize(bob_token, path("/docs/shared/x"), Access::read);
        if (after_revoke) {
          ++checked_after;
          if (result.ok()) ++stale;
        }
      }
    });
  }
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(auth_->grant(root_, rule).ok());
    ASSERT_TRUE(auth_->revoke(root_, rule).ok());
  }
  revoked_for_good.store(true, std::memory_order_release);
  // Let the readers make some requests after the final revoke before stopping them.
  while (checked_after.load() < 300) std::this_thread::yield();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
}

}  // namespace
}  // namespace seams

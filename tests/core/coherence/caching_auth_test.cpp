// CachingAuth: sessions and decisions cached per coherence mode; revocations and logouts reach
// the frontend as each mode promises.
#include "core/coherence/caching_auth.h"

#include <gtest/gtest.h>

#include "core/auth/local_auth.h"
#include "tests/core/auth/auth_test_util.h"
#include "tests/core/coherence/scripted_upstream.h"

namespace seams {
namespace {

using namespace std::chrono_literals;
using namespace seams::testing;

class CachingAuthTest : public ::testing::Test {
 protected:
  void build(Coherence mode) {
    std::vector<UserConfig> users = {user("admin", "pw-admin"),
                                     user("alice", "pw-alice", {"staff"}, 60001)};
    std::vector<Rule> rules = {allowUser("admin", "/", kAllAccess),
                               allowUser("alice", "/", kRead | kWrite | kList)};
    owner_ = std::move(LocalAuth::create(users, rules, AuthConfig{}, clock_).value());
    auto scripted = std::make_shared<ScriptedAuth>(*owner_);
    upstream_ = scripted.get();
    cache_ = std::make_unique<CachingAuth>(scripted, AuthCacheOptions{mode, 1000ms, 1024}, clock_);
    alice_ = owner_->login("alice", "pw-alice").value().token;
    admin_ = owner_->validate(owner_->login("admin", "pw-admin").value().token).value();
  }
  ~CachingAuthTest() override { cache_.reset(); }

  Errc readDoc() { return cache_->authorize(alice_, path("/docs/a"), Access::read).code(); }
  void denyAliceDocs() {
    ASSERT_TRUE(owner_->grant(admin_, denyUser("alice", "/docs", kRead)).ok());
  }

  ManualClock clock_;
  std::unique_ptr<LocalAuth> owner_;
  ScriptedAuth* upstream_ = nullptr;
  std::unique_ptr<CachingAuth> cache_;
  std::string alice_;
  Principal admin_;
};

TEST_F(CachingAuthTest, OffAsksTheOwnerEveryTime) {
  build(Coherence::off);
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(upstream_->calls.load(), 2);
}

TEST_F(CachingAuthTest, PushAnswersARepeatedDecisionLocally) {
  build(Coherence::push);
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(cache_->validate(alice_).value().user, "alice");
  EXPECT_EQ(upstream_->calls.load(), 1) << "one round trip, then none";
}

TEST_F(CachingAuthTest, PushHonoursARevocationAtTheOwnerAtOnce) {
  build(Coherence::push);
  Principal alice = cache_->principalForUid(60001).value();
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(cache_->check(alice, path("/docs/a"), Access::read).code(), Errc::ok);
  denyAliceDocs();  // through the owner, not this frontend
  EXPECT_EQ(readDoc(), Errc::permission_denied);
  EXPECT_EQ(cache_->check(alice, path("/docs/a"), Access::read).code(), Errc::permission_denied);
}

TEST_F(CachingAuthTest, PushDropsASessionEndedAtTheOwner) {
  build(Coherence::push);
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_TRUE(cache_->validate(alice_).ok());
  ASSERT_TRUE(owner_->logout(alice_).ok());
  EXPECT_EQ(cache_->validate(alice_).code(), Errc::unauthenticated);
  EXPECT_EQ(readDoc(), Errc::unauthenticated);
}

TEST_F(CachingAuthTest, ALogoutThroughTheFrontendEndsTheSessionThereInEveryMode) {
  for (Coherence mode : {Coherence::off, Coherence::ttl, Coherence::push}) {
    build(mode);
    EXPECT_EQ(readDoc(), Errc::ok);
    ASSERT_TRUE(cache_->logout(alice_).ok());
    EXPECT_EQ(readDoc(), Errc::unauthenticated) << coherenceName(mode);
    EXPECT_EQ(cache_->validate(alice_).code(), Errc::unauthenticated) << coherenceName(mode);
  }
}

TEST_F(CachingAuthTest, TtlKeepsADecisionForTheTtlThenAsksAgain) {
  build(Coherence::ttl);
  EXPECT_EQ(readDoc(), Errc::ok);
  denyAliceDocs();
  clock_.advance(999ms);
  EXPECT_EQ(readDoc(), Errc::ok) << "bounded drift: the old decision stands within the ttl";
  clock_.advance(1ms);
  EXPECT_EQ(readDoc(), Errc::permission_denied);
}

TEST_F(CachingAuthTest, ABadTokenIsNeverCached) {
  build(Coherence::push);
  EXPECT_EQ(cache_->authorize("nope", path("/a"), Access::read).code(), Errc::unauthenticated);
  EXPECT_EQ(cache_->authorize("nope", path("/a"), Access::read).code(), Errc::unauthenticated);
  EXPECT_EQ(upstream_->calls.load(), 2);
}

TEST_F(CachingAuthTest, PushServesNothingCachedWhileTheFeedMayBeDownAndResumesAfterResync) {
  build(Coherence::push);
  EXPECT_EQ(readDoc(), Errc::ok);
  upstream_->down = true;
  EXPECT_EQ(cache_->validate("other-token").code(), Errc::unavailable);
  EXPECT_EQ(readDoc(), Errc::unavailable) << "not the cached allow";
  upstream_->down = false;
  upstream_->resync();
  EXPECT_TRUE(cache_->serving());
  EXPECT_EQ(readDoc(), Errc::ok);
  int calls = upstream_->calls.load();
  EXPECT_EQ(readDoc(), Errc::ok);
  EXPECT_EQ(upstream_->calls.load(), calls);
}

TEST_F(CachingAuthTest, AGrantThroughTheFrontendIsSeenThereAtOnceInEveryMode) {
  for (Coherence mode : {Coherence::off, Coherence::ttl, Coherence::push}) {
    build(mode);
    EXPECT_EQ(readDoc(), Errc::ok);
    ASSERT_TRUE(cache_->grant(admin_, denyUser("alice", "/docs", kRead)).ok());
    EXPECT_EQ(readDoc(), Errc::permission_denied) << coherenceName(mode);
  }
}

}  // namespace
}  // namespace seams

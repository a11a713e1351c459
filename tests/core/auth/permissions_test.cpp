#include "core/auth/permissions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/core/auth/auth_test_util.h"

namespace seams {
namespace {

using namespace seams::testing;

const Principal kAlice{"alice", {"staff", "eng"}};

struct PrecedenceCase {
  std::string name;
  std::vector<Rule> rules;
  std::string path;
  Access access;
  bool allowed;
};

class PrecedenceTest : public ::testing::TestWithParam<PrecedenceCase> {};

TEST_P(PrecedenceTest, DecidesAsTheRulesSay) {
  const PrecedenceCase& c = GetParam();
  for (std::size_t cache : {std::size_t{0}, std::size_t{1024}}) {
    PermissionTable table(cache);
    for (const Rule& r : c.rules) table.add(r);
    // Twice: once computed, once (with a cache) from the cache.
    EXPECT_EQ(table.allowed(kAlice, path(c.path), c.access), c.allowed) << "cache " << cache;
    EXPECT_EQ(table.allowed(kAlice, path(c.path), c.access), c.allowed) << "cache " << cache;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, PrecedenceTest,
    ::testing::Values(
        PrecedenceCase{"NoRuleMeansDeny", {}, "/docs/a", Access::read, false},
        PrecedenceCase{"RulesForSomeoneElseDoNotApply",
                       {allowUser("bob", "/", kAllAccess), allowGroup("ops", "/", kAllAccess)},
                       "/docs/a",
                       Access::read,
                       false},
        PrecedenceCase{"AllowOnAnAncestorAllows",
                       {allowUser("alice", "/docs", kRead)},
                       "/docs/a/b",
                       Access::read,
                       true},
        PrecedenceCase{"AllowOnThePathItselfAllows",
                       {allowUser("alice", "/docs/a", kRead)},
                       "/docs/a",
                       Access::read,
                       true},
        PrecedenceCase{"RuleOnADescendantDoesNotApply",
                       {allowUser("alice", "/docs/a", kRead)},
                       "/docs",
                       Access::read,
                       false},
        PrecedenceCase{"RootRuleCoversEverything",
                       {allowUser("alice", "/", kRead)},
                       "/x/y/z",
                       Access::read,
                       true},
        PrecedenceCase{
            "LongerPrefixDenyBeatsShorterAllow",
            {allowUser("alice", "/docs", kRead), denyUser("alice", "/docs/secret", kRead)},
            "/docs/secret/plan",
            Access::read,
            false},
        PrecedenceCase{"LongerPrefixAllowBeatsShorterDeny",
                       {denyUser("alice", "/", kRead), allowUser("alice", "/docs/public", kRead)},
                       "/docs/public/x",
                       Access::read,
                       true},
        PrecedenceCase{"ShorterDenyStillAppliesBesideTheLongerAllow",
                       {denyUser("alice", "/", kRead), allowUser("alice", "/docs/public", kRead)},
                       "/docs/private",
                       Access::read,
                       false},
        PrecedenceCase{"DenyBeatsAllowAtEqualDepth",
                       {allowUser("alice", "/docs", kRead), denyUser("alice", "/docs", kRead)},
                       "/docs/a",
                       Access::read,
                       false},
        PrecedenceCase{"GroupDenyBeatsUserAllowAtEqualDepth",
                       {allowUser("alice", "/docs", kRead), denyGroup("staff", "/docs", kRead)},
                       "/docs/a",
                       Access::read,
                       false},
        PrecedenceCase{"UserDenyBeatsGroupAllowAtEqualDepth",
                       {allowGroup("staff", "/docs", kRead), denyUser("alice", "/docs", kRead)},
                       "/docs/a",
                       Access::read,
                       false},
        PrecedenceCase{"DeeperGroupAllowBeatsShallowerUserDeny",
                       {denyUser("alice", "/docs", kRead), allowGroup("eng", "/docs/eng", kRead)},
                       "/docs/eng/x",
                       Access::read,
                       true},
        PrecedenceCase{"DeeperUserDenyBeatsShallowerGroupAllow",
                       {allowGroup("staff", "/", kAllAccess), denyUser("alice", "/hr", kAllAccess)},
                       "/hr/pay",
                       Access::write,
                       false},
        PrecedenceCase{"AnyOfThePrincipalsGroupsMatches",
                       {allowGroup("eng", "/src", kWrite)},
                       "/src/main.c",
                       Access::write,
                       true},
        PrecedenceCase{"SiblingPrefixIsNotMatched",
                       {allowUser("alice", "/docs", kRead)},
                       "/docsx/a",
                       Access::read,
                       false},
        PrecedenceCase{"SiblingPrefixDenyDoesNotApply",
                       {allowUser("alice", "/", kRead), denyUser("alice", "/docs", kRead)},
                       "/docsx",
                       Access::read,
                       true},
        PrecedenceCase{"AllowOfOneBitGrantsOnlyThatBit",
                       {allowUser("alice", "/", kRead)},
                       "/a",
                       Access::write,
                       false},
        PrecedenceCase{
            "DenyOfWriteDoesNotHideAnAncestorsReadAllow",
            {allowUser("alice", "/docs", kRead | kWrite), denyUser("alice", "/docs/ro", kWrite)},
            "/docs/ro/x",
            Access::read,
            true},
        PrecedenceCase{
            "DenyOfWriteDeniesWrite",
            {allowUser("alice", "/docs", kRead | kWrite), denyUser("alice", "/docs/ro", kWrite)},
            "/docs/ro/x",
            Access::write,
            false},
        PrecedenceCase{"MultiBitRuleCoversEachBit",
                       {allowUser("alice", "/", kRead | kList)},
                       "/a",
                       Access::list,
                       true},
        PrecedenceCase{"AdminIsItsOwnBit",
                       {allowUser("alice", "/", kRead | kWrite | kList)},
                       "/a",
                       Access::admin,
                       false},
        PrecedenceCase{"DenyOnTheRootDeniesEverything",
                       {allowGroup("staff", "/a", kRead), denyUser("alice", "/", kRead)},
                       "/b",
                       Access::read,
                       false}),
    [](const ::testing::TestParamInfo<PrecedenceCase>& info) { return info.param.name; });

TEST(PermissionTable, AnAccessWithSeveralBitsNeedsEveryBit) {
  PermissionTable table;
  table.add(allowUser("alice", "/", kRead));
  EXPECT_FALSE(table.allowed(kAlice, path("/a"), static_cast<Access>(kRead | kWrite)));
  table.add(allowUser("alice", "/", kWrite));
  EXPECT_TRUE(table.allowed(kAlice, path("/a"), static_cast<Access>(kRead | kWrite)));
  EXPECT_FALSE(table.allowed(kAlice, path("/a"), static_cast<Access>(0)));
}

TEST(PermissionTable, ValidateRefusesMeaninglessRules) {
  EXPECT_TRUE(PermissionTable::validate(allowUser("alice", "/", kRead)).ok());
  EXPECT_EQ(PermissionTable::validate(allowUser("", "/", kRead)).code(), Errc::invalid_argument);
  EXPECT_EQ(PermissionTable::validate(allowUser("alice", "/", 0)).code(), Errc::invalid_argument);
  EXPECT_EQ(PermissionTable::validate(allowUser("alice", "/", 16)).code(), Errc::invalid_argument);
}

TEST(PermissionTable, AddingAnEqualRuleTwiceKeepsOne) {
  PermissionTable table;
  EXPECT_TRUE(table.add(allowUser("alice", "/docs", kRead)));
  EXPECT_FALSE(table.add(allowUser("alice", "/docs", kRead)));
  EXPECT_EQ(table.rules().size(), 1u);
}

TEST(PermissionTable, RemoveTakesOnlyTheEqualRule) {
  PermissionTable table;
  table.add(allowUser("alice", "/docs", kRead));
  table.add(allowUser("alice", "/docs", kWrite));
  EXPECT_FALSE(table.remove(allowUser("alice", "/docs", kRead | kWrite)));
  EXPECT_FALSE(table.remove(denyUser("alice", "/docs", kRead)));
  EXPECT_TRUE(table.remove(allowUser("alice", "/docs", kRead)));
  EXPECT_EQ(table.rules(), std::vector<Rule>{allowUser("alice", "/docs", kWrite)});
  EXPECT_FALSE(table.allowed(kAlice, path("/docs"), Access::read));
  EXPECT_TRUE(table.allowed(kAlice, path("/docs"), Access::write));
}

TEST(PermissionTable, RulesAreListedInTheOrderAdded) {
  PermissionTable table;
  const std::vector<Rule> rules{allowUser("b", "/z", kRead), denyGroup("a", "/a", kWrite),
                                allowUser("c", "/", kAdmin)};
  for (const Rule& r : rules) table.add(r);
  EXPECT_EQ(table.rules(), rules);
}

TEST(PermissionTable, ASecondCheckIsServedFromTheCache) {
  PermissionTable table(1024);
  table.add(allowUser("alice", "/docs", kRead));
  EXPECT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
  EXPECT_EQ(table.cacheMisses(), 1u);
  EXPECT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
  EXPECT_EQ(table.cacheHits(), 1u);
  EXPECT_EQ(table.cacheSize(), 1u);
}

TEST(PermissionTable, TheCacheTellsPrincipalsWithDifferentGroupsApart) {
  PermissionTable table(1024);
  table.add(allowGroup("staff", "/", kRead));
  const Principal staff{"carol", {"staff"}};
  const Principal outsider{"carol", {}};
  EXPECT_TRUE(table.allowed(staff, path("/a"), Access::read));
  EXPECT_FALSE(table.allowed(outsider, path("/a"), Access::read));
  EXPECT_TRUE(table.allowed(staff, path("/a"), Access::read));
}

TEST(PermissionTable, TheCacheStaysWithinItsBound) {
  PermissionTable table(64);
  table.add(allowUser("alice", "/", kRead));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(table.allowed(kAlice, path("/f" + std::to_string(i)), Access::read));
  }
  // 64 rounded up to whole shards.
  EXPECT_LE(table.cacheSize(), 64u + PermissionTable::kShards);
  EXPECT_GT(table.cacheSize(), 0u);
}

TEST(PermissionTable, ADecisionCachedAsAllowIsDeniedRightAfterRevoke) {
  PermissionTable table(1024);
  const Rule rule = allowUser("alice", "/docs", kRead);
  table.add(rule);
  ASSERT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
  ASSERT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));  // now cached
  ASSERT_TRUE(table.remove(rule));
  EXPECT_EQ(table.cacheSize(), 0u);
  EXPECT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
}

TEST(PermissionTable, ADecisionCachedAsDenyIsAllowedRightAfterGrant) {
  PermissionTable table(1024);
  ASSERT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
  ASSERT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
  table.add(allowUser("alice", "/docs", kRead));
  EXPECT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
}

TEST(PermissionTable, ADenyGrantedOverACachedAllowTakesEffectAtOnce) {
  PermissionTable table(1024);
  table.add(allowUser("alice", "/docs", kRead));
  ASSERT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
  table.add(denyGroup("staff", "/docs/a", kRead));
  EXPECT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
}

TEST(PermissionTable, ADecisionComputedBeforeARevokeIsNeverCachedAfterIt) {
  // The reader computes "allow" under the old rules; the revocation runs exactly between that
  // computation and the cache insert. The stale allow must not be cached.
  PermissionTable table(1024);
  const Rule rule = allowUser("alice", "/docs", kRead);
  table.add(rule);
  bool revoked = false;
  table.setBeforeCacheInsertForTest([&] {
    if (!revoked) {
      revoked = true;
      ASSERT_TRUE(table.remove(rule));
    }
  });
  // The in-flight answer reflects the rules it read; what matters is what is cached.
  EXPECT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
  EXPECT_TRUE(revoked);
  EXPECT_EQ(table.cacheSize(), 0u);
  EXPECT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
}

TEST(PermissionTable, ADecisionComputedBeforeAGrantIsNeverCachedAfterIt) {
  PermissionTable table(1024);
  bool granted = false;
  table.setBeforeCacheInsertForTest([&] {
    if (!granted) {
      granted = true;
      ASSERT_TRUE(table.add(allowUser("alice", "/docs", kRead)));
    }
  });
  EXPECT_FALSE(table.allowed(kAlice, path("/docs/a"), Access::read));
  EXPECT_TRUE(table.allowed(kAlice, path("/docs/a"), Access::read));
}

TEST(PermissionTable, AnUnrelatedDecisionIsCachedWhenNoChangeIntervenes) {
  PermissionTable table(1024);
  table.add(allowUser("alice", "/", kRead));
  int calls = 0;
  table.setBeforeCacheInsertForTest([&] { ++calls; });
  EXPECT_TRUE(table.allowed(kAlice, path("/a"), Access::read));
  EXPECT_TRUE(table.allowed(kAlice, path("/a"), Access::read));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(table.cacheSize(), 1u);
}

}  // namespace
}  // namespace seams

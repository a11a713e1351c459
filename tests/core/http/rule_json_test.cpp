// The rule JSON of POST /v1/admin/grant and /revoke: what it accepts, what it refuses and why.
#include "core/http/rule_json.h"

#include <gtest/gtest.h>

namespace seams::http {
namespace {

using Json = nlohmann::json;

Json parse(const char* text) {
  return Json::parse(text);
}

std::string errorOf(const char* text) {
  Result<Rule> r = ruleFromJson(parse(text));
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.code(), Errc::invalid_argument) << text;
  return r.ok() ? std::string() : r.status().message();
}

TEST(RuleFromJson, ReadsEveryKey) {
  Result<Rule> r = ruleFromJson(parse(
      R"({"subject":"group:staff","prefix":"/docs","access":["read","list"],"effect":"deny"})"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->subject_kind, Rule::Subject::group);
  EXPECT_EQ(r->subject, "staff");
  EXPECT_EQ(r->prefix.str(), "/docs");
  EXPECT_EQ(r->access, mask(Access::read) | mask(Access::list));
  EXPECT_EQ(r->effect, Rule::Effect::deny);
}

TEST(RuleFromJson, EffectDefaultsToAllowAndRepeatedAccessIsHarmless) {
  Result<Rule> r =
      ruleFromJson(parse(R"({"subject":"user:alice","prefix":"/","access":["write","write"]})"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->subject_kind, Rule::Subject::user);
  EXPECT_EQ(r->subject, "alice");
  EXPECT_EQ(r->access, mask(Access::write));
  EXPECT_EQ(r->effect, Rule::Effect::allow);
}

TEST(RuleFromJson, RefusesEachMalformedKeyNamingIt) {
  EXPECT_EQ(errorOf(R"(["subject"])"), "rule must be a JSON object");
  EXPECT_NE(errorOf(R"({"prefix":"/","access":["read"]})").find("rule.subject"), std::string::npos);
  EXPECT_NE(errorOf(R"({"subject":"alice","prefix":"/","access":["read"]})").find("rule.subject"),
            std::string::npos);
  EXPECT_EQ(errorOf(R"({"subject":"user:","prefix":"/","access":["read"]})"),
            "rule.subject has an empty name");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":7,"access":["read"]})"),
            "rule.prefix must be a path string");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":[]})"),
            "rule.access must be a non-empty array");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":"read"})"),
            "rule.access must be a non-empty array");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":[1]})"),
            "rule.access holds strings");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":["execute"]})"),
            "rule.access: unknown access 'execute'");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":["read"],"effect":true})"),
            "rule.effect must be a string");
  EXPECT_EQ(errorOf(R"({"subject":"user:a","prefix":"/","access":["read"],"effect":"maybe"})"),
            "rule.effect must be \"allow\" or \"deny\"");
}

TEST(RuleFromJson, APrefixThatIsNotAVaultPathIsRefusedAsVaultPathRefusesIt) {
  for (const char* prefix : {"/a/../b", "/.seams/x"}) {
    Json j = {{"subject", "user:a"}, {"prefix", prefix}, {"access", {"read"}}};
    Result<Rule> r = ruleFromJson(j);
    ASSERT_FALSE(r.ok()) << prefix;
    EXPECT_EQ(r.code(), Errc::invalid_argument) << prefix;
    EXPECT_EQ(r.status().message(), VaultPath::parse(prefix).status().message()) << prefix;
  }
  Json relative = {{"subject", "user:a"}, {"prefix", "docs//x"}, {"access", {"read"}}};
  Result<Rule> r = ruleFromJson(relative);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->prefix.str(), "/docs/x") << "normalised as VaultPath::parse does";
}

TEST(RuleToJson, WritesAllFourKeysInTheDocumentedOrderAndReadsBackTheSameRule) {
  Rule rule;
  rule.subject_kind = Rule::Subject::group;
  rule.subject = "ops";
  rule.prefix = VaultPath::parse("/srv/logs").value();
  rule.access = mask(Access::admin) | mask(Access::read);
  rule.effect = Rule::Effect::deny;
  Json j = ruleToJson(rule);
  EXPECT_EQ(j, parse(R"({"subject":"group:ops","prefix":"/srv/logs","access":["read","admin"],
                         "effect":"deny"})"));
  Result<Rule> back = ruleFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(*back, rule);
}

}  // namespace
}  // namespace seams::http

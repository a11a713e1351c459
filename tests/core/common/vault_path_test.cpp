#include "core/common/vault_path.h"

#include <gtest/gtest.h>

namespace seams {
namespace {

TEST(VaultPath, NormalisesSlashesAndDots) {
  EXPECT_EQ(VaultPath::parse("a/b")->str(), "/a/b");
  EXPECT_EQ(VaultPath::parse("//a/./b//")->str(), "/a/b");
  EXPECT_EQ(VaultPath::parse("")->str(), "/");
  EXPECT_EQ(VaultPath::parse("/")->str(), "/");
  EXPECT_EQ(VaultPath::parse("/./.")->str(), "/");
}

TEST(VaultPath, RejectsDotDotAnywhere) {
  for (const char* p : {"..", "/..", "/a/..", "/a/../b", "a/b/../../..", "../etc/passwd"}) {
    EXPECT_EQ(VaultPath::parse(p).code(), Errc::invalid_argument) << p;
  }
}

TEST(VaultPath, DotDotLookalikesAreOrdinaryNames) {
  // A literal "%2e%2e" (what double encoding decodes to once) or "..." is a name, not an escape.
  EXPECT_EQ(VaultPath::parse("/%2e%2e/x")->str(), "/%2e%2e/x");
  EXPECT_EQ(VaultPath::parse("/.../x")->str(), "/.../x");
  EXPECT_EQ(VaultPath::parse("/..a")->str(), "/..a");
}

TEST(VaultPath, RejectsNulBytes) {
  std::string p("/a\0b", 4);
  EXPECT_EQ(VaultPath::parse(p).code(), Errc::invalid_argument);
}

TEST(VaultPath, RejectsOverlongNames) {
  EXPECT_EQ(VaultPath::parse("/" + std::string(256, 'x')).code(), Errc::name_too_long);
  EXPECT_TRUE(VaultPath::parse("/" + std::string(255, 'x')).ok());
  std::string deep;
  for (int i = 0; i < 16400; ++i) deep += "/abc";
  EXPECT_EQ(VaultPath::parse(deep).code(), Errc::name_too_long);
}

TEST(VaultPath, AcceptsAWholePathLongerThanPathMax) {
  // PATH_MAX limits one syscall's argument, not how deep the vault goes.
  std::string deep;
  for (int i = 0; i < 30; ++i) deep += "/" + std::string(200, 'd');
  EXPECT_TRUE(VaultPath::parse(deep).ok());
}

TEST(VaultPath, ReservesTheStateDirectoryAtTheRootOnly) {
  EXPECT_EQ(VaultPath::parse("/.seams/versions").code(), Errc::invalid_argument);
  EXPECT_EQ(VaultPath::parse(".seams").code(), Errc::invalid_argument);
  EXPECT_TRUE(VaultPath::parse("/a/.seams").ok());
  EXPECT_EQ(VaultPath::root().child(".seams").code(), Errc::invalid_argument);
}

TEST(VaultPath, ParentNameAndChild) {
  VaultPath p = *VaultPath::parse("/a/b/c");
  EXPECT_EQ(p.name(), "c");
  EXPECT_EQ(p.parent().str(), "/a/b");
  EXPECT_EQ(p.relative(), "a/b/c");
  EXPECT_EQ(p.depth(), 3u);
  EXPECT_EQ(VaultPath::root().relative(), ".");
  EXPECT_EQ(VaultPath::root().parent().str(), "/");
  EXPECT_EQ(VaultPath::parse("/a")->parent().str(), "/");
  EXPECT_EQ(p.child("d")->str(), "/a/b/c/d");
  EXPECT_EQ(p.child("..").code(), Errc::invalid_argument);
  EXPECT_EQ(p.child("x/y").code(), Errc::invalid_argument);
  EXPECT_EQ(p.child("").code(), Errc::invalid_argument);
}

TEST(VaultPath, WithinComparesWholeComponents) {
  VaultPath docs = *VaultPath::parse("/docs");
  EXPECT_TRUE(VaultPath::parse("/docs")->isWithin(docs));
  EXPECT_TRUE(VaultPath::parse("/docs/a")->isWithin(docs));
  EXPECT_FALSE(VaultPath::parse("/docsx")->isWithin(docs));
  EXPECT_FALSE(VaultPath::parse("/doc")->isWithin(docs));
  EXPECT_TRUE(docs.isWithin(VaultPath::root()));
}

}  // namespace
}  // namespace seams

namespace seams {
namespace {

TEST(VaultPath, AcceptsUtf8NamesOfEveryLength) {
  for (const char* p : {"/caf\xc3\xa9", "/\xe2\x82\xac", "/\xf0\x9f\x98\x80.txt", "/\xef\xbf\xbf",
                        "/\xf4\x8f\xbf\xbf", "/plain ascii"}) {
    auto parsed = VaultPath::parse(p);
    ASSERT_TRUE(parsed.ok()) << p << ": " << parsed.status().toString();
    EXPECT_EQ(parsed->str(), p);
  }
}

TEST(VaultPath, RefusesNamesThatAreNotUtf8WithAClearMessage) {
  for (const char* p : {"/bad\xff\xfe.txt", "/\x80", "/\xc0\xaf", "/\xc1\xbf", "/\xe0\x80\xaf",
                        "/\xed\xa0\x80", "/\xf0\x80\x80\xaf", "/\xf4\x90\x80\x80",
                        "/\xf5\x80\x80\x80", "/trunc\xc3", "/trunc\xe2\x82", "/ok/\xe2\x28\xa1"}) {
    auto parsed = VaultPath::parse(p);
    ASSERT_FALSE(parsed.ok()) << p;
    EXPECT_EQ(parsed.code(), Errc::invalid_argument) << p;
    EXPECT_NE(parsed.status().message().find("not valid UTF-8"), std::string::npos) << p;
  }
  auto bad = VaultPath::parse("/bad\xff");
  EXPECT_NE(bad.status().message().find("byte 0xff at offset 3"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(VaultPath::root().child("x\xff").ok());
  EXPECT_FALSE(VaultPath::isValidName("x\xff"));
  EXPECT_TRUE(VaultPath::isValidName("caf\xc3\xa9"));
}

}  // namespace
}  // namespace seams

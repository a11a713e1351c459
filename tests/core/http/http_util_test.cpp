#include "core/http/http_util.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace seams::http {
namespace {

TEST(PercentDecode, DecodesEachEscapeExactlyOnce) {
  EXPECT_EQ(*percentDecode("a%20b"), "a b");
  EXPECT_EQ(*percentDecode("%2e%2E"), "..");
  EXPECT_EQ(*percentDecode("a%2fb"), "a/b");
  EXPECT_EQ(*percentDecode("%252e%252e"), "%2e%2e");
  EXPECT_EQ(*percentDecode("a+b"), "a+b");
  EXPECT_EQ(*percentDecode(""), "");
  EXPECT_EQ(*percentDecode("%00"), std::string("\0", 1));
}

TEST(PercentDecode, RejectsBrokenEscapes) {
  for (const char* s : {"%", "%2", "a%", "%zz", "%g0", "%0g", "ab%2"}) {
    EXPECT_EQ(percentDecode(s).code(), Errc::invalid_argument) << s;
  }
}

TEST(ParseQuery, DecodesNamesAndValuesOnceAndRefusesRepeats) {
  auto q = parseQuery("calls=4&work_us=%31%30&&bytes=&flag");
  ASSERT_TRUE(q.ok()) << q.status().toString();
  EXPECT_EQ(*q, (std::map<std::string, std::string>{
                    {"calls", "4"}, {"work_us", "10"}, {"bytes", ""}, {"flag", ""}}));
  EXPECT_TRUE(parseQuery("").value().empty());
  EXPECT_EQ(parseQuery("a=1&a=2").code(), Errc::invalid_argument);
  EXPECT_EQ(parseQuery("a=%zz").code(), Errc::invalid_argument);
}

TEST(ParseCount, AcceptsDecimalDigitsOnly) {
  EXPECT_EQ(parseCount("0"), 0u);
  EXPECT_EQ(parseCount("18446744073709551615"), 18446744073709551615ULL);
  for (const char* bad : {"", "-1", "+1", "1.5", " 1", "1 ", "0x10", "1e3", "18446744073709551616"})
    EXPECT_FALSE(parseCount(bad).has_value()) << bad;
}

TEST(ParseRange, ReadsTheThreeSingleRangeForms) {
  RangeRequest r = parseRange("bytes=2-5");
  EXPECT_EQ(r.kind, RangeRequest::Kind::single);
  EXPECT_EQ(r.spec, (RangeSpec{RangeSpec::Kind::from_to, 2, 5}));
  EXPECT_EQ(parseRange("bytes=7-").spec, (RangeSpec{RangeSpec::Kind::from, 7, 0}));
  EXPECT_EQ(parseRange("bytes=-3").spec, (RangeSpec{RangeSpec::Kind::suffix, 3, 0}));
  EXPECT_EQ(parseRange(" Bytes = 1 - 2 ").spec, (RangeSpec{RangeSpec::Kind::from_to, 1, 2}));
}

TEST(ParseRange, IgnoresOtherUnitsAndSeveralRanges) {
  EXPECT_EQ(parseRange("items=0-1").kind, RangeRequest::Kind::ignore);
  EXPECT_EQ(parseRange("bytes=0-1,3-4").kind, RangeRequest::Kind::ignore);
}

TEST(ParseRange, CallsMalformedSyntaxInvalid) {
  for (const char* s : {"bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-2", "bytes=1-2-3",
                        "bytes=+1-2", "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(parseRange(s).kind, RangeRequest::Kind::invalid) << s;
  }
}

TEST(ResolveRange, ClampsAndRefusesWhatIsOutsideTheFile) {
  using K = RangeSpec::Kind;
  EXPECT_EQ(resolveRange({K::from_to, 2, 5}, 10), (ByteRange{2, 4}));
  EXPECT_EQ(resolveRange({K::from_to, 8, 100}, 10), (ByteRange{8, 2}));
  EXPECT_EQ(resolveRange({K::from, 7, 0}, 10), (ByteRange{7, 3}));
  EXPECT_EQ(resolveRange({K::suffix, 3, 0}, 10), (ByteRange{7, 3}));
  EXPECT_EQ(resolveRange({K::suffix, 30, 0}, 10), (ByteRange{0, 10}));
  EXPECT_FALSE(resolveRange({K::from_to, 10, 12}, 10));
  EXPECT_FALSE(resolveRange({K::from, 10, 0}, 10));
  EXPECT_FALSE(resolveRange({K::suffix, 0, 0}, 10));
  EXPECT_FALSE(resolveRange({K::suffix, 5, 0}, 0));
  EXPECT_FALSE(resolveRange({K::from, 0, 0}, 0));
}

TEST(BearerToken, TakesTheTokenOfTheBearerSchemeOnly) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(bearerToken("Basic abc"), "");
  EXPECT_EQ(bearerToken("Bearer"), "");
  EXPECT_EQ(bearerToken("Bearer a b"), "");
  EXPECT_EQ(bearerToken(""), "");
}

TEST(Etag, QuotesTheVersionAndMatchesIfNoneMatchLists) {
  EXPECT_EQ(etagFor(42), "\"42\"");
  EXPECT_EQ(etagFor(UINT64_MAX), "\"18446744073709551615\"");
  EXPECT_TRUE(ifNoneMatchHits("\"42\"", "\"42\""));
  EXPECT_TRUE(ifNoneMatchHits("\"1\", W/\"42\"", "\"42\""));
  EXPECT_TRUE(ifNoneMatchHits("*", "\"42\""));
  EXPECT_FALSE(ifNoneMatchHits("\"41\"", "\"42\""));
  EXPECT_FALSE(ifNoneMatchHits("", "\"42\""));
}

}  // namespace
}  // namespace seams::http

namespace seams::http {
namespace {

TEST(CheckRequestFraming, AcceptsNoTransferEncodingOrChunkedAlone) {
  EXPECT_TRUE(checkRequestFraming(11, {}, 0).ok());
  EXPECT_TRUE(checkRequestFraming(11, {}, 1).ok());
  EXPECT_TRUE(checkRequestFraming(10, {}, 1).ok());
  EXPECT_TRUE(checkRequestFraming(11, {"chunked"}, 0).ok());
  EXPECT_TRUE(checkRequestFraming(11, {" CHUNKED ;ext=1"}, 0).ok());
  EXPECT_TRUE(checkRequestFraming(11, {", chunked,"}, 0).ok());
}

TEST(CheckRequestFraming, RefusesAFinalCodingOtherThanChunked) {
  for (std::string_view te : {"gzip", "identity", "foo", "chunked, gzip", "chunked,chunked", ","}) {
    EXPECT_EQ(checkRequestFraming(11, {te}, 0).status, 400u) << te;
  }
  EXPECT_EQ(checkRequestFraming(11, {"chunked", "gzip"}, 0).status, 400u);
}

TEST(CheckRequestFraming, RefusesTransferEncodingWithContentLengthOrInHttp10) {
  EXPECT_EQ(checkRequestFraming(11, {"chunked"}, 1).status, 400u);
  EXPECT_EQ(checkRequestFraming(11, {"identity"}, 2).status, 400u);
  EXPECT_EQ(checkRequestFraming(10, {"chunked"}, 0).status, 400u);
}

TEST(CheckRequestFraming, AnUnsupportedCodingBeforeChunkedIsNotImplemented) {
  EXPECT_EQ(checkRequestFraming(11, {"gzip, chunked"}, 0).status, 501u);
  EXPECT_EQ(checkRequestFraming(11, {"gzip", "chunked"}, 0).status, 501u);
}

}  // namespace
}  // namespace seams::http

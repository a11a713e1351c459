// What the fuzzers found, one test per finding: the behaviour the fix gives, asserted directly,
// and the input libFuzzer found it with (regressions/<target>/) replayed through its harness.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/http/api_handler.h"
#include "core/stats/metrics.h"
#include "tests/fuzz/harness.h"
#include "tests/fuzz/memory_auth.h"
#include "tests/fuzz/memory_vault.h"

namespace seams::fuzz {
namespace {

namespace bhttp = boost::beast::http;

std::string regression(std::string_view target, std::string_view name) {
  std::ifstream in(std::filesystem::path(SEAMS_FUZZ_DIR) / "regressions" / target / name,
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ApiHandlerFinding : public ::testing::Test {
 protected:
  http::Response answer(bhttp::verb method, std::string_view target, std::string_view token) {
    http::Request req;
    req.method(method);
    req.target(boost::beast::string_view(target.data(), target.size()));
    req.version(11);
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + std::string(token));
    http::Response res;
    handler_.handle(req, res);
    return res;
  }

  MemoryVault vault_;
  MemoryAuth auth_;
  MetricsRegistry metrics_;
  http::ApiHandler handler_{vault_, auth_, metrics_};
};

// fuzz_http, first minute: a HEAD with a bad token was answered 401 *with* the JSON error body,
// so on a kept-alive connection the client read that body as the next response.
TEST_F(ApiHandlerFinding, AHeadRefusedForABadTokenIsAnsweredWithoutContent) {
  http::Response res = answer(bhttp::verb::head, "/v1/files/docs/a.txt", "tok-alicd");
  EXPECT_EQ(res.result_int(), 401u);
  EXPECT_TRUE(res.body().empty());
  // The headers a GET would get, so the length of the error a GET would carry.
  http::Response get = answer(bhttp::verb::get, "/v1/files/docs/a.txt", "tok-alicd");
  EXPECT_FALSE(get.body().empty());
  EXPECT_EQ(res[bhttp::field::content_length], std::to_string(get.body().size()));
}

TEST_F(ApiHandlerFinding, EveryHeadAnswerIsWithoutContentWhateverTheRoute) {
  for (std::string_view target :
       {"/healthz", "/readyz", "/metrics", "/nowhere", "/v1/files/missing", "/v1/stat/docs",
        "/v1/list/docs", "/v1/login", "/v1/files/%zz"}) {
    http::Response res = answer(bhttp::verb::head, target, "tok-alice");
    EXPECT_TRUE(res.body().empty()) << target << " answered " << res.result_int();
  }
}

TEST(FuzzRegression, TheHeadRefusedWithABodyInputIsAnsweredByTheFrontendWithinTheContract) {
  const std::string input = regression("http", "head-refused-with-body");
  ASSERT_FALSE(input.empty());
  const Status s = fuzzHttp(input);
  EXPECT_TRUE(s.ok()) << s.toString();
}

// The same for a HEAD the frontend itself refuses (a malformed chunked body, a body over the
// limit): the 400/413 went out with its JSON body. The harness checks that nothing follows the
// headers of an answer to HEAD.
TEST(FuzzRegression, AHeadRefusedByTheFramingIsAnsweredWithoutContent) {
  for (std::string_view name :
       {"head-bad-chunk-with-body", "head-refused-by-the-framing-with-body"}) {
    const std::string input = regression("http", name);
    ASSERT_FALSE(input.empty()) << name;
    const Status s = fuzzHttp(input);
    EXPECT_TRUE(s.ok()) << name << ": " << s.toString();
  }
}

}  // namespace
}  // namespace seams::fuzz

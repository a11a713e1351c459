// The HTTP frontend over a real socket, against a LocalVault in a temp dir and a LocalAuth.
#include "core/http/http_frontend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/auth/local_auth.h"
#include "core/cache/fs_cache.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "tests/core/http/test_client.h"
#include "tests/support/interposed_auth.h"
#include "tests/support/interposed_vault.h"

namespace seams {
namespace {

namespace fs = std::filesystem;
using boost::beast::http::verb;
using http::testing::Reply;
using http::testing::TestClient;

std::string hashPassword(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_MIN,
                        crypto_pwhash_MEMLIMIT_MIN) != 0) {
    std::abort();
  }
  return out;
}

Rule allow(std::string user, const char* prefix, AccessMask access) {
  Rule r;
  r.subject_kind = Rule::Subject::user;
  r.subject = std::move(user);
  r.prefix = *VaultPath::parse(prefix);
  r.access = access;
  return r;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string tokenFrom(const Reply& r) {
  auto pos = r.body.find("\"token\":\"");
  if (pos == std::string::npos) return {};
  pos += 9;
  return r.body.substr(pos, r.body.find('"', pos) - pos);
}

constexpr AccessMask kReadList = mask(Access::read) | mask(Access::list);
constexpr AccessMask kReadWriteList = kReadList | mask(Access::write);

class HttpFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    base_ = fs::temp_directory_path() /
            ("seams-http-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(base_ / "vault");
    // A file beside the vault: no request may read or change it.
    std::ofstream(base_ / "outside") << "secret";

    auto storage = Storage::open((base_ / "vault").string());
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(*storage);
    cache_ = std::make_unique<FsCache>(FsCache::Options{}, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);

    std::vector<UserConfig> users = {
        {"admin", hashPassword("admin-pw"), std::nullopt, {}},
        {"alice", hashPassword("alice-pw"), std::nullopt, {}},
        {"bob", hashPassword("bob-pw"), std::nullopt, {}},
    };
    std::vector<Rule> rules = {allow("admin", "/", kAllAccess), allow("alice", "/", kReadWriteList),
                               allow("bob", "/", kReadList)};
    auto auth = LocalAuth::create(users, rules, AuthConfig{}, clock_);
    ASSERT_TRUE(auth.ok()) << auth.status().toString();
    auth_ = std::move(*auth);

    config_.listen = "127.0.0.1:0";
    config_.threads = 2;
  }

  void TearDown() override {
    frontend_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // `auth`: another Auth to serve with (GatedAuth), else the fixture's LocalAuth.
  void startFrontend(HttpFrontend::Options options = {}, Auth* auth = nullptr) {
    frontend_ = std::make_unique<HttpFrontend>(*vault_, auth != nullptr ? *auth : *auth_, metrics_,
                                               config_, options);
    Status s = frontend_->start();
    ASSERT_TRUE(s.ok()) << s.toString();
    ASSERT_NE(frontend_->port(), 0);
  }

  TestClient client(const std::string& source = "") {
    return TestClient(frontend_->port(), source);
  }

  // The value of one series in /metrics (-1 when absent).
  double metric(const std::string& series) {
    Reply r = client().get("/metrics");
    std::size_t at = r.body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r.body.substr(at + series.size() + 2));
  }

  Reply loginFrom(const std::string& source, const std::string& user, const std::string& password) {
    return client(source).request(verb::post, "/v1/login", "",
                                  R"({"user":")" + user + R"(","password":")" + password + R"("})");
  }

  std::string login(const std::string& user, const std::string& password) {
    TestClient c = client();
    Reply r = c.request(verb::post, "/v1/login", "",
                        R"({"user":")" + user + R"(","password":")" + password + R"("})");
    EXPECT_EQ(r.status, 200u) << r.body;
    return tokenFrom(r);
  }

  Reply put(const std::string& path, const std::string& token, const std::string& body) {
    return client().request(verb::put, "/v1/files" + path, token, body);
  }

  static inline int counter_ = 0;
  fs::path base_;
  SystemClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
  std::unique_ptr<LocalAuth> auth_;
  MetricsRegistry metrics_;
  HttpConfig config_;
  std::unique_ptr<HttpFrontend> frontend_;
};

TEST_F(HttpFrontendTest, LoginPutGetStatListAndDeleteRoundTrip) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_FALSE(token.empty());
  TestClient c = client();

  Reply put = c.request(verb::put, "/v1/files/docs/hello.txt", token, "hello world");
  ASSERT_EQ(put.status, 200u) << put.body;
  std::string version = put.header("x-seams-version");
  ASSERT_FALSE(version.empty());
  EXPECT_EQ(put.header("etag"), "\"" + version + "\"");
  EXPECT_NE(put.body.find("\"version\":" + version), std::string::npos) << put.body;
  EXPECT_EQ(readFile(base_ / "vault/docs/hello.txt"), "hello world");

  Reply get = c.get("/v1/files/docs/hello.txt", token);
  EXPECT_EQ(get.status, 200u);
  EXPECT_EQ(get.body, "hello world");
  EXPECT_EQ(get.header("etag"), "\"" + version + "\"");
  EXPECT_EQ(get.header("x-seams-version"), version);
  EXPECT_EQ(get.header("content-type"), "application/octet-stream");

  Reply stat = c.get("/v1/stat/docs/hello.txt", token);
  EXPECT_EQ(stat.status, 200u);
  EXPECT_NE(stat.body.find("\"size\":11"), std::string::npos) << stat.body;
  EXPECT_NE(stat.body.find("\"type\":\"file\""), std::string::npos) << stat.body;
  EXPECT_NE(stat.body.find("\"version\":" + version), std::string::npos) << stat.body;

  Reply list = c.get("/v1/list/docs", token);
  EXPECT_EQ(list.status, 200u);
  EXPECT_NE(list.body.find("\"name\":\"hello.txt\""), std::string::npos) << list.body;
  Reply root = c.get("/v1/list/", token);
  EXPECT_EQ(root.status, 200u);
  EXPECT_NE(root.body.find("\"name\":\"docs\""), std::string::npos) << root.body;

  Reply del = c.request(verb::delete_, "/v1/files/docs/hello.txt", token);
  EXPECT_EQ(del.status, 204u);
  EXPECT_FALSE(fs::exists(base_ / "vault/docs/hello.txt"));
  Reply gone = c.get("/v1/files/docs/hello.txt", token);
  EXPECT_EQ(gone.status, 404u);
  EXPECT_NE(gone.body.find("\"code\":\"not_found\""), std::string::npos) << gone.body;
}

TEST_F(HttpFrontendTest, PutReplacesTheWholeFileWithANewerVersion) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  Reply first = put("/f", token, "a much longer first content");
  Reply second = put("/f", token, "short");
  ASSERT_EQ(first.status, 200u);
  ASSERT_EQ(second.status, 200u);
  EXPECT_GT(std::stoull(second.header("x-seams-version")),
            std::stoull(first.header("x-seams-version")));
  EXPECT_EQ(client().get("/v1/files/f", token).body, "short");
}

TEST_F(HttpFrontendTest, PutCreatesMissingParentDirectoriesButNotThroughAFile) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/a/b/c/deep.txt", token, "deep").status, 200u);
  EXPECT_EQ(readFile(base_ / "vault/a/b/c/deep.txt"), "deep");
  EXPECT_TRUE(fs::is_directory(base_ / "vault/a/b"));
  ASSERT_EQ(put("/plain", token, "file").status, 200u);
  Reply through = put("/plain/x.txt", token, "x");
  EXPECT_EQ(through.status, 409u) << through.body;
}

TEST_F(HttpFrontendTest, LoginWithBadCredentialsOrBadJsonIsRefused) {
  startFrontend();
  TestClient c = client();
  EXPECT_EQ(c.request(verb::post, "/v1/login", "", R"({"user":"alice","password":"nope"})").status,
            401u);
  EXPECT_EQ(c.request(verb::post, "/v1/login", "", R"({"user":"nobody","password":"x"})").status,
            401u);
  for (const char* body : {"", "{", "[]", "not json", R"({"user":1,"password":"x"})",
                           R"({"user":"alice"})", "\xff\xfe"}) {
    Reply r = c.request(verb::post, "/v1/login", "", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_NE(r.body.find("\"code\":\"invalid_argument\""), std::string::npos) << r.body;
  }
  Reply ok = c.request(verb::post, "/v1/login", "", R"({"user":"alice","password":"alice-pw"})");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_FALSE(tokenFrom(ok).empty());
  EXPECT_NE(ok.body.find("\"expires_at\":"), std::string::npos);
}

TEST_F(HttpFrontendTest, RangeRequestsInEveryFormAnswerPartialContent) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/digits", token, "0123456789").status, 200u);
  TestClient c = client();
  struct Case {
    const char* range;
    const char* body;
    const char* content_range;
  };
  for (const Case& k :
       {Case{"bytes=2-5", "2345", "bytes 2-5/10"}, Case{"bytes=7-", "789", "bytes 7-9/10"},
        Case{"bytes=-3", "789", "bytes 7-9/10"}, Case{"bytes=8-100", "89", "bytes 8-9/10"},
        Case{"bytes=-100", "0123456789", "bytes 0-9/10"}, Case{"bytes=0-0", "0", "bytes 0-0/10"},
        Case{"bytes=9-9", "9", "bytes 9-9/10"}}) {
    Reply r = c.get("/v1/files/digits", token, {{"Range", k.range}});
    EXPECT_EQ(r.status, 206u) << k.range;
    EXPECT_EQ(r.body, k.body) << k.range;
    EXPECT_EQ(r.header("content-range"), k.content_range) << k.range;
    EXPECT_FALSE(r.header("etag").empty()) << k.range;
  }
  // Several ranges, or another unit: the Range header is ignored and the whole file served.
  for (const char* range : {"bytes=0-1,4-5", "items=0-1"}) {
    Reply r = c.get("/v1/files/digits", token, {{"Range", range}});
    EXPECT_EQ(r.status, 200u) << range;
    EXPECT_EQ(r.body, "0123456789") << range;
  }
}

TEST_F(HttpFrontendTest, UnsatisfiableOrMalformedRangesAnswer416) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/digits", token, "0123456789").status, 200u);
  ASSERT_EQ(put("/empty", token, "").status, 200u);
  TestClient c = client();
  for (const char* range :
       {"bytes=10-", "bytes=10-20", "bytes=20-30", "bytes=-0", "bytes=5-2", "bytes=abc",
        "bytes=1-x", "bytes=-", "bytes", "bytes=--1", "bytes=99999999999999999999999-"}) {
    Reply r = c.get("/v1/files/digits", token, {{"Range", range}});
    EXPECT_EQ(r.status, 416u) << range;
    EXPECT_EQ(r.header("content-range"), "bytes */10") << range;
    EXPECT_NE(r.body.find("range_not_satisfiable"), std::string::npos) << range;
  }
  for (const char* range : {"bytes=0-", "bytes=-1", "bytes=0-0"}) {
    Reply r = c.get("/v1/files/empty", token, {{"Range", range}});
    EXPECT_EQ(r.status, 416u) << range;
    EXPECT_EQ(r.header("content-range"), "bytes */0") << range;
  }
  // The connection still serves.
  EXPECT_EQ(c.get("/v1/files/digits", token).body, "0123456789");
}

TEST_F(HttpFrontendTest, HeadAnswersGetsHeadersWithoutTheBody) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  Reply p = put("/h.bin", token, std::string(1000, 'x'));
  TestClient c = client();
  Reply head = c.request(verb::head, "/v1/files/h.bin", token);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), "1000");
  EXPECT_EQ(head.header("etag"), p.header("etag"));
  EXPECT_EQ(head.header("x-seams-version"), p.header("x-seams-version"));
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(c.request(verb::head, "/v1/files/missing", token).status, 404u);
  // The connection is still in step: the next response is the GET's.
  EXPECT_EQ(c.get("/v1/files/h.bin", token).body.size(), 1000u);
}

TEST_F(HttpFrontendTest, LargeFilesTravelWholeBothWays) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  std::string big(6 * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_EQ(put("/big.bin", token, big).status, 200u);
  TestClient c = client();
  Reply whole = c.get("/v1/files/big.bin", token);  // larger than a socket buffer
  EXPECT_EQ(whole.status, 200u);
  EXPECT_TRUE(whole.body == big);
  Reply tail = c.get("/v1/files/big.bin", token, {{"Range", "bytes=-1000000"}});
  EXPECT_EQ(tail.status, 206u);
  EXPECT_TRUE(tail.body == big.substr(big.size() - 1000000));
}

TEST_F(HttpFrontendTest, IfNoneMatchWithTheCurrentEtagAnswersNotModified) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  std::string etag = put("/e", token, "v1").header("etag");
  TestClient c = client();
  Reply same = c.get("/v1/files/e", token, {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304u);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(same.header("etag"), etag);
  ASSERT_EQ(put("/e", token, "v2").status, 200u);
  Reply changed = c.get("/v1/files/e", token, {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200u);
  EXPECT_EQ(changed.body, "v2");
}

TEST_F(HttpFrontendTest, RequestsWithoutOrWithABadTokenAre401) {
  startFrontend();
  TestClient c = client();
  for (const char* target : {"/v1/files/x", "/v1/stat/x", "/v1/list/"}) {
    Reply none = c.get(target);
    EXPECT_EQ(none.status, 401u) << target;
    EXPECT_EQ(none.header("www-authenticate"), "Bearer") << target;
    EXPECT_NE(none.body.find("\"code\":\"unauthenticated\""), std::string::npos) << none.body;
    EXPECT_EQ(c.get(target, "not-a-token").status, 401u) << target;
    EXPECT_EQ(c.get(target, "", {{"Authorization", "Basic YWxpY2U6YWxpY2UtcHc="}}).status, 401u);
  }
  EXPECT_EQ(c.request(verb::put, "/v1/files/x", "bogus", "data").status, 401u);
  EXPECT_FALSE(fs::exists(base_ / "vault/x"));
  EXPECT_EQ(c.request(verb::post, "/v1/logout", "bogus").status, 401u);
}

TEST_F(HttpFrontendTest, ReadOnlyUserMayReadButNotWrite) {
  startFrontend();
  std::string alice = login("alice", "alice-pw");
  std::string bob = login("bob", "bob-pw");
  ASSERT_EQ(put("/shared", alice, "from alice").status, 200u);
  TestClient c = client();
  EXPECT_EQ(c.get("/v1/files/shared", bob).body, "from alice");
  Reply denied = c.request(verb::put, "/v1/files/shared", bob, "from bob");
  EXPECT_EQ(denied.status, 403u);
  EXPECT_NE(denied.body.find("\"code\":\"permission_denied\""), std::string::npos);
  EXPECT_EQ(c.request(verb::delete_, "/v1/files/shared", bob).status, 403u);
  EXPECT_EQ(readFile(base_ / "vault/shared"), "from alice");
}

TEST_F(HttpFrontendTest, LoggedOutTokenIsRefused) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  EXPECT_EQ(c.get("/v1/list/", token).status, 200u);
  EXPECT_EQ(c.request(verb::post, "/v1/logout", token).status, 204u);
  EXPECT_EQ(c.get("/v1/list/", token).status, 401u);
  EXPECT_EQ(c.request(verb::post, "/v1/logout", token).status, 401u);
}

TEST_F(HttpFrontendTest, RevokedRuleDeniesRightAfterTheRevoke) {
  startFrontend();
  std::string admin = login("admin", "admin-pw");
  std::string bob = login("bob", "bob-pw");
  ASSERT_TRUE(vault_->mkdir(*VaultPath::parse("/bob"), 0755).ok());
  const std::string rule =
      R"({"subject":"user:bob","prefix":"/bob","access":["write"],"effect":"allow"})";
  TestClient c = client();
  EXPECT_EQ(c.request(verb::put, "/v1/files/bob/a", bob, "1").status, 403u);
  Reply granted = c.request(verb::post, "/v1/admin/grant", admin, rule);
  EXPECT_EQ(granted.status, 200u) << granted.body;
  EXPECT_EQ(c.request(verb::put, "/v1/files/bob/a", bob, "2").status, 200u);
  Reply revoked = c.request(verb::post, "/v1/admin/revoke", admin, rule);
  EXPECT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(c.request(verb::put, "/v1/files/bob/a", bob, "3").status, 403u);
  EXPECT_EQ(readFile(base_ / "vault/bob/a"), "2");
  // Revoking it again: there is no such rule.
  EXPECT_EQ(c.request(verb::post, "/v1/admin/revoke", admin, rule).status, 404u);
}

TEST_F(HttpFrontendTest, AdminCallsNeedAdminAccessAndAWellFormedRule) {
  startFrontend();
  std::string admin = login("admin", "admin-pw");
  std::string alice = login("alice", "alice-pw");
  TestClient c = client();
  const std::string rule = R"({"subject":"user:alice","prefix":"/","access":["admin"]})";
  EXPECT_EQ(c.request(verb::post, "/v1/admin/grant", alice, rule).status, 403u);
  EXPECT_EQ(c.request(verb::post, "/v1/admin/grant", "", rule).status, 401u);
  for (const char* bad :
       {"", "{", "[]", R"({"subject":"alice","prefix":"/","access":["read"]})",
        R"({"subject":"user:alice","prefix":"/../x","access":["read"]})",
        R"({"subject":"user:alice","prefix":"/","access":["fly"]})",
        R"({"subject":"user:alice","prefix":"/","access":[]})",
        R"({"subject":"user:alice","prefix":"/","access":["read"],"effect":"maybe"})",
        R"({"subject":"group:","prefix":"/","access":["read"]})"}) {
    Reply r = c.request(verb::post, "/v1/admin/grant", admin, bad);
    EXPECT_EQ(r.status, 400u) << bad << " -> " << r.body;
  }
}

TEST_F(HttpFrontendTest, TraversalVectorsNeverLeaveTheVault) {
  startFrontend();
  std::string token = login("admin", "admin-pw");
  ASSERT_EQ(put("/inside", token, "in").status, 200u);
  TestClient c = client();
  struct Case {
    std::string target;
    unsigned status;
  };
  const std::vector<Case> cases = {
      {"/v1/files/../outside", 400},
      {"/v1/files/a/../../outside", 400},
      {"/v1/files/%2e%2e/outside", 400},
      {"/v1/files/%2E%2E/outside", 400},
      {"/v1/files/..%2foutside", 400},
      {"/v1/files/a%2f..%2f..%2foutside", 400},
      {"/v1/files/%252e%252e/outside", 404},  // decoded once: the literal name "%2e%2e"
      {"/v1/files//etc/passwd", 404},         // absolute-looking: still inside the vault
      {"/v1/files/%2fetc%2fpasswd", 404},
      {"/v1/files/inside%00.txt", 400},
      {"/v1/files/%00", 400},
      {"/v1/files/%zz", 400},
      {"/v1/files/%2", 400},
      {"/v1/files/abc%", 400},
      {"/v1/files/.seams/versions", 400},
      {"/v1/stat/..", 400},
      {"/v1/list/%2e%2e", 400},
  };
  for (const Case& k : cases) {
    Reply get = c.get(k.target, token);
    EXPECT_EQ(get.status, k.status) << "GET " << k.target << " -> " << get.body;
    EXPECT_EQ(get.body.find("secret"), std::string::npos) << k.target;
    if (k.target.starts_with("/v1/files/")) {
      Reply put = c.request(verb::put, k.target, token, "pwned");
      EXPECT_TRUE(put.status == 400 || put.status == 409 || put.status == 404 ||
                  (put.status == 200 && k.status == 404))
          << "PUT " << k.target << " -> " << put.status << " " << put.body;
      // DELETE removes only what that PUT created inside the vault (a literal name).
      Reply del = c.request(verb::delete_, k.target, token);
      EXPECT_TRUE(del.status != 204u || put.status == 200u) << "DELETE " << k.target;
    }
  }
  EXPECT_EQ(readFile(base_ / "outside"), "secret");
  EXPECT_FALSE(fs::exists(base_.parent_path() / "outside"));
  EXPECT_FALSE(fs::exists("/etc/passwd.seams-test"));
  // What a literal-name PUT created lives inside the vault.
  for (const auto& entry : fs::recursive_directory_iterator(base_)) {
    if (entry.is_regular_file() && readFile(entry.path()) == "pwned") {
      EXPECT_TRUE(entry.path().string().starts_with((base_ / "vault").string())) << entry.path();
    }
  }
  EXPECT_EQ(c.get("/v1/files/inside", token).body, "in");
}

TEST_F(HttpFrontendTest, NamesThatAreNotUtf8AreRefusedAndNeverStored) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  Reply r = c.request(verb::put, "/v1/files/bad%ff%fe.txt", token, "data");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.body.find("not valid UTF-8"), std::string::npos) << r.body;
  EXPECT_EQ(c.get("/v1/files/bad%ff%fe.txt", token).status, 400u);
  EXPECT_EQ(c.get("/v1/stat/dir%c0%af", token).status, 400u);
  EXPECT_EQ(c.request(verb::delete_, "/v1/files/x%ed%a0%80", token).status, 400u);
  for (const auto& entry : fs::directory_iterator(base_ / "vault")) {
    EXPECT_EQ(entry.path().filename().string().find('\xff'), std::string::npos);
  }
  // A UTF-8 name travels both ways, and a name made behind the vault's back that no entry point
  // could use is not listed.
  EXPECT_EQ(c.request(verb::put, "/v1/files/caf%C3%A9.txt", token, "ok").status, 200u);
  std::ofstream(base_ / "vault" / "behind\xff") << "x";
  Reply list = c.get("/v1/list/", token);
  EXPECT_EQ(list.status, 200u);
  EXPECT_NE(list.body.find("caf\xc3\xa9.txt"), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find("behind"), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find("\xef\xbf\xbd"), std::string::npos) << list.body;  // U+FFFD
}

TEST_F(HttpFrontendTest, MalformedRequestIs400AndTheServerKeepsServing) {
  startFrontend();
  for (const char* raw : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                          "GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n",
                          "POST /v1/login HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                          "POST /v1/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    TestClient c = client();
    c.sendRaw(raw);
    Reply r = c.read();
    EXPECT_EQ(r.status, 400u) << raw;
    EXPECT_EQ(r.header("connection"), "close") << raw;
    EXPECT_TRUE(c.closedByServer()) << raw;
  }
  EXPECT_EQ(client().get("/healthz").status, 200u);
}

// RFC 9112 §6.1/§6.3: a body whose length cannot be known is refused before it is read, the
// connection closes (so nothing after it is taken as a request), and the file is untouched.
TEST_F(HttpFrontendTest, AmbiguousTransferEncodingIsRefusedClosedAndWritesNothing) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/victim", token, "precious").status, 200u);
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  struct Case {
    std::string fields;  // between the Authorization line and the blank line
    unsigned status;
  };
  const Case cases[] = {
      {"Transfer-Encoding: gzip\r\n", 400},
      {"Transfer-Encoding: identity\r\n", 400},
      {"Transfer-Encoding: foo\r\n", 400},
      {"Transfer-Encoding: chunked, gzip\r\n", 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", 400},
      {"Transfer-Encoding: chunked, chunked\r\n", 400},
      {"Transfer-Encoding: ,\r\n", 400},
      {"Content-Length: 5\r\nTransfer-Encoding: identity\r\n", 400},
      {"Transfer-Encoding: identity\r\nContent-Length: 5\r\n", 400},
      {"Content-Length: 17\r\nTransfer-Encoding: chunked\r\n", 400},
      {"Transfer-Encoding: chunked\r\nContent-Length: 17\r\n", 400},
      {"Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", 400},
      {"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", 400},
      {"Transfer-Encoding: gzip, chunked\r\n", 501},
  };
  for (const Case& c : cases) {
    TestClient client = this->client();
    client.sendRaw("PUT /v1/files/victim HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                   "\r\n" + c.fields + "\r\n" + body + smuggled);
    Reply r = client.read();
    EXPECT_EQ(r.status, c.status) << c.fields;
    EXPECT_EQ(r.header("connection"), "close") << c.fields;
    EXPECT_EQ(client.read().status, 0u) << "a request after the body was answered: " << c.fields;
    EXPECT_EQ(readFile(base_ / "vault/victim"), "precious") << c.fields;
  }
  {
    // HTTP/1.0 has no chunked coding: its framing is faulty.
    TestClient client = this->client();
    client.sendRaw("PUT /v1/files/victim HTTP/1.0\r\nAuthorization: Bearer " + token +
                   "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    EXPECT_EQ(client.read().status, 400u);
    EXPECT_TRUE(client.closedByServer());
  }
  EXPECT_EQ(readFile(base_ / "vault/victim"), "precious");
  EXPECT_FALSE(fs::exists(base_ / "vault/healthz"));
}

TEST_F(HttpFrontendTest, ChunkedAloneInAnyCaseIsAcceptedAndKeepsTheConnection) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  c.sendRaw("PUT /v1/files/chunked HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
            "\r\nTransfer-Encoding:  Chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(c.read().status, 200u);
  EXPECT_EQ(readFile(base_ / "vault/chunked"), "hello");
  EXPECT_EQ(c.get("/healthz").status, 200u);  // the same connection serves the next request
}

TEST_F(HttpFrontendTest, OversizedHeaderIs431) {
  config_.max_header_bytes = 1024;
  startFrontend();
  TestClient c = client();
  c.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  Reply r = c.read();
  EXPECT_EQ(r.status, 431u);
  EXPECT_TRUE(c.closedByServer());
  EXPECT_EQ(client().get("/healthz").status, 200u);
}

TEST_F(HttpFrontendTest, OversizedBodyIs413AndNothingIsWritten) {
  config_.max_body_bytes = 1000;
  startFrontend();
  std::string token = login("alice", "alice-pw");
  {
    // Declared too large: refused before the body is read.
    TestClient c = client();
    Reply r = c.request(verb::put, "/v1/files/big", token, std::string(5000, 'b'));
    EXPECT_EQ(r.status, 413u);
    EXPECT_NE(r.body.find("\"code\":\"too_large\""), std::string::npos);
  }
  {
    // Chunked, growing past the limit.
    TestClient c = client();
    std::string chunk(800, 'c');
    c.sendRaw("PUT /v1/files/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
              "\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk + "\r\n320\r\n" + chunk +
              "\r\n0\r\n\r\n");
    EXPECT_EQ(c.read().status, 413u);
  }
  EXPECT_FALSE(fs::exists(base_ / "vault/big"));
  EXPECT_EQ(put("/small", token, std::string(1000, 's')).status, 200u);
}

TEST_F(HttpFrontendTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  c.sendRaw("PUT /v1/files/cont HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
            "\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  Reply interim = c.read();
  EXPECT_EQ(interim.status, 100u);
  c.sendRaw("abcde");
  EXPECT_EQ(c.read().status, 200u);
  EXPECT_EQ(readFile(base_ / "vault/cont"), "abcde");
}

TEST_F(HttpFrontendTest, SlowClientIsCutOffAndOthersAreServed) {
  config_.read_timeout_ms = 200;
  config_.header_timeout_ms = 200;
  startFrontend();
  TestClient slow = client();
  slow.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");  // and never finishes
  EXPECT_EQ(client().get("/healthz").status, 200u);
  EXPECT_TRUE(slow.closedByServer());
  // A connection that never sends anything is cut off too.
  TestClient silent = client();
  EXPECT_TRUE(silent.closedByServer());
  EXPECT_EQ(client().get("/healthz").status, 200u);
}

TEST_F(HttpFrontendTest, IdleKeepAliveConnectionIsClosed) {
  config_.idle_timeout_ms = 200;
  startFrontend();
  TestClient c = client();
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(HttpFrontendTest, OneConnectionServesManyRequests) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/k", token, "keep").status, 200u);
  TestClient c = client();
  for (int i = 0; i < 300; ++i) {
    Reply r = c.get("/v1/files/k", token);
    ASSERT_EQ(r.status, 200u) << "request " << i;
    ASSERT_EQ(r.body, "keep");
  }
  // Pipelined: two requests in one write, two answers in order.
  c.sendRaw("GET /v1/files/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
            "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read().body, "keep");
  EXPECT_EQ(c.read().status, 200u);
  // Connection: close is honoured.
  Reply last = c.get("/healthz", "", {{"Connection", "close"}});
  EXPECT_EQ(last.status, 200u);
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(HttpFrontendTest, WrongMethodIs405WithAllowAndUnknownPathIs404) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  Reply r = c.request(verb::post, "/v1/files/x", token, "data");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(c.get("/v1/login").status, 405u);
  EXPECT_EQ(c.get("/v1/login").header("allow"), "POST");
  EXPECT_EQ(c.request(verb::delete_, "/v1/stat/x", token).header("allow"), "GET");
  EXPECT_EQ(c.get("/v1/nothing").status, 404u);
  EXPECT_EQ(c.get("/v1/filesx/a", token).status, 404u);
}

TEST_F(HttpFrontendTest, DirectoryAndConflictErrorsMapToTheirStatuses) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_TRUE(vault_->mkdir(*VaultPath::parse("/dir"), 0755).ok());
  TestClient c = client();
  EXPECT_EQ(c.get("/v1/files/dir", token).status, 409u);
  EXPECT_EQ(c.request(verb::head, "/v1/files/dir", token).status, 409u);
  EXPECT_EQ(c.get("/v1/list/missing", token).status, 404u);
  EXPECT_EQ(c.get("/v1/stat/missing", token).status, 404u);
  Reply stat = c.get("/v1/stat/dir", token);
  EXPECT_NE(stat.body.find("\"type\":\"directory\""), std::string::npos);
}

TEST_F(HttpFrontendTest, HealthReadinessAndMetrics) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/m", token, "metrics").status, 200u);
  TestClient c = client();
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_EQ(c.get("/readyz").status, 200u);
  for (int i = 0; i < 5; ++i) c.get("/v1/files/m", token);
  c.get("/v1/files/missing", token);
  Reply m = c.get("/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(m.body.find("seams_http_request_seconds"), std::string::npos);
  EXPECT_NE(m.body.find(R"(route="/v1/files")"), std::string::npos);
  EXPECT_NE(m.body.find(R"(seams_http_request_seconds_count{method="GET",route="/v1/files"} 6)"),
            std::string::npos)
      << m.body;
  EXPECT_NE(
      m.body.find(R"(seams_http_responses_total{code="200",method="GET",route="/v1/files"} 5)"),
      std::string::npos)
      << m.body;
  EXPECT_NE(
      m.body.find(R"(seams_http_responses_total{code="404",method="GET",route="/v1/files"} 1)"),
      std::string::npos);
}

TEST_F(HttpFrontendTest, StopThenStartServesAgainOnTheSamePort) {
  startFrontend();
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/s", token, "survives").status, 200u);
  std::uint16_t port = frontend_->port();
  TestClient open = client();  // a connection open across the stop
  EXPECT_EQ(open.get("/healthz").status, 200u);
  frontend_->stop();
  EXPECT_FALSE(frontend_->running());
  EXPECT_EQ(frontend_->port(), 0);
  EXPECT_TRUE(open.closedByServer());
  frontend_->stop();  // twice is fine

  config_.listen = "127.0.0.1:" + std::to_string(port);
  frontend_ = std::make_unique<HttpFrontend>(*vault_, *auth_, metrics_, config_);
  ASSERT_TRUE(frontend_->start().ok());
  EXPECT_EQ(frontend_->port(), port);
  EXPECT_EQ(frontend_->start().code(), Errc::conflict);
  frontend_->stop();
  ASSERT_TRUE(frontend_->start().ok());  // the same object restarts too
  EXPECT_EQ(client().get("/v1/files/s", token).body, "survives");
}

TEST_F(HttpFrontendTest, ABoundPortOrABadAddressFailsToStart) {
  startFrontend();
  HttpConfig taken = config_;
  taken.listen = "127.0.0.1:" + std::to_string(frontend_->port());
  HttpFrontend second(*vault_, *auth_, metrics_, taken);
  EXPECT_EQ(second.start().code(), Errc::unavailable);
  EXPECT_FALSE(second.running());
  for (const char* bad : {"nonsense", "127.0.0.1:99999", "example.invalid:80", "1.2.3.4.5:1"}) {
    HttpConfig c = config_;
    c.listen = bad;
    HttpFrontend f(*vault_, *auth_, metrics_, c);
    EXPECT_EQ(f.start().code(), Errc::invalid_argument) << bad;
  }
}

TEST_F(HttpFrontendTest, SharedLoopThreadModelServesTheSameApi) {
  startFrontend({.thread_model = HttpFrontend::ThreadModel::shared_loop});
  std::string token = login("alice", "alice-pw");
  ASSERT_EQ(put("/t", token, "shared").status, 200u);
  TestClient c = client();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(c.get("/v1/files/t", token).body, "shared");
}

TEST_F(HttpFrontendTest, HeartbeatAdvancesWhileTheLoopsRun) {
  startFrontend({.heartbeat_interval = std::chrono::milliseconds(10)});
  auto first = frontend_->lastHeartbeat();
  // Real threads: poll with a generous bound.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (frontend_->lastHeartbeat() == first && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(frontend_->lastHeartbeat(), first);
}

// The test's vault as if its backing service were down: every call is unavailable and the real
// vault is never reached.
class DownVault : public testing::InterposedVault {
 public:
  using InterposedVault::InterposedVault;
  static Status down() { return Status(Errc::unavailable, "storage service is down"); }
  std::unique_ptr<Subscription> subscribe(ChangeListener) override { return nullptr; }

 protected:
  Status before(std::string_view, const VaultPath*) override { return down(); }
};

TEST_F(HttpFrontendTest, AVaultThatIsDownAnswers503AndNotReady) {
  DownVault down(*vault_);
  HttpFrontend frontend(down, *auth_, metrics_, config_);
  ASSERT_TRUE(frontend.start().ok());
  TestClient c(frontend.port());
  std::string token = tokenFrom(
      c.request(verb::post, "/v1/login", "", R"({"user":"alice","password":"alice-pw"})"));
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_EQ(c.get("/readyz").status, 503u);
  Reply r = c.get("/v1/files/x", token);
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("\"code\":\"unavailable\""), std::string::npos) << r.body;
  EXPECT_EQ(c.request(verb::put, "/v1/files/x", token, "d").status, 503u);
}

// A vault whose reads block until released: a hung handler.
class HangingVault final : public DownVault {
 public:
  using DownVault::DownVault;
  Result<FileAttr> stat(const VaultPath&) override { return FileAttr{}; }
  Result<ReadResult> read(const VaultPath&, std::uint64_t, std::uint64_t) override {
    std::unique_lock lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return ReadResult{"late", 1, 4};
  }

  void waitEntered() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

TEST_F(HttpFrontendTest, StopAbandonsAHungWorkerAndStartServesAgain) {
  // What an abandoned thread may still touch must live until the process exits (in seamd: Deps);
  // here, objects that stay reachable from statics.
  // The real vault behind the hanging one is never called, but it stays alive with it.
  [[maybe_unused]] static Storage* storage = storage_.release();
  [[maybe_unused]] static FsCache* cache = cache_.release();
  static HangingVault* hanging = new HangingVault(*vault_.release());
  static MetricsRegistry* metrics = new MetricsRegistry();
  static LocalAuth* auth = auth_.release();
  config_.threads = 1;
  HttpFrontend::Options options;
  options.stop_timeout = std::chrono::milliseconds(200);
  auto frontend = std::make_unique<HttpFrontend>(*hanging, *auth, *metrics, config_, options);
  ASSERT_TRUE(frontend->start().ok());
  std::string token = tokenFrom(
      TestClient(frontend->port())
          .request(verb::post, "/v1/login", "", R"({"user":"alice","password":"alice-pw"})"));
  ASSERT_FALSE(token.empty());

  TestClient stuck(frontend->port());
  stuck.sendRaw("GET /v1/files/hang HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                "\r\n\r\n");
  hanging->waitEntered();
  auto frozen = frontend->lastHeartbeat();
  EXPECT_EQ(frontend->lastHeartbeat(), frozen);  // the only loop is inside the handler

  frontend->stop();
  EXPECT_EQ(frontend->abandonedThreads(), 1u);
  ASSERT_TRUE(frontend->start().ok());  // the port is free again: the acceptor never hangs
  EXPECT_EQ(TestClient(frontend->port()).get("/healthz").status, 200u);
  frontend->stop();
  hanging->release();  // the abandoned thread finishes on its own
}

}  // namespace
}  // namespace seams

namespace seams {
namespace {

// An Auth whose login() waits until the test opens the gate: a password check that takes as
// long as the test needs, so "nothing else waits for it" is shown without measuring time.
class GatedAuth final : public testing::InterposedAuth {
 public:
  using InterposedAuth::InterposedAuth;
  // True once `n` logins have entered (bounded wait).
  bool waitEntered(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(15), [&] { return entered_ >= n; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 protected:
  Status before(std::string_view call, const VaultPath*) override {
    if (call != "login") return okStatus();
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return okStatus();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;    // GUARDED_BY(mu_)
  bool open_ = false;  // GUARDED_BY(mu_)
};

std::string loginBody(const std::string& user, const std::string& password) {
  return R"({"user":")" + user + R"(","password":")" + password + R"("})";
}

std::string loginRequest(const std::string& user, const std::string& password) {
  std::string body = loginBody(user, password);
  return "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Waits (bounded) until `pred` holds; for conditions another thread brings about.
template <typename Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_F(HttpFrontendTest, PasswordChecksRunApartAndAFullQueueIs503WhileOtherRoutesAnswer) {
  config_.threads = 1;  // one request thread: were a login to hold it, nothing else would answer
  config_.login_threads = 1;
  config_.login_queue = 1;
  GatedAuth gated(*auth_);
  std::string token = auth_->login("alice", "alice-pw")->token;
  ASSERT_TRUE(vault_->put(*VaultPath::parse("/f"), "content").ok());
  startFrontend({}, &gated);

  TestClient running = client();
  running.sendRaw(loginRequest("alice", "alice-pw"));
  ASSERT_TRUE(gated.waitEntered(1));  // on the pool's one thread, held there
  TestClient queued = client();
  queued.sendRaw(loginRequest("alice", "wrong"));
  ASSERT_TRUE(eventually([&] { return metric("seams_http_login_queue_depth") == 1; }));

  Reply full = client().request(verb::post, "/v1/login", "", loginBody("bob", "bob-pw"));
  EXPECT_EQ(full.status, 503u) << full.body;
  EXPECT_EQ(full.header("retry-after"), "1");
  // Every other route answers meanwhile, on the one request thread.
  EXPECT_EQ(client().get("/healthz").status, 200u);
  EXPECT_EQ(client().get("/v1/files/f", token).body, "content");
  EXPECT_GE(metric("seams_http_login_queue_full_total"), 1);

  gated.open();
  Reply ok = running.read();
  EXPECT_EQ(ok.status, 200u) << ok.body;
  EXPECT_FALSE(tokenFrom(ok).empty());
  EXPECT_EQ(queued.read().status, 401u);
}

TEST_F(HttpFrontendTest, FailedLoginsAreThrottledPerUserAndPerAddressAndCounted) {
  config_.login_free_failures_per_user = 2;
  config_.login_free_failures_per_address = 4;
  config_.login_delay_base_ms = 60'000;  // nothing expires while the test runs
  config_.login_hold_ms = 0;             // 429s at once (the flood test holds them)
  startFrontend();
  // Per user: two free failures against alice from .1, the third starts the wait, even with the
  // right password (the answer must not depend on it).
  EXPECT_EQ(loginFrom("127.0.0.1", "alice", "x").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.1", "alice", "y").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.1", "alice", "w").status, 401u);
  Reply wait = loginFrom("127.0.0.1", "alice", "alice-pw");
  EXPECT_EQ(wait.status, 429u) << wait.body;
  EXPECT_EQ(wait.header("retry-after"), "60");
  // Another address logs in as alice all the same.
  Reply other = loginFrom("127.0.0.2", "alice", "alice-pw");
  EXPECT_EQ(other.status, 200u) << other.body;
  // An unknown user is throttled exactly alike: nothing tells the two apart.
  EXPECT_EQ(loginFrom("127.0.0.3", "nobody", "x").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.3", "nobody", "y").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.3", "nobody", "w").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.3", "nobody", "z").status, 429u);
  EXPECT_EQ(loginFrom("127.0.0.3", "nobody", "z").header("retry-after"), "60");
  // Per address: .1 has three failures; one more is free, the next starts the wait for any name.
  EXPECT_EQ(loginFrom("127.0.0.1", "bob", "x").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.1", "carol", "x").status, 401u);
  EXPECT_EQ(loginFrom("127.0.0.1", "bob", "bob-pw").status, 429u);
  EXPECT_EQ(loginFrom("127.0.0.2", "bob", "bob-pw").status, 200u);

  EXPECT_EQ(metric("seams_http_login_throttled_total{scope=\"user\"}"), 3);
  EXPECT_EQ(metric("seams_http_login_throttled_total{scope=\"address\"}"), 1);
  EXPECT_EQ(metric("seams_http_login_failures_total"), 8);
  EXPECT_EQ(metric("seams_http_responses_total{code=\"429\",method=\"POST\",route=\"/v1/login\"}"),
            4);
}

TEST_F(HttpFrontendTest, ALoginFloodLeavesOtherRoutesAndOtherAddressesServed) {
  config_.login_threads = 2;
  config_.login_queue = 4;
  config_.login_delay_base_ms = 60'000;
  std::string token = auth_->login("alice", "alice-pw")->token;
  ASSERT_TRUE(vault_->put(*VaultPath::parse("/f"), "content").ok());
  startFrontend();

  constexpr int kFlooders = 8;
  constexpr int kAttempts = 6;  // bounded: 48 wrong passwords; each 429 is held 1 s
  std::mutex mu;
  std::map<unsigned, int> statuses;
  std::vector<std::thread> flood;
  for (int i = 0; i < kFlooders; ++i) {
    flood.emplace_back([&, i] {
      TestClient c = client("127.0.0.1");
      for (int k = 0; k < kAttempts; ++k) {
        Reply r = c.request(verb::post, "/v1/login", "",
                            loginBody("alice", "guess-" + std::to_string(i * kAttempts + k)));
        std::lock_guard lock(mu);
        ++statuses[r.status];
      }
    });
  }
  int gets_ok = 0;
  for (int k = 0; k < 50; ++k) gets_ok += client().get("/v1/files/f", token).status == 200 ? 1 : 0;
  Reply legit = loginFrom("127.0.0.2", "alice", "alice-pw");
  for (auto& t : flood) t.join();

  EXPECT_EQ(gets_ok, 50);
  EXPECT_EQ(legit.status, 200u) << legit.body;
  int total = 0;
  for (auto [status, n] : statuses) {
    EXPECT_TRUE(status == 401 || status == 429 || status == 503) << status;
    total += n;
  }
  EXPECT_EQ(total, kFlooders * kAttempts);
  EXPECT_GT(statuses[429], 0);
  // Checks run only while alice's name had free failures left (5) or were already admitted
  // (2 running + 4 queued): the rest cost no hash.
  EXPECT_LE(statuses[401], 5 + 6);
}

TEST_F(HttpFrontendTest, OverTheConnectionCapTheConnectionWaitingLongestForAHeadMakesRoom) {
  config_.max_connections = 8;
  config_.header_timeout_ms = 60'000;
  startFrontend();
  EXPECT_EQ(frontend_->maxConnections(), 8);
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(frontend_->port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    idle.push_back(fd);
  }
  auto closed = [&] {
    int n = 0;
    for (int fd : idle) {
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP))) ++n;
    }
    return n;
  };
  // A client with a request is served: it takes the place of an idle one.
  TestClient c = client();
  EXPECT_EQ(c.get("/healthz").status, 200u);
  ASSERT_TRUE(eventually([&] { return closed() >= 13; })) << closed();
  EXPECT_EQ(closed(), 13);  // 21 connections, 8 kept
  // The oldest went first (one per worker loop: connections are dealt round-robin).
  for (int i = 0; i < 2; ++i) {
    pollfd p{idle[i], POLLIN | POLLRDHUP, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 1) << i;
  }
  Reply m = client().get("/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_NE(m.body.find("\nseams_http_connections_shed_total 14\n"),
            std::string::npos)  // + this one
      << m.body.substr(0, 3000);
  EXPECT_EQ(c.get("/healthz").status, 200u);  // the served client keeps its connection
  for (int fd : idle) ::close(fd);
}

TEST_F(HttpFrontendTest, AClientThatSentRequestsKeepsItsConnectionWhileSilentOnesChurn) {
  config_.max_connections = 4;
  config_.threads = 1;
  config_.header_timeout_ms = 60'000;
  startFrontend();
  TestClient kept = client();
  ASSERT_EQ(kept.get("/healthz").status, 200u);  // now waiting for its next request
  std::vector<std::unique_ptr<TestClient>> silent;
  for (int i = 0; i < 12; ++i) silent.push_back(std::make_unique<TestClient>(frontend_->port()));
  // Twelve silent connections over a cap of four: they make room among themselves; the one
  // that has sent requests (older than all of them) is never the one closed.
  TestClient probe = client();
  EXPECT_EQ(probe.get("/healthz").status, 200u);
  EXPECT_EQ(kept.get("/healthz").status, 200u);  // the same connection: TestClient never redials
}

TEST_F(HttpFrontendTest, WhenNoConnectionCanMakeRoomANewOneIsAnswered503) {
  config_.max_connections = 2;
  config_.threads = 1;
  config_.login_threads = 2;
  GatedAuth gated(*auth_);
  startFrontend({}, &gated);
  // Two connections busy with a request each (logins held at the gate): neither may be closed.
  TestClient a = client();
  TestClient b = client();
  a.sendRaw(loginRequest("alice", "alice-pw"));
  b.sendRaw(loginRequest("bob", "bob-pw"));
  ASSERT_TRUE(gated.waitEntered(2));
  TestClient c = client();
  c.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  Reply r = c.read();
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closedByServer());
  gated.open();
  EXPECT_EQ(a.read().status, 200u);
  EXPECT_EQ(b.read().status, 200u);
  // Both now wait for their next request: a new client makes room again.
  EXPECT_EQ(client().get("/healthz").status, 200u);
}

TEST_F(HttpFrontendTest, AHeadMustBeCompleteWithinTheHeaderTimeoutButIdleKeepAliveIsNotCut) {
  config_.header_timeout_ms = 200;
  config_.read_timeout_ms = 60'000;
  config_.idle_timeout_ms = 60'000;
  startFrontend();
  TestClient silent = client();
  TestClient partial = client();
  partial.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // never ends the head
  EXPECT_TRUE(silent.closedByServer());
  EXPECT_TRUE(partial.closedByServer());
  TestClient kept = client();
  EXPECT_EQ(kept.get("/healthz").status, 200u);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // > header, < idle timeout
  EXPECT_EQ(kept.get("/healthz").status, 200u);
}

// Restores the soft RLIMIT_NOFILE when a test lowered it.
struct FdLimitGuard {
  rlimit saved{};
  FdLimitGuard() { ::getrlimit(RLIMIT_NOFILE, &saved); }
  ~FdLimitGuard() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

TEST_F(HttpFrontendTest, AnIdleFloodAtALoweredFdLimitLeavesNewClientsServed) {
  FdLimitGuard guard;
  rlimit low = guard.saved;
  low.rlim_cur = 256;
  if (guard.saved.rlim_max < 1024) GTEST_SKIP() << "the hard fd limit is below the flood's size";
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  config_.max_connections = 0;  // derived from the limit: 256 - 64
  config_.header_timeout_ms = 60'000;
  startFrontend();
  EXPECT_EQ(frontend_->maxConnections(), 192);

  // The flood comes from a child process, which has its own fds (and raises its own limit).
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const std::uint16_t port = frontend_->port();
  pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    ::close(ready[0]);
    ::close(done[1]);
    rlimit all = guard.saved;
    all.rlim_cur = all.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &all);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int opened = 0;
    for (int i = 0; i < 600; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) ++opened;
    }
    char c = opened == 600 ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(done[0], &c, 1);  // until the parent is finished
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char c = 0;
  pollfd p{ready[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30'000), 1);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  // 600 idle connections against 192 allowed at 256 fds: new clients are still served.
  int served = 0;
  for (int i = 0; i < 20; ++i) served += client().get("/healthz").status == 200u ? 1 : 0;
  EXPECT_EQ(served, 20);
  EXPECT_GE(metric("seams_http_connections_shed_total"), 600 - 192);
  ::close(done[1]);
  ::close(ready[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
}

// ---- GET /v1/probe (issue 14) -----------------------------------------------------------------

// Counts the probe calls that reach the vault.
class ProbeCountingVault final : public testing::InterposedVault {
 public:
  using InterposedVault::InterposedVault;
  int probes() const { return probes_.load(); }

 protected:
  Status before(std::string_view call, const VaultPath*) override {
    if (call == "probe") probes_.fetch_add(1);
    return okStatus();
  }

 private:
  std::atomic<int> probes_{0};
};

TEST_F(HttpFrontendTest, ProbeMakesKCallsInSequenceAndAnswersWhatItReceived) {
  ProbeCountingVault counting(*vault_);
  HttpFrontend frontend(counting, *auth_, metrics_, config_);
  ASSERT_TRUE(frontend.start().ok());
  TestClient c(frontend.port());
  // Any valid session may probe: bob may only read and list.
  std::string token =
      tokenFrom(c.request(verb::post, "/v1/login", "", R"({"user":"bob","password":"bob-pw"})"));
  ASSERT_FALSE(token.empty());
  Reply r = c.get("/v1/probe?calls=3&work_us=10&bytes=1000", token);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(counting.probes(), 3);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["calls"], 3);
  EXPECT_EQ(j["work_us"], 10);
  EXPECT_EQ(j["bytes"], 1000);
  EXPECT_EQ(j["bytes_received"], 3000);
  EXPECT_GT(j["iterations_per_us"].get<double>(), 0.0);
  // The checksum is the replies' own, combined in order.
  std::uint64_t want = 0;
  for (int k = 0; k < 3; ++k) {
    want = want * 0x100000001B3ULL + probeChecksum(vault_->probe(10, 1000).value().data);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(want));
  EXPECT_EQ(j["checksum"], hex);
  EXPECT_LT(r.body.size(), 400u);  // small: only the seam carries the bytes
  // Parameters in any order, percent-encoded digits too.
  EXPECT_EQ(c.get("/v1/probe?bytes=0&calls=%31&work_us=0", token).status, 200u);
  EXPECT_EQ(counting.probes(), 4);
}

TEST_F(HttpFrontendTest, ProbeRefusesMissingMalformedAndOutOfBoundsValuesWith400) {
  HttpFrontend::Options options;
  options.probe.max_calls = 8;
  options.probe.max_work_us = 500;
  options.probe.max_reply_bytes = 4096;
  startFrontend(options);
  std::string token = login("alice", "alice-pw");
  TestClient c = client();
  const std::pair<const char*, const char*> cases[] = {
      {"/v1/probe", "missing query parameter \"calls\""},
      {"/v1/probe?work_us=1&bytes=1", "missing query parameter \"calls\""},
      {"/v1/probe?calls=1&bytes=1", "missing query parameter \"work_us\""},
      {"/v1/probe?calls=1&work_us=1", "missing query parameter \"bytes\""},
      {"/v1/probe?calls=-1&work_us=0&bytes=0", "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=1&work_us=-5&bytes=0", "work_us must be a non-negative decimal integer"},
      {"/v1/probe?calls=1&work_us=0&bytes=-1", "bytes must be a non-negative decimal integer"},
      {"/v1/probe?calls=abc&work_us=0&bytes=0", "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=1.5&work_us=0&bytes=0", "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=+1&work_us=0&bytes=0", "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=&work_us=0&bytes=0", "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=1&work_us=0x10&bytes=0", "work_us must be a non-negative decimal integer"},
      {"/v1/probe?calls=99999999999999999999999&work_us=0&bytes=0",
       "calls must be a non-negative decimal integer"},
      {"/v1/probe?calls=0&work_us=0&bytes=0", "calls must be between 1 and 8"},
      {"/v1/probe?calls=9&work_us=0&bytes=0", "probe.max_calls; got 9"},
      {"/v1/probe?calls=1&work_us=501&bytes=0", "probe.max_work_us; got 501"},
      {"/v1/probe?calls=1&work_us=0&bytes=4097", "probe.max_reply_bytes; got 4097"},
      {"/v1/probe?calls=1&work_us=0&bytes=10000000000", "probe.max_reply_bytes"},
      {"/v1/probe?calls=1&calls=2&work_us=0&bytes=0", "given twice"},
      {"/v1/probe?calls=%zz&work_us=0&bytes=0", ""},
      {"/v1/probe?calls=1&work_us=0&bytes=0&extra=1", "unknown query parameter \"extra\""},
  };
  for (const auto& [target, message] : cases) {
    Reply r = c.get(target, token);
    EXPECT_EQ(r.status, 400u) << target << ": " << r.body;
    EXPECT_NE(r.body.find("\"code\":\"invalid_argument\""), std::string::npos)
        << target << ": " << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << target << ": " << r.body;
    EXPECT_NE(j.value("error", std::string()).find(message), std::string::npos)
        << target << ": " << r.body;
  }
  // The bounds themselves are fine.
  EXPECT_EQ(c.get("/v1/probe?calls=8&work_us=500&bytes=4096", token).status, 200u);
}

TEST_F(HttpFrontendTest, ProbeNeedsAValidSessionLikeTheOtherRoutes) {
  startFrontend();
  TestClient c = client();
  Reply none = c.get("/v1/probe?calls=1&work_us=0&bytes=0");
  EXPECT_EQ(none.status, 401u) << none.body;
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(c.get("/v1/probe?calls=1&work_us=0&bytes=0", "not-a-token").status, 401u);
  // 401 before any check of the values: an unknown caller learns nothing.
  EXPECT_EQ(c.get("/v1/probe?calls=-1", "not-a-token").status, 401u);
  std::string token = login("bob", "bob-pw");
  EXPECT_EQ(c.request(verb::post, "/v1/probe?calls=1&work_us=0&bytes=0", token).status, 405u);
}

// The route's bounds come from the frontend's config and the owner checks its own: a frontend
// configured beyond the owner's limit still gets 400 (the owner's invalid_argument), not 500.
TEST_F(HttpFrontendTest, TheOwnersBoundsHoldWhenTheFrontendAllowsMore) {
  HttpFrontend::Options options;
  options.probe.max_reply_bytes = 8u << 20;  // the LocalVault keeps the default 4 MiB
  startFrontend(options);
  std::string token = login("bob", "bob-pw");
  Reply r = client().get("/v1/probe?calls=1&work_us=0&bytes=5000000", token);
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.body.find("owner's limit"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace seams

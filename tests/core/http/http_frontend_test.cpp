// The HTTP frontend over a real socket, against a LocalVault in a temp dir and a LocalAuth.
#include "core/http/http_frontend.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/auth/local_auth.h"
#include "core/cache/fs_cache.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "tests/core/http/test_client.h"

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

  void startFrontend(HttpFrontend::Options options = {}) {
    frontend_ = std::make_unique<HttpFrontend>(*vault_, *auth_, metrics_, config_, options);
    Status s = frontend_->start();
    ASSERT_TRUE(s.ok()) << s.toString();
    ASSERT_NE(frontend_->port(), 0);
  }

  TestClient client() { return TestClient(frontend_->port()); }

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

// A vault whose backing service is down: every call is unavailable.
class DownVault : public Vault {
 public:
  static Status down() { return Status(Errc::unavailable, "storage service is down"); }
  Result<FileAttr> stat(const VaultPath&) override { return down(); }
  Result<std::vector<DirEntry>> list(const VaultPath&) override { return down(); }
  Result<ReadResult> read(const VaultPath&, std::uint64_t, std::uint64_t) override {
    return down();
  }
  Result<FileAttr> write(const VaultPath&, std::uint64_t, std::string_view) override {
    return down();
  }
  Result<FileAttr> put(const VaultPath&, std::string_view) override { return down(); }
  Result<FileAttr> create(const VaultPath&, std::uint32_t) override { return down(); }
  Result<FileAttr> mkdir(const VaultPath&, std::uint32_t) override { return down(); }
  Status unlink(const VaultPath&) override { return down(); }
  Status rmdir(const VaultPath&) override { return down(); }
  Result<FileAttr> rename(const VaultPath&, const VaultPath&) override { return down(); }
  Result<FileAttr> truncate(const VaultPath&, std::uint64_t) override { return down(); }
  Status fsync(const VaultPath&) override { return down(); }
  Status reconcile(const VaultPath&) override { return down(); }
  std::unique_ptr<Subscription> subscribe(ChangeListener) override { return nullptr; }
};

TEST_F(HttpFrontendTest, AVaultThatIsDownAnswers503AndNotReady) {
  DownVault down;
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
  static HangingVault* hanging = new HangingVault();
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

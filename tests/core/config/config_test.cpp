#include "core/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace seams {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHash =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

std::string fullConfig() {
  return std::string(R"(
vault_root = "data/vault"
runtime_dir = "/run/seams"
control_socket = "ctl.sock"
log_level = "debug"

[http]
enabled = true
listen = "[::1]:9090"
threads = 8
max_header_bytes = 8192
max_body_bytes = 1048576
read_timeout_ms = 5000
idle_timeout_ms = 30000

[fuse]
enabled = true
mountpoint = "/mnt/seams"
max_threads = 16
max_idle_threads = 4
entry_timeout_s = 0.5
attr_timeout_s = 2
kernel_cache = false
allow_other = false

[cache]
budget_bytes = 1000000
max_entry_bytes = 4096
shards = 8
coherence = "ttl"
ttl_ms = 250

[auth]
session_ttl_s = 600
sliding_expiry = false
decision_cache_entries = 100

[watchdog]
interval_ms = 50
heartbeat_deadline_ms = 1000
kill_deadline_ms = 5000
hang_action = "escalate"
start_timeout_ms = 2000
stop_timeout_ms = 3000
backoff_initial_ms = 10
backoff_max_ms = 2000
backoff_jitter = 0.1
backoff_reset_after_ms = 10000
intensity_max_restarts = 3
intensity_period_s = 10
strategy = "rest_for_one"

[split]
codec = "protobuf"
fsd_socket = "/tmp/f.sock"
authd_socket = "a.sock"
bin_dir = "bin"
call_timeout_ms = 700

[faults]
enabled = true

[probe]
max_calls = 16
max_work_us = 2000
max_reply_bytes = 1048576

[[users]]
name = "alice"
password_hash = ")") +
         kHash + R"("
uid = 1000
groups = ["staff", "dev"]

[[users]]
name = "bob"
password_hash = ")" +
         kHash + R"("

[[rules]]
subject = "user:alice"
prefix = "/docs"
access = ["read", "write"]
effect = "allow"

[[rules]]
subject = "group:staff"
prefix = "/"
access = ["list", "admin"]
effect = "deny"
)";
}

TEST(ConfigTest, AFullFileFillsEveryField) {
  auto r = parseConfig(fullConfig(), "seams.toml", "/etc/seams");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  const Config& c = *r;
  EXPECT_EQ(c.source, "seams.toml");
  EXPECT_EQ(c.vault_root, "/etc/seams/data/vault");
  EXPECT_EQ(c.runtime_dir, "/run/seams");
  EXPECT_EQ(c.control_socket, "/etc/seams/ctl.sock");
  EXPECT_EQ(c.log_level, "debug");

  EXPECT_TRUE(c.http.enabled);
  EXPECT_EQ(c.http.listen, "[::1]:9090");
  EXPECT_EQ(c.http.threads, 8);
  EXPECT_EQ(c.http.max_header_bytes, 8192u);
  EXPECT_EQ(c.http.max_body_bytes, 1048576u);
  EXPECT_EQ(c.http.read_timeout_ms, 5000);
  EXPECT_EQ(c.http.idle_timeout_ms, 30000);

  EXPECT_EQ(c.fuse.mountpoint, "/mnt/seams");
  EXPECT_EQ(c.fuse.max_threads, 16);
  EXPECT_EQ(c.fuse.max_idle_threads, 4);
  EXPECT_DOUBLE_EQ(c.fuse.entry_timeout_s, 0.5);
  EXPECT_DOUBLE_EQ(c.fuse.attr_timeout_s, 2.0);
  EXPECT_FALSE(c.fuse.kernel_cache);
  EXPECT_FALSE(c.fuse.allow_other);

  EXPECT_EQ(c.cache.budget_bytes, 1000000u);
  EXPECT_EQ(c.cache.max_entry_bytes, 4096u);
  EXPECT_EQ(c.cache.shards, 8);
  EXPECT_EQ(c.cache.coherence, Coherence::ttl);
  EXPECT_EQ(c.cache.ttl_ms, 250);

  EXPECT_EQ(c.auth.session_ttl_s, 600);
  EXPECT_FALSE(c.auth.sliding_expiry);
  EXPECT_EQ(c.auth.decision_cache_entries, 100);

  EXPECT_EQ(c.watchdog.interval_ms, 50);
  EXPECT_EQ(c.watchdog.heartbeat_deadline_ms, 1000);
  EXPECT_EQ(c.watchdog.kill_deadline_ms, 5000);
  EXPECT_EQ(c.watchdog.hang_action, HangAction::escalate);
  EXPECT_EQ(c.watchdog.start_timeout_ms, 2000);
  EXPECT_EQ(c.watchdog.stop_timeout_ms, 3000);
  EXPECT_EQ(c.watchdog.backoff_initial_ms, 10);
  EXPECT_EQ(c.watchdog.backoff_max_ms, 2000);
  EXPECT_DOUBLE_EQ(c.watchdog.backoff_jitter, 0.1);
  EXPECT_EQ(c.watchdog.backoff_reset_after_ms, 10000);
  EXPECT_EQ(c.watchdog.intensity_max_restarts, 3);
  EXPECT_EQ(c.watchdog.intensity_period_s, 10);
  EXPECT_EQ(c.watchdog.strategy, RestartStrategy::rest_for_one);

  EXPECT_EQ(c.split.codec, Codec::protobuf);
  EXPECT_EQ(c.split.fsd_socket, "/tmp/f.sock");
  EXPECT_EQ(c.split.authd_socket, "/etc/seams/a.sock");
  EXPECT_EQ(c.split.bin_dir, "/etc/seams/bin");
  EXPECT_EQ(c.split.call_timeout_ms, 700);
  EXPECT_TRUE(c.faults.enabled);
  EXPECT_EQ(c.probe.max_calls, 16u);
  EXPECT_EQ(c.probe.max_work_us, 2000u);
  EXPECT_EQ(c.probe.max_reply_bytes, 1048576u);

  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0].name, "alice");
  EXPECT_EQ(c.users[0].password_hash, kHash);
  EXPECT_EQ(c.users[0].uid, 1000u);
  EXPECT_EQ(c.users[0].groups, (std::vector<std::string>{"staff", "dev"}));
  EXPECT_EQ(c.users[1].name, "bob");
  EXPECT_FALSE(c.users[1].uid.has_value());
  EXPECT_TRUE(c.users[1].groups.empty());

  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].subject_kind, Rule::Subject::user);
  EXPECT_EQ(c.rules[0].subject, "alice");
  EXPECT_EQ(c.rules[0].prefix.str(), "/docs");
  EXPECT_EQ(c.rules[0].access, mask(Access::read) | mask(Access::write));
  EXPECT_EQ(c.rules[0].effect, Rule::Effect::allow);
  EXPECT_EQ(c.rules[1].subject_kind, Rule::Subject::group);
  EXPECT_EQ(c.rules[1].subject, "staff");
  EXPECT_EQ(c.rules[1].access, mask(Access::list) | mask(Access::admin));
  EXPECT_EQ(c.rules[1].effect, Rule::Effect::deny);
}

TEST(ConfigTest, AMinimalFileGetsEveryDefault) {
  auto r =
      parseConfig("vault_root = \"/srv/vault\"\n[fuse]\nenabled = false\n", "m.toml", "/etc/seams");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  Config expected;
  expected.source = "m.toml";
  expected.vault_root = "/srv/vault";
  expected.runtime_dir = "/etc/seams/run";
  expected.control_socket = "/etc/seams/run/control.sock";
  expected.fuse.enabled = false;
  expected.split.fsd_socket = "/etc/seams/run/fsd.sock";
  expected.split.authd_socket = "/etc/seams/run/authd.sock";
  EXPECT_EQ(*r, expected);
}

TEST(ConfigTest, SocketPathsDefaultBeneathTheRuntimeDir) {
  auto r =
      parseConfig("vault_root = \"v\"\nruntime_dir = \"/var/run/s\"\n[fuse]\nmountpoint = \"m\"\n",
                  "x.toml", "/cfg");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->control_socket, "/var/run/s/control.sock");
  EXPECT_EQ(r->split.fsd_socket, "/var/run/s/fsd.sock");
  EXPECT_EQ(r->split.authd_socket, "/var/run/s/authd.sock");
  EXPECT_EQ(r->fuse.mountpoint, "/cfg/m");
}

TEST(ConfigTest, RenderedConfigParsesBackIntoAnEqualConfig) {
  auto first = parseConfig(fullConfig(), "seams.toml", "/etc/seams");
  ASSERT_TRUE(first.ok()) << first.status().toString();
  const std::string text = renderConfig(*first);
  auto second = parseConfig(text, "seams.toml", "/etc/seams");
  ASSERT_TRUE(second.ok()) << second.status().toString() << "\n" << text;
  EXPECT_EQ(*second, *first);
}

TEST(ConfigTest, TheGrpcCodecParsesAndRendersBack) {
  auto first =
      parseConfig("vault_root = \"/v\"\n[fuse]\nmountpoint = \"/m\"\n[split]\ncodec = \"grpc\"\n",
                  "g.toml", "/x");
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->split.codec, Codec::grpc);
  EXPECT_EQ(codecName(Codec::grpc), "grpc");
  auto second = parseConfig(renderConfig(*first), "g.toml", "/x");
  ASSERT_TRUE(second.ok()) << second.status().toString();
  EXPECT_EQ(second->split.codec, Codec::grpc);
}

TEST(ConfigTest, RenderedDefaultsParseBack) {
  auto first = parseConfig("vault_root = \"/v\"\n[fuse]\nmountpoint = \"/m\"\n", "d.toml", "/x");
  ASSERT_TRUE(first.ok());
  auto second = parseConfig(renderConfig(*first), "d.toml", "/x");
  ASSERT_TRUE(second.ok()) << second.status().toString();
  EXPECT_EQ(*second, *first);
}

TEST(ConfigTest, TheExampleConfigParses) {
  auto r = loadConfig(SEAMS_EXAMPLE_TOML);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_FALSE(r->users.empty());
  EXPECT_FALSE(r->rules.empty());
  EXPECT_EQ(r->vault_root.front(), '/') << "relative paths are resolved";
}

TEST(ConfigTest, LoadConfigResolvesPathsAgainstTheFilesDirectory) {
  const fs::path dir =
      fs::temp_directory_path() / ("seams-config-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "seams.toml")
        << "vault_root = \"vault\"\n[fuse]\nmountpoint = \"../mnt\"\n";
  }
  auto r = loadConfig((dir / "seams.toml").string());
  fs::remove_all(dir);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->vault_root, (dir / "vault").string());
  EXPECT_EQ(r->fuse.mountpoint, (dir.parent_path() / "mnt").string());
  EXPECT_EQ(r->runtime_dir, (dir / "run").string());
}

TEST(ConfigTest, AMissingFileIsNotFound) {
  auto r = loadConfig("/nonexistent/seams.toml");
  EXPECT_EQ(r.code(), Errc::not_found);
  EXPECT_NE(r.status().message().find("/nonexistent/seams.toml"), std::string::npos);
}

TEST(ConfigTest, ADirectoryIsNotAConfigFile) {
  EXPECT_EQ(loadConfig("/tmp").code(), Errc::is_a_directory);
}

TEST(ConfigTest, ASyntaxErrorNamesTheFileAndLine) {
  auto r = parseConfig("vault_root = \"/v\"\n[http\n", "seams.toml", "/");
  ASSERT_EQ(r.code(), Errc::invalid_argument);
  EXPECT_EQ(r.status().message().rfind("seams.toml: line 2", 0), 0u) << r.status().message();
}

TEST(ConfigTest, TheDocumentedMessageFormatIsExact) {
  auto r = parseConfig("vault_root = \"/v\"\n[fuse]\nenabled = false\n[http]\nthreads = 0\n",
                       "seams.toml", "/");
  EXPECT_EQ(r.status().message(), "seams.toml: http.threads: must be between 1 and 256 (got 0)");
}

// Each bad input, and the key its error must name (and a word of the problem).
struct BadCase {
  const char* what;
  std::string toml;  // appended to a valid base
  std::string key;
  std::string problem;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.what;
}

class ConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrorTest, TheErrorNamesTheFileAndTheKey) {
  const BadCase& c = GetParam();
  // A base with no section headers, so each case may add its own.
  const std::string base =
      c.toml.find("vault_root") != std::string::npos ? "" : "vault_root = \"/v\"\n";
  const std::string user =
      std::string("[[users]]\nname = \"alice\"\npassword_hash = \"") + kHash + "\"\n";
  std::string text = base + c.toml;
  if (text.find("[fuse]") == std::string::npos && text.find("fuse.") == std::string::npos) {
    text += "\n[fuse]\nmountpoint = \"/m\"\n";
  }
  if (text.find("user:alice") != std::string::npos) text += "\n" + user;
  auto r = parseConfig(text, "bad.toml", "/etc");
  ASSERT_FALSE(r.ok()) << c.what;
  EXPECT_EQ(r.code(), Errc::invalid_argument);
  const std::string m = r.status().message();
  EXPECT_EQ(m.rfind("bad.toml: " + c.key + ": ", 0), 0u) << c.what << ": " << m;
  EXPECT_NE(m.find(c.problem), std::string::npos) << c.what << ": " << m;
}

const std::string kRule = "[[rules]]\nsubject = \"user:alice\"\nprefix = \"/\"\n";

INSTANTIATE_TEST_SUITE_P(
    EveryKindOfError, ConfigErrorTest,
    ::testing::Values(
        BadCase{"wrong type: string for int", "[http]\nthreads = \"four\"\n", "http.threads",
                "must be an integer (got a string)"},
        BadCase{"wrong type: int for bool", "[faults]\nenabled = 1\n", "faults.enabled",
                "must be a boolean"},
        BadCase{"probe: no calls", "[probe]\nmax_calls = 0\n", "probe.max_calls",
                "between 1 and 4096 (got 0)"},
        BadCase{"probe: negative work", "[probe]\nmax_work_us = -1\n", "probe.max_work_us",
                "between 0 and 10000000 (got -1)"},
        BadCase{"probe: replies beyond the IPC limit", "[probe]\nmax_reply_bytes = 100000000\n",
                "probe.max_reply_bytes", "between 0 and 67108864 (got 100000000)"},
        BadCase{"probe: work past the call timeout",
                "[split]\ncall_timeout_ms = 100\n[probe]\nmax_work_us = 100000\n",
                "probe.max_work_us", "must be under split.call_timeout_ms (100 ms"},
        BadCase{"probe: unknown key", "[probe]\nmax_bytes = 1\n", "probe.max_bytes", "unknown key"},
        BadCase{"wrong type: int for string", "log_level = 3\n", "log_level", "must be a string"},
        BadCase{"wrong type: section is a value", "cache = 5\n", "cache", "must be a table"},
        BadCase{"wrong type: array element",
                "[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$x\"\n"
                "groups = [\"a\", 2]\n",
                "users[0].groups[1]", "must be a string"},
        BadCase{"wrong type: users not tables", "users = [1, 2]\n", "users",
                "must be an array of tables"},
        BadCase{"out of range: threads", "[http]\nthreads = 300\n", "http.threads",
                "between 1 and 256 (got 300)"},
        BadCase{"out of range: float", "[watchdog]\nbackoff_jitter = 1.5\n",
                "watchdog.backoff_jitter", "between 0 and 1 (got 1.5)"},
        BadCase{"out of range: negative size", "[cache]\nbudget_bytes = -1\n", "cache.budget_bytes",
                "must be between"},
        BadCase{"out of range: uid",
                "[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$x\"\n"
                "uid = 5000000000\n",
                "users[0].uid", "must be between"},
        BadCase{"cross-field: kill before heartbeat",
                "[watchdog]\nheartbeat_deadline_ms = 5000\nkill_deadline_ms = 100\n",
                "watchdog.kill_deadline_ms", "at least heartbeat_deadline_ms"},
        BadCase{"unknown top-level key", "vault_rot = \"/x\"\n", "vault_rot", "unknown key"},
        BadCase{"unknown section", "[htttp]\nthreads = 2\n", "htttp", "unknown key"},
        BadCase{"unknown key in a section", "[http]\nthread = 2\n", "http.thread", "unknown key"},
        BadCase{"unknown key in a rule",
                kRule + "access = [\"read\"]\neffect = \"allow\"\nwho = 1\n", "rules[0].who",
                "unknown key"},
        BadCase{"missing vault_root", "vault_root_missing_marker = 0\n", "vault_root",
                "is required"},
        BadCase{"empty vault_root", "vault_root = \"\"\n", "vault_root", "must not be empty"},
        BadCase{"missing mountpoint with fuse enabled", "[fuse]\nenabled = true\n",
                "fuse.mountpoint", "is required"},
        BadCase{"missing user name", "[[users]]\npassword_hash = \"$argon2id$x\"\n",
                "users[0].name", "is required"},
        BadCase{"missing password hash", "[[users]]\nname = \"u\"\n", "users[0].password_hash",
                "is required"},
        BadCase{"not an argon2id hash", "[[users]]\nname = \"u\"\npassword_hash = \"secret\"\n",
                "users[0].password_hash", "Argon2id"},
        BadCase{"bad user name", "[[users]]\nname = \"a b\"\npassword_hash = \"$argon2id$x\"\n",
                "users[0].name", "must be 1 to 64"},
        BadCase{"duplicate user",
                "[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$x\"\n"
                "[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$x\"\n",
                "users[1].name", "duplicate user"},
        BadCase{"duplicate uid",
                "[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$x\"\nuid = 7\n"
                "[[users]]\nname = \"v\"\npassword_hash = \"$argon2id$x\"\nuid = 7\n",
                "users[1].uid", "belongs to another user"},
        BadCase{"bad rule subject kind",
                "[[rules]]\nsubject = \"role:x\"\nprefix = \"/\"\naccess = [\"read\"]\neffect = "
                "\"allow\"\n",
                "rules[0].subject", "\"user:NAME\" or \"group:NAME\""},
        BadCase{"rule subject without a name",
                "[[rules]]\nsubject = \"alice\"\nprefix = \"/\"\naccess = [\"read\"]\neffect = "
                "\"allow\"\n",
                "rules[0].subject", "\"user:NAME\" or \"group:NAME\""},
        BadCase{"rule for an unknown user",
                "[[rules]]\nsubject = \"user:mallory\"\nprefix = \"/\"\naccess = [\"read\"]\n"
                "effect = \"allow\"\n",
                "rules[0].subject", "no [[users]] entry named \"mallory\""},
        BadCase{"bad rule access", kRule + "access = [\"read\", \"execute\"]\neffect = \"allow\"\n",
                "rules[0].access", "(got \"execute\")"},
        BadCase{"empty rule access", kRule + "access = []\neffect = \"allow\"\n", "rules[0].access",
                "at least one"},
        BadCase{"missing rule access", kRule + "effect = \"allow\"\n", "rules[0].access",
                "is required"},
        BadCase{"bad rule effect", kRule + "access = [\"read\"]\neffect = \"permit\"\n",
                "rules[0].effect", "must be one of allow, deny (got \"permit\")"},
        BadCase{"missing rule effect", kRule + "access = [\"read\"]\n", "rules[0].effect",
                "is required"},
        BadCase{"bad rule prefix",
                "[[rules]]\nsubject = \"group:g\"\nprefix = \"/a/../b\"\naccess = [\"read\"]\n"
                "effect = \"allow\"\n",
                "rules[0].prefix", "(got \"/a/../b\")"},
        BadCase{"bad codec", "[split]\ncodec = \"json\"\n", "split.codec",
                "must be one of capnp, protobuf, grpc (got \"json\")"},
        BadCase{"bad coherence", "[cache]\ncoherence = \"eventual\"\n", "cache.coherence",
                "must be one of off, ttl, push"},
        BadCase{"bad strategy", "[watchdog]\nstrategy = \"all_for_one\"\n", "watchdog.strategy",
                "must be one of"},
        BadCase{"bad hang action", "[watchdog]\nhang_action = \"ignore\"\n", "watchdog.hang_action",
                "must be one of restart, escalate"},
        BadCase{"bad log level", "log_level = \"loud\"\n", "log_level", "must be one of"},
        BadCase{"listen without port", "[http]\nlisten = \"localhost\"\n", "http.listen",
                "HOST:PORT"},
        BadCase{"listen with a bad port", "[http]\nlisten = \"127.0.0.1:80a\"\n", "http.listen",
                "port must be a number"},
        BadCase{"listen with a port too large", "[http]\nlisten = \"127.0.0.1:70000\"\n",
                "http.listen", "at most 65535"},
        BadCase{"listen with an unbracketed IPv6 host", "[http]\nlisten = \"::1:80\"\n",
                "http.listen", "brackets"},
        BadCase{"listen without host", "[http]\nlisten = \":80\"\n", "http.listen", "no host"},
        BadCase{"socket path too long", "runtime_dir = \"/" + std::string(120, 'r') + "\"\n",
                "runtime_dir", "UNIX socket path"},
        BadCase{"explicit socket path too long",
                "[split]\nfsd_socket = \"/" + std::string(120, 's') + "\"\n", "split.fsd_socket",
                "UNIX socket path"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name;
      for (const char* p = info.param.what; *p; ++p) {
        const char c = *p;
        name +=
            ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
      }
      return name;
    });

}  // namespace
}  // namespace seams

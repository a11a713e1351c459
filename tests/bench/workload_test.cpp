// The workload of seam-bench run: the file, the flags and --set through one table of keys, and
// the deployment names. Pure functions over temp files; nothing is started.
#include "bench/seam-bench/workload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace seams::bench {
namespace {

const std::vector<std::string> kScenarioNames = {"startup", "http",    "fuse",     "drift",
                                                 "memory",  "fio",     "git",      "fault",
                                                 "sweep",   "upgrade", "baselines"};

class WorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seam-bench-workload-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string file(const std::string& text) {
    const std::string path = dir_ + "/w" + std::to_string(n_++) + ".toml";
    std::ofstream(path) << text;
    return path;
  }
  static Result<Workload> resolve(WorkloadSources s) { return resolveWorkload(s, kScenarioNames); }
  std::string dir_;
  int n_ = 0;
};

TEST_F(WorkloadTest, AGoodFileSetsEveryKeyItNamesAndLeavesTheRestAtTheirDefaults) {
  const std::string path = file(R"(
deployments = ["mono", "split/protobuf/off"]
scenarios = ["http", "fuse"]
seconds = 0.5
[data]
files = 50
size_dist = "4K:1,1M:1"
hot_bytes = "8K"
[http]
connections = 3
ops = ["get_cached", "dataset", "mixed"]
mix = { get_cached = 3, dataset = 1 }
open_loop_ops = ["dataset"]
open_loop_rates = [500, 100]
put_bytes = 100
[fuse]
threads = 2
ops = "stat,dataset"
[cache]
budget_bytes = "2M"
[set]
"http.threads" = 4
fuse.max_threads = 6
log_level = "debug"
)");
  auto w = resolve({.file = path});
  ASSERT_TRUE(w.ok()) << w.status().toString();
  EXPECT_EQ(w->deployments, (std::vector<std::string>{"mono", "split/protobuf/off"}));
  EXPECT_EQ(w->scenarios, (std::vector<std::string>{"http", "fuse"}));
  EXPECT_DOUBLE_EQ(w->seconds, 0.5);
  EXPECT_EQ(w->files, 50);
  ASSERT_EQ(w->size_classes.size(), 2u);
  EXPECT_EQ(w->size_classes[1].bytes, 1u << 20);
  EXPECT_EQ(w->hot_bytes, 8192u);
  EXPECT_EQ(w->connections, 3);
  EXPECT_EQ(w->http_ops, (std::vector<std::string>{"get_cached", "dataset", "mixed"}));
  EXPECT_EQ(w->http_mix, (Weights{{"dataset", 1}, {"get_cached", 3}}));
  EXPECT_EQ(w->open_loop_ops, (std::vector<std::string>{"dataset"}));
  EXPECT_EQ(w->open_loop_rates, (std::vector<double>{500, 100}));
  EXPECT_EQ(w->put_bytes, 100u);
  EXPECT_EQ(w->fuse_threads, 2);
  EXPECT_EQ(w->fuse_ops, (std::vector<std::string>{"stat", "dataset"}));
  EXPECT_EQ(w->cache_budget_bytes, 2u << 20);
  // Defaults where the file said nothing.
  EXPECT_EQ(w->repeat, 1);
  EXPECT_EQ(w->hot_files, 32);
  EXPECT_EQ(w->cold_bytes, 4096u);
  // [set], typed by the config schema; the bench's own overrides beneath.
  const auto ov = w->configOverrides();
  EXPECT_EQ(ov.at("http.threads"), "4");
  EXPECT_EQ(ov.at("fuse.max_threads"), "6");
  EXPECT_EQ(ov.at("log_level"), "'debug'");  // a TOML literal string
  EXPECT_EQ(ov.at("cache.budget_bytes"), std::to_string(2u << 20));
  EXPECT_EQ(ov.at("watchdog.intensity_max_restarts"), "1000");
  // The record: every key, and where each given one came from.
  const nlohmann::json j = w->toJson();
  EXPECT_EQ(j["http"]["connections"], 3);
  EXPECT_EQ(j["data"]["hot_bytes"], 8192);
  EXPECT_EQ(j["fuse"]["mix"]["stat"], 60.0);  // the default mix
  EXPECT_EQ(j["set"]["http.threads"], 4);
  EXPECT_EQ(j["set"]["log_level"], "debug");
  const auto& from_file = j["given"]["file"];
  EXPECT_NE(std::find(from_file.begin(), from_file.end(), "http.connections"), from_file.end());
  EXPECT_TRUE(j["given"]["flags"].empty());
}

TEST_F(WorkloadTest, TheExampleInTheRepositoryIsAGoodWorkload) {
  auto w = resolve({.file = std::string(SEAMS_SOURCE_DIR) + "/bench/workloads/example.toml"});
  ASSERT_TRUE(w.ok()) << w.status().toString();
  EXPECT_FALSE(w->set.empty());
  EXPECT_TRUE(std::find(w->http_ops.begin(), w->http_ops.end(), "dataset") != w->http_ops.end());
}

TEST_F(WorkloadTest, AnUnknownKeyIsRefusedNamingItAndTheValidOnes) {
  auto w = resolve({.file = file("[http]\nconections = 3\n")});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::invalid_argument);
  const std::string m = w.status().message();
  EXPECT_NE(m.find("unknown key 'http.conections'"), std::string::npos) << m;
  EXPECT_NE(m.find("http.connections"), std::string::npos) << m;
  EXPECT_NE(m.find("fuse.threads"), std::string::npos) << m;

  auto top = resolve({.file = file("files = 3\n")});
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("unknown key 'files'"), std::string::npos);
}

TEST_F(WorkloadTest, BadValuesAreRefusedNamingTheKey) {
  struct Case {
    std::string text, key, problem;
  };
  const std::vector<Case> cases = {
      {"[http]\nconnections = 0\n", "http.connections", "must be between 1 and 1024 (got 0)"},
      {"[http]\nconnections = \"many\"\n", "http.connections", "must be an integer"},
      {"[http]\nconnections = 2.5\n", "http.connections", "must be an integer (got a float)"},
      {"seconds = \"soon\"\n", "seconds", "must be a number"},
      {"deployments = [\"split/protobuf/of\"]\n", "deployments",
       "unknown deployment 'split/protobuf/of' (valid: mono, split/capnp/push"},
      {"[http]\nops = [\"get\"]\n", "http.ops", "unknown HTTP operation 'get' (valid: get_cached"},
      {"[fuse]\nops = [\"read4k\", \"read4k\"]\n", "fuse.ops", "named twice"},
      {"[http]\nmix = { put = -1 }\n", "http.mix", "must be >= 0"},
      {"[fuse]\nmix = { walk = 1 }\n", "fuse.mix", "unknown FUSE operation 'walk'"},
      {"[data]\nsize_dist = \"4K\"\n", "data.size_dist", "not SIZE:WEIGHT"},
      {"[http]\nopen_loop_fractions = []\n", "http.open_loop_fractions", "must not be empty"},
  };
  for (const Case& c : cases) {
    auto w = resolve({.file = file(c.text)});
    ASSERT_FALSE(w.ok()) << c.text;
    const std::string m = w.status().message();
    EXPECT_NE(m.find(": " + c.key + ": "), std::string::npos) << m;
    EXPECT_NE(m.find(c.problem), std::string::npos) << m;
  }
  auto syntax = resolve({.file = file("[http\n")});
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("line 1"), std::string::npos);
  auto missing = resolve({.file = dir_ + "/absent.toml"});
  EXPECT_FALSE(missing.ok());
}

TEST_F(WorkloadTest, AFlagOverridesTheFileAndTheDefaults) {
  const std::string path = file("[http]\nconnections = 3\nput_bytes = 100\n");
  auto w = resolve({.file = path, .flags = {{"http.connections", "5"}, {"seed", "9"}}});
  ASSERT_TRUE(w.ok()) << w.status().toString();
  EXPECT_EQ(w->connections, 5);   // the flag over the file
  EXPECT_EQ(w->put_bytes, 100u);  // the file over the default
  EXPECT_EQ(w->seed, 9u);         // the flag over the default
  EXPECT_EQ(w->from_flags, (std::set<std::string>{"http.connections", "seed"}));
  // A bad flag names the flag.
  auto bad = resolve({.file = path, .flags = {{"http.connections", "0"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--connections: must be between"), std::string::npos)
      << bad.status().message();
}

TEST_F(WorkloadTest, QuickChangesTheDefaultsButNotWhatIsGiven) {
  auto quick = resolve({.quick = true});
  auto full = resolve({});
  ASSERT_TRUE(quick.ok() && full.ok());
  EXPECT_EQ(quick->repeat, 2);
  EXPECT_EQ(full->repeat, 1);
  EXPECT_EQ(quick->files, 200);
  EXPECT_EQ(full->files, 1000);
  EXPECT_EQ(quick->open_loop_ops, (std::vector<std::string>{"get_cached"}));
  auto given = resolve({.quick = true, .flags = {{"repeat", "3"}}});
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->repeat, 3);
}

TEST_F(WorkloadTest, SetRefusesAKeyTheConfigDoesNotHaveNamingIt) {
  auto w = resolve({.sets = {"http.thread=4"}});
  ASSERT_FALSE(w.ok());
  const std::string m = w.status().message();
  EXPECT_NE(m.find("--set http.thread: not a key of seams.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("threads"), std::string::npos) << m;  // the section's keys are listed

  auto section = resolve({.sets = {"htp.threads=4"}});
  ASSERT_FALSE(section.ok());
  EXPECT_NE(section.status().message().find("htp.threads"), std::string::npos);
  EXPECT_NE(section.status().message().find("sections: "), std::string::npos);

  auto in_file = resolve({.file = file("[set]\n\"cache.budgetbytes\" = 1\n")});
  ASSERT_FALSE(in_file.ok());
  EXPECT_NE(in_file.status().message().find("[set] cache.budgetbytes: not a key"),
            std::string::npos)
      << in_file.status().message();

  auto shape = resolve({.sets = {"http.threads"}});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("not KEY=VALUE"), std::string::npos);
}

TEST_F(WorkloadTest, SetIsTypedAndCheckedByTheConfigParser) {
  auto ok = resolve(
      {.sets = {"cache.budget_bytes=1M", "fuse.kernel_cache=false", "fuse.attr_timeout_s=0.5",
                "log_level=warn", "http.threads=3", "http.threads=4"}});
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  const auto ov = ok->configOverrides();
  EXPECT_EQ(ov.at("cache.budget_bytes"), "1048576");
  EXPECT_EQ(ok->cache_budget_bytes, 1048576u);  // the knob follows the key it sets
  EXPECT_EQ(ov.at("fuse.kernel_cache"), "false");
  EXPECT_EQ(ov.at("fuse.attr_timeout_s"), "0.5");
  EXPECT_EQ(ov.at("log_level"), "'warn'");
  EXPECT_EQ(ov.at("http.threads"), "4");  // the last wins
  EXPECT_EQ(ok->set.size(), 5u);

  struct Case {
    std::string set, problem;
  };
  const std::vector<Case> bad = {
      {"http.threads=abc", "http.threads: must be an integer"},
      {"fuse.kernel_cache=yes", "fuse.kernel_cache: must be true or false"},
      {"http.threads=0", "http.threads: must be between 1 and 256 (got 0)"},  // parseConfig's
      {"log_level=loud", "log_level: must be one of trace, debug, info, warn, error"},
      {"split.codec=grpc", "split.codec: set by seam-bench itself"},
      {"fuse.mountpoint=/x", "fuse.mountpoint: set by seam-bench itself"},
  };
  for (const Case& c : bad) {
    auto w = resolve({.sets = {c.set}});
    ASSERT_FALSE(w.ok()) << c.set;
    EXPECT_NE(w.status().message().find(c.problem), std::string::npos) << w.status().message();
  }
  // In the file, a value of the wrong TOML type is refused too.
  auto typed = resolve({.file = file("[set]\nlog_level = 3\n")});
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("log_level: must be a string"), std::string::npos)
      << typed.status().message();
}

TEST_F(WorkloadTest, CrossKeyChecks) {
  // An open-loop operation's rates follow its closed loop, so it must be among http.ops.
  auto open = resolve({.flags = {{"http.ops", "stat"}, {"http.open_loop_ops", "get_cached"}}});
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("not among http.ops"), std::string::npos);
  // Left at its default, it keeps those that run.
  auto dflt = resolve({.flags = {{"http.ops", "stat,mixed"}}});
  ASSERT_TRUE(dflt.ok()) << dflt.status().toString();
  EXPECT_EQ(dflt->open_loop_ops, (std::vector<std::string>{"mixed"}));
  auto both =
      resolve({.flags = {{"http.open_loop_rates", "100"}, {"http.open_loop_fractions", "0.5"}}});
  EXPECT_FALSE(both.ok());
  auto empty = resolve({.flags = {{"data.files", "0"}, {"fuse.ops", "dataset"}}});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("data.files"), std::string::npos);
  auto mixed = resolve({.flags = {{"data.files", "0"}, {"http.mix", "dataset:1"}}});
  EXPECT_FALSE(mixed.ok());
  auto scen = resolve({.flags = {{"scenarios", "http,sweeps"}}});
  ASSERT_FALSE(scen.ok());
  EXPECT_NE(scen.status().message().find("unknown scenario 'sweeps' (valid: startup"),
            std::string::npos);
}

TEST(DeploymentNames, EveryCodecAndCoherenceIsADeployment) {
  for (const char* codec : {"capnp", "protobuf", "grpc"}) {
    for (const char* coherence : {"push", "ttl", "off"}) {
      const std::string name = std::string("split/") + codec + "/" + coherence;
      auto v = parseDeployment(name);
      ASSERT_TRUE(v.ok()) << name;
      EXPECT_EQ(v->launcher, "seam-split");
      EXPECT_EQ(v->codec, codec);
      EXPECT_EQ(v->coherence, coherence);
    }
  }
  auto mono = parseDeployment("mono");
  ASSERT_TRUE(mono.ok());
  EXPECT_EQ(mono->launcher, "seamd");
  EXPECT_EQ(knownVariants().size(), 10u);
}

TEST(DeploymentNames, ABadNameListsTheValidOnes) {
  for (const char* bad : {"split/protobuf/of", "split", "split/json/push", "Mono", ""}) {
    auto v = parseDeployment(bad);
    ASSERT_FALSE(v.ok()) << bad;
    const std::string m = v.status().message();
    EXPECT_NE(m.find("unknown deployment '" + std::string(bad) + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("split/protobuf/off"), std::string::npos) << m;
    EXPECT_NE(m.find("split/grpc/ttl"), std::string::npos) << m;
  }
}

TEST(DeploymentNames, TheDefaultListIsUnchanged) {
  EXPECT_EQ(
      defaultWorkload(false).deployments,
      (std::vector<std::string>{"mono", "split/capnp/push", "split/capnp/off", "split/capnp/ttl",
                                "split/protobuf/push", "split/grpc/push"}));
}

TEST(ConfigOverrides, AreWrittenOverTheirLinesKeepingTheRest) {
  const std::string text =
      "vault_root = \"v\"\n# a comment\n[[users]]\nname = \"a\"\n[http]\nthreads = 2\n"
      "listen = \"x\"\n[cache]\nbudget_bytes = 5\n";
  auto out = applyConfigOverrides(text, {{"http.threads", "8"}, {"cache.budget_bytes", "7"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "vault_root = \"v\"\n# a comment\n[[users]]\nname = \"a\"\n[http]\nthreads = 8\n"
            "listen = \"x\"\n[cache]\nbudget_bytes = 7\n");
  // A key inside [[users]] is not a config key of its own.
  auto users = applyConfigOverrides(text, {{"users.name", "\"b\""}});
  ASSERT_FALSE(users.ok());
  EXPECT_NE(users.status().message().find("users.name"), std::string::npos);
}

TEST(SizeClasses, TheTallyKeepsOneClassPerSizeOfTheDataSet) {
  DatasetInfo data;
  data.data_paths = {"/a", "/b", "/c"};
  data.data_sizes = {4096, 65536, 4096};
  SizeClassTally tally(data);
  tally.record(4096, 10'000, true);
  tally.record(4096, 30'000, true);
  tally.record(65536, 50'000, false);
  tally.record(12345, 1, true);  // not a class of the data set: ignored
  const nlohmann::json j = tally.toJson(2.0);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j["4K"]["files"], 2);
  EXPECT_EQ(j["4K"]["ok"], 2);
  EXPECT_DOUBLE_EQ(j["4K"]["throughput"]["value"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["4K"]["bytes_per_s"]["value"].get<double>(), 4096.0 / 1048576.0);
  EXPECT_EQ(j["64K"]["errors"], 1);
  EXPECT_EQ(j["64K"]["ok"], 0);
  EXPECT_EQ(sizeLabel(1536), "1536");
  EXPECT_EQ(sizeLabel(1 << 20), "1M");
}

}  // namespace
}  // namespace seams::bench

namespace seams::bench {
namespace {

TEST(ScaledIntegers, SuffixesScaleByPowersOf1024AndJunkIsRefused) {
  EXPECT_EQ(parseScaledInteger("512K"), 524288);
  EXPECT_EQ(parseScaledInteger("1m"), 1 << 20);
  EXPECT_EQ(parseScaledInteger("2G"), 2LL << 30);
  EXPECT_EQ(parseScaledInteger("-3"), -3);
  for (const char* bad : {"", "K", "4KB", "1.5K", " 4", "99999999999999999G"})
    EXPECT_FALSE(parseScaledInteger(bad).has_value()) << bad;
  auto d = parseSizeDist("4K:70,1M:30");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[1].bytes, 1u << 20);
  EXPECT_FALSE(parseSizeDist("-4K:1").ok());
  EXPECT_FALSE(parseSizeDist("4K:0").ok());
}

}  // namespace
}  // namespace seams::bench

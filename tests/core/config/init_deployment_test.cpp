#include "core/config/init_deployment.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/config/config.h"
#include "core/config/fuse_access.h"

namespace seams {
namespace {

namespace fs = std::filesystem;

class InitDeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-init-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ / "deploy";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::map<std::string, std::string> readCredentials() {
    std::map<std::string, std::string> creds;
    std::ifstream in(dir_ / "credentials");
    std::string user, password;
    while (in >> user >> password) creds[user] = password;
    return creds;
  }

  // Fast Argon2id limits; one test keeps the real (INTERACTIVE) cost.
  InitOptions fastOptions() const {
    InitOptions o;
    o.dir = dir_.string();
    o.pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o.pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    return o;
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(InitDeploymentTest, TheGeneratedDeploymentLoads) {
  std::ostringstream out;
  InitOptions options = fastOptions();
  options.codec = Codec::protobuf;
  options.coherence = Coherence::ttl;
  options.faults_enabled = true;
  options.http_listen = "127.0.0.1:0";
  ASSERT_TRUE(initDeployment(options, out).ok());

  auto config = loadConfig((dir_ / "seams.toml").string());
  ASSERT_TRUE(config.ok()) << config.status().toString();
  EXPECT_EQ(config->vault_root, (dir_ / "vault").string());
  EXPECT_EQ(config->fuse.mountpoint, (dir_ / "mnt").string());
  EXPECT_TRUE(config->fuse.enabled);
  EXPECT_EQ(config->runtime_dir, (dir_ / "run").string());
  EXPECT_EQ(config->control_socket, (dir_ / "run" / "control.sock").string());
  EXPECT_EQ(config->split.fsd_socket, (dir_ / "run" / "fsd.sock").string());
  EXPECT_EQ(config->split.codec, Codec::protobuf);
  EXPECT_EQ(config->cache.coherence, Coherence::ttl);
  EXPECT_TRUE(config->faults.enabled);
  EXPECT_EQ(config->http.listen, "127.0.0.1:0");
  EXPECT_TRUE(fs::is_directory(dir_ / "mnt"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "vault" / "README.md"));
  EXPECT_TRUE(fs::is_directory(dir_ / "vault" / "docs"));

  ASSERT_EQ(config->users.size(), 3u);
  EXPECT_EQ(config->users[0].name, "admin");
  EXPECT_EQ(config->users[0].uid, ::getuid());
  EXPECT_EQ(config->users[1].name, "alice");
  EXPECT_EQ(config->users[1].uid, 60001u);
  EXPECT_EQ(config->users[2].name, "bob");
  EXPECT_EQ(config->users[2].uid, 60002u);

  ASSERT_EQ(config->rules.size(), 3u);
  const AccessMask rwl = mask(Access::read) | mask(Access::write) | mask(Access::list);
  EXPECT_EQ(config->rules[0].subject, "admin");
  EXPECT_EQ(config->rules[0].access, rwl | mask(Access::admin));
  EXPECT_EQ(config->rules[1].subject, "alice");
  EXPECT_EQ(config->rules[1].access, rwl);
  EXPECT_EQ(config->rules[2].subject, "bob");
  EXPECT_EQ(config->rules[2].access, mask(Access::read) | mask(Access::list));
  for (const auto& r : config->rules) {
    EXPECT_TRUE(r.prefix.isRoot());
    EXPECT_EQ(r.effect, Rule::Effect::allow);
  }
}

TEST_F(InitDeploymentTest, EverySectionIsWrittenOut) {
  std::ostringstream out;
  ASSERT_TRUE(initDeployment(fastOptions(), out).ok());
  std::ifstream in(dir_ / "seams.toml");
  std::stringstream text;
  text << in.rdbuf();
  for (const char* section : {"[http]", "[fuse]", "[cache]", "[auth]", "[watchdog]", "[split]",
                              "[faults]", "[[users]]", "[[rules]]"}) {
    EXPECT_NE(text.str().find(section), std::string::npos) << section;
  }
}

TEST_F(InitDeploymentTest, PasswordsArePrintedSavedPrivatelyAndVerifyAgainstTheHashes) {
  std::ostringstream out;
  ASSERT_TRUE(initDeployment(InitOptions{.dir = dir_.string()}, out).ok()) << "default cost";

  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "credentials").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir_ / "seams.toml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "the config holds password hashes";

  const auto creds = readCredentials();
  ASSERT_EQ(creds.size(), 3u);
  auto config = loadConfig((dir_ / "seams.toml").string());
  ASSERT_TRUE(config.ok()) << config.status().toString();
  ASSERT_GE(sodium_init(), 0);
  for (const auto& user : config->users) {
    ASSERT_EQ(creds.count(user.name), 1u) << user.name;
    const std::string& password = creds.at(user.name);
    EXPECT_GE(password.size(), 24u);
    EXPECT_EQ(password.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << "URL-safe";
    EXPECT_EQ(
        crypto_pwhash_str_verify(user.password_hash.c_str(), password.c_str(), password.size()), 0)
        << user.name;
    EXPECT_NE(out.str().find(user.name + " " + password), std::string::npos)
        << "printed to the caller";
  }
  EXPECT_NE(crypto_pwhash_str_verify(config->users[0].password_hash.c_str(), "wrong", 5), 0);
  EXPECT_NE(creds.at("alice"), creds.at("bob"));
}

TEST_F(InitDeploymentTest, TheDemoVaultIsPrivateToTheInvokingUser) {
  std::ostringstream out;
  ASSERT_TRUE(initDeployment(fastOptions(), out).ok());
  std::size_t files = 0, dirs = 0;
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(dir_ / "vault"), 0700u);
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "vault")) {
    if (e.is_directory()) {
      ++dirs;
      EXPECT_EQ(mode(e.path()), 0700u) << e.path();
    } else {
      ++files;
      EXPECT_EQ(mode(e.path()), 0600u) << e.path();
    }
  }
  EXPECT_GE(files, 6u);
  EXPECT_GE(dirs, 4u);
  auto config = loadConfig((dir_ / "seams.toml").string());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->fuse.allow_other, allowOtherCanWork()) << "allow_other only where it works";
  EXPECT_FALSE(config->allow_shared_vault_root);
}

TEST_F(InitDeploymentTest, RefusesToOverwriteAnExistingConfig) {
  std::ostringstream out;
  ASSERT_TRUE(initDeployment(fastOptions(), out).ok());
  const auto before = readCredentials();

  std::ostringstream again;
  Status s = initDeployment(fastOptions(), again);
  EXPECT_EQ(s.code(), Errc::already_exists);
  EXPECT_NE(s.message().find("seams.toml"), std::string::npos) << s.message();
  EXPECT_EQ(readCredentials(), before) << "nothing was rewritten";
}

TEST_F(InitDeploymentTest, ACustomMountpointIsUsedAsGiven) {
  std::ostringstream out;
  const fs::path mnt = root_ / "elsewhere";
  ASSERT_TRUE(initDeployment(
                  [&] {
                    auto o = fastOptions();
                    o.mountpoint = mnt.string();
                    return o;
                  }(),
                  out)
                  .ok());
  auto config = loadConfig((dir_ / "seams.toml").string());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->fuse.mountpoint, mnt.string());
  EXPECT_FALSE(fs::exists(dir_ / "mnt"));
}

TEST_F(InitDeploymentTest, ABadListenAddressFailsBeforeAnythingIsWritten) {
  std::ostringstream out;
  Status s = initDeployment(
      [&] {
        auto o = fastOptions();
        o.http_listen = "nowhere";
        return o;
      }(),
      out);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("http.listen"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(InitDeploymentTest, ExistingVaultFilesAreLeftAlone) {
  fs::create_directories(dir_ / "vault");
  std::ofstream(dir_ / "vault" / "README.md") << "mine";
  std::ostringstream out;
  ASSERT_TRUE(initDeployment(fastOptions(), out).ok());
  std::ifstream in(dir_ / "vault" / "README.md");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "mine");
}

}  // namespace
}  // namespace seams

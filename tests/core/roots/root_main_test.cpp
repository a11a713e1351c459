// rootMain(): the prologue of seamd's, seam-split's and each split daemon's main(). What it
// decides before the root runs is what an operator or a unit file sees: the exit codes (0 for
// --help, CLI11's for a bad command line, 2 for a config that does not load) and the log level.
#include "core/roots/root_main.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

class RootMainTest : public ::testing::Test {
 protected:
  void TearDown() override {
    spdlog::drop_all();
    spdlog::set_level(spdlog::level::info);
  }

  std::string writeConfig(const std::string& text) {
    const std::string path = dir_.str() + "/seams.toml";
    testing::writeFile(path, text);
    return path;
  }

  // Runs rootMain over `args` (after the program name); `runs` counts calls of the root.
  int rootMainWith(std::vector<std::string> args, const std::string& name = "seam-test") {
    args.insert(args.begin(), name);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return rootMain(static_cast<int>(argv.size()), argv.data(),
                    {.name = name, .description = name + ": a test root", .log_tag = "%t"},
                    [this](const Config& config, const std::string& config_path) {
                      ++runs_;
                      seen_path_ = config_path;
                      seen_vault_root_ = config.vault_root;
                      return 7;
                    });
  }

  testing::TempDir dir_;
  int runs_ = 0;
  std::string seen_path_;
  std::string seen_vault_root_;
};

constexpr char kMinimalConfig[] = "vault_root = \"/srv/vault\"\n[fuse]\nenabled = false\n";

TEST_F(RootMainTest, HelpExitsZeroWithoutRunningTheRoot) {
  EXPECT_EQ(rootMainWith({"--help"}), 0);
  EXPECT_EQ(runs_, 0);
}

TEST_F(RootMainTest, AMissingConfigFlagIsCli11sRequiredErrorNotAConfigError) {
  EXPECT_EQ(rootMainWith({}), static_cast<int>(CLI::ExitCodes::RequiredError));
  EXPECT_EQ(runs_, 0);
}

TEST_F(RootMainTest, AnUnknownLogLevelIsRefusedBeforeTheConfigIsRead) {
  const std::string path = writeConfig(kMinimalConfig);
  EXPECT_EQ(rootMainWith({"--config", path, "--log-level", "loud"}),
            static_cast<int>(CLI::ExitCodes::ValidationError));
  EXPECT_EQ(runs_, 0);
}

TEST_F(RootMainTest, AConfigThatDoesNotLoadExitsTwoNamingTheBinaryAndTheFile) {
  const std::string missing = dir_.str() + "/absent.toml";
  ::testing::internal::CaptureStderr();
  const int code = rootMainWith({"--config", missing}, "seam-absent");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 2);
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(err.rfind("seam-absent: " + missing, 0), 0u) << err;
}

TEST_F(RootMainTest, ALoadedConfigGoesToTheRootWithThePathAsGivenAndItsExitCodeComesBack) {
  const std::string path = writeConfig(kMinimalConfig);
  EXPECT_EQ(rootMainWith({"-c", path}), 7);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(seen_path_, path);
  EXPECT_EQ(seen_vault_root_, "/srv/vault");
}

TEST_F(RootMainTest, TheLogLevelComesFromTheConfigUnlessTheFlagOverridesIt) {
  const std::string path = writeConfig(std::string("log_level = \"warn\"\n") + kMinimalConfig);
  ASSERT_EQ(rootMainWith({"--config", path}, "seam-from-config"), 7);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
  ASSERT_EQ(rootMainWith({"--config", path, "--log-level", "debug"}, "seam-from-flag"), 7);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
}

TEST_F(RootMainTest, TheRootsLoggerIsTheDefaultOneUnderTheBinarysName) {
  const std::string path = writeConfig(kMinimalConfig);
  ASSERT_EQ(rootMainWith({"--config", path}, "seam-named"), 7);
  EXPECT_EQ(spdlog::default_logger()->name(), "seam-named");
}

}  // namespace
}  // namespace seams

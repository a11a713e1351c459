// The launcher's pure logic: the daemon table, mountinfo parsing, stale-socket removal.
#include "split/launcher/daemon_spec.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/common/stale_socket.h"
#include "core/common/unique_fd.h"
#include "core/runtime/service_names.h"

namespace seams::split {
namespace {

namespace fs = std::filesystem;

Config twoSocketConfig() {
  Config c;
  c.split.fsd_socket = "/run/s/fsd.sock";
  c.split.authd_socket = "/run/s/authd.sock";
  c.fuse.mountpoint = "/mnt/vault";
  c.runtime_dir = "/run/s";
  return c;
}

TEST(DaemonSpecs, ListTheFiveDaemonsWithTheirDependenciesBinariesAndLeftovers) {
  std::vector<DaemonSpec> specs = daemonSpecs(twoSocketConfig(), "/opt/seams/bin");
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].name, kFsdDaemon);
  EXPECT_EQ(specs[0].program, "/opt/seams/bin/seam-fsd");
  EXPECT_TRUE(specs[0].dependencies.empty());
  EXPECT_EQ(specs[0].sockets,
            (std::vector<std::string>{"/run/s/fsd.sock", "/run/s/seam-fsd.control.sock"}));
  EXPECT_EQ(specs[1].name, kAuthdDaemon);
  EXPECT_EQ(specs[1].sockets,
            (std::vector<std::string>{"/run/s/authd.sock", "/run/s/seam-authd.control.sock"}));
  EXPECT_EQ(specs[2].name, kSyncdDaemon);
  EXPECT_EQ(specs[2].dependencies, std::vector<std::string>{kFsdDaemon});
  EXPECT_EQ(specs[2].sockets, std::vector<std::string>{"/run/s/seam-syncd.control.sock"});
  EXPECT_EQ(specs[3].name, kHttpdDaemon);
  EXPECT_EQ(specs[3].dependencies, (std::vector<std::string>{kFsdDaemon, kAuthdDaemon}));
  EXPECT_EQ(specs[4].name, kFusedDaemon);
  EXPECT_EQ(specs[4].program, "/opt/seams/bin/seam-fused");
  EXPECT_EQ(specs[4].dependencies, (std::vector<std::string>{kFsdDaemon, kAuthdDaemon}));
  EXPECT_EQ(specs[4].mountpoint, "/mnt/vault");
}

TEST(DaemonSpecs, LeaveOutTheFrontendsTheConfigDisables) {
  Config c = twoSocketConfig();
  c.http.enabled = false;
  c.fuse.enabled = false;
  std::vector<std::string> names;
  for (const DaemonSpec& s : daemonSpecs(c, "/b")) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{kFsdDaemon, kAuthdDaemon, kSyncdDaemon}));
}

TEST(ResolveBinDir, IsTheConfiguredDirOrElseTheDirectoryOfOurOwnExecutable) {
  Config c;
  c.split.bin_dir = "/opt/seams/bin";
  EXPECT_EQ(*resolveBinDir(c), "/opt/seams/bin");
  c.split.bin_dir.clear();
  Result<std::string> own = resolveBinDir(c);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*own, fs::read_symlink("/proc/self/exe").parent_path().string());
}

TEST(IsFuseMountIn, FindsAFuseMountAtExactlyThatPathWithEscapedSpaces) {
  const std::string mountinfo =
      "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
      "40 22 0:50 / /tmp/my\\040vault rw,nosuid,nodev shared:7 - fuse.seams seams rw,user_id=0\n"
      "41 22 0:51 / /tmp/plain rw - fuse fusectl rw\n"
      "42 22 0:52 / /tmp/tmpfs rw - tmpfs tmpfs rw\n";
  EXPECT_TRUE(isFuseMountIn(mountinfo, "/tmp/my vault"));
  EXPECT_TRUE(isFuseMountIn(mountinfo, "/tmp/plain"));
  EXPECT_FALSE(isFuseMountIn(mountinfo, "/tmp/tmpfs"));
  EXPECT_FALSE(isFuseMountIn(mountinfo, "/tmp/my"));
  EXPECT_FALSE(isFuseMountIn(mountinfo, "/nowhere"));
}

TEST(DetachFuseMount, IsANoOpWhereNothingIsMounted) {
  EXPECT_TRUE(detachFuseMount(fs::temp_directory_path().string()).ok());
  EXPECT_TRUE(detachFuseMount("").ok());
}

class StaleSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-spec-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StaleSocketTest, RemovesASocketFileLeftBehind) {
  const std::string path = dir_ + "/fsd.sock";
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  fd.reset();
  ASSERT_TRUE(fs::exists(path));

  Result<bool> removed = removeStaleSocket(path);
  ASSERT_TRUE(removed.ok()) << removed.status().toString();
  EXPECT_TRUE(*removed) << "reported, so the caller can log it";
  EXPECT_FALSE(fs::exists(path));
  removed = removeStaleSocket(path);
  ASSERT_TRUE(removed.ok()) << "nothing there is fine";
  EXPECT_FALSE(*removed);
}

TEST_F(StaleSocketTest, NeverRemovesASocketSomeoneIsServingOn) {
  const std::string path = dir_ + "/fsd.sock";
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd.get(), 4), 0);
  EXPECT_EQ(removeStaleSocket(path).code(), Errc::conflict);
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(StaleSocketTest, RefusesToRemoveAnythingButASocket) {
  const std::string path = dir_ + "/fsd.sock";
  std::ofstream(path) << "not a socket";
  EXPECT_FALSE(removeStaleSocket(path).ok());
  EXPECT_TRUE(fs::exists(path));
}

}  // namespace
}  // namespace seams::split

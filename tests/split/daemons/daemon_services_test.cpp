// The daemons' own services, in one process over a real UNIX socket: an owner (storage +
// vault-ipc, as in seam-fsd) and a frontend link (upstream-fsd, as in seam-httpd) under
// ServiceManagers, for both codecs and every coherence mode.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/coherence/caching_vault.h"
#include "core/runtime/env.h"
#include "core/runtime/service_manager.h"
#include "core/runtime/service_names.h"
#include "core/services/vault_service.h"
#include "split/daemons/ipc_server_service.h"
#include "split/daemons/upstream_service.h"
#include "tests/core/storage/temp_dir.h"
#include "tests/support/grpc_under_tsan.h"

namespace seams::split {
namespace {

namespace fs = std::filesystem;

struct Case {
  Codec codec;
  Coherence coherence;
};

class DaemonServicesTest : public ::testing::TestWithParam<Case> {
 protected:
  DaemonServicesTest() {
    fs::create_directories(dir_.path() / "vault");
    fs::permissions(dir_.path() / "vault", fs::perms::owner_all);  // seam-fsd wants it private
    config_.vault_root = (dir_.path() / "vault").string();
    config_.runtime_dir = (dir_.path() / "run").string();
    config_.split.fsd_socket = config_.runtime_dir + "/fsd.sock";
    config_.split.codec = GetParam().codec;
    config_.split.call_timeout_ms = 2000;
    config_.cache.coherence = GetParam().coherence;
    config_.watchdog.start_timeout_ms = 5000;
    fs::create_directories(config_.runtime_dir);
    fs::permissions(config_.runtime_dir, fs::perms::owner_all);
  }

  std::unique_ptr<ServiceManager> manager() {
    return std::make_unique<ServiceManager>(env_, ManagerOptions{.watchdog = config_.watchdog,
                                                                 .notifier = nullptr,
                                                                 .on_event = {},
                                                                 .exit_process = [](int) {}});
  }
  Status startOwner() {
    owner_ = manager();
    SEAMS_RETURN_IF_ERROR(owner_->add(std::make_unique<VaultService>(
        config_.vault_root, config_.allow_shared_vault_root, config_.cache, owner_deps_)));
    SEAMS_RETURN_IF_ERROR(owner_->add(
        std::make_unique<IpcServerService>(Served::vault, kStorageService, config_, owner_deps_)));
    return owner_->start();
  }
  Status startFrontend() {
    frontend_ = manager();
    SEAMS_RETURN_IF_ERROR(frontend_->add(std::make_unique<UpstreamService>(
        Served::vault, /*cached=*/true, config_, frontend_deps_, metrics_)));
    return frontend_->start();
  }
  ~DaemonServicesTest() override {
    if (frontend_) (void)frontend_->shutdown();
    if (owner_) (void)owner_->shutdown();
  }

  seams::testing::TempDir dir_;
  Config config_;
  SystemEnv env_;
  MetricsRegistry metrics_;
  Deps owner_deps_;
  Deps frontend_deps_;
  std::unique_ptr<ServiceManager> owner_;
  std::unique_ptr<ServiceManager> frontend_;
};

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

TEST_P(DaemonServicesTest, TheFrontendLinkFailsItsStartWhileTheOwnerIsNotThere) {
  Status s = startFrontend();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(frontend_deps_.get<Vault>(), nullptr);
}

TEST_P(DaemonServicesTest, TheFrontendServesTheOwnersVaultThroughItsCoherenceCache) {
  ASSERT_TRUE(startOwner().ok());
  struct stat st;
  ASSERT_EQ(::stat(config_.split.fsd_socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_TRUE(startFrontend().ok());

  std::shared_ptr<Vault> vault = frontend_deps_.get<Vault>();
  ASSERT_NE(vault, nullptr);
  auto* caching = dynamic_cast<CachingVault*>(vault.get());
  ASSERT_NE(caching, nullptr);
  EXPECT_EQ(caching->mode(), GetParam().coherence);

  ASSERT_TRUE(vault->put(P("/f.txt"), "through the socket").ok());
  EXPECT_EQ(vault->read(P("/f.txt"), 0, 100)->data, "through the socket");
  // A change at the owner itself (another frontend, or sync) is seen here: at once in off, after
  // the feed's hop in push. (ttl's bounded drift is coherence_test's business.)
  if (GetParam().coherence != Coherence::ttl) {
    // The frontend's feed tells when the change arrived (push: after the cache dropped it).
    std::mutex mutex;
    std::condition_variable cv;
    std::uint64_t heard = 0;
    auto sub = vault->subscribe([&](const ChangeEvent& e) {
      std::lock_guard lock(mutex);
      if (e.path == P("/f.txt")) heard = std::max(heard, e.version);
      cv.notify_all();
    });
    // The stubs send the subscription without waiting for it to be registered; a call on the same
    // connection answered after it proves it is (the owner serves one connection in order).
    ASSERT_TRUE(vault->stat(VaultPath::root()).ok());
    Result<FileAttr> changed = owner_deps_.get<Vault>()->put(P("/f.txt"), "changed at the owner");
    ASSERT_TRUE(changed.ok());
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(
          cv.wait_for(lock, std::chrono::seconds(10), [&] { return heard >= changed->version; }));
    }
    EXPECT_EQ(vault->read(P("/f.txt"), 0, 100)->data, "changed at the owner");
    sub.reset();
  }
}

TEST_P(DaemonServicesTest, TheOwnersSocketIsGoneAfterAnOrderlyStop) {
  ASSERT_TRUE(startOwner().ok());
  ASSERT_TRUE(owner_->shutdown().ok());
  owner_.reset();
  EXPECT_FALSE(fs::exists(config_.split.fsd_socket));
}

TEST_P(DaemonServicesTest, AStaleSocketFileIsReplacedAtStart) {
  // What a SIGKILLed seam-fsd leaves behind: a socket file nobody listens on.
  ASSERT_TRUE(startOwner().ok());
  ASSERT_TRUE(owner_->shutdown().ok());
  owner_.reset();
  {
    auto fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", config_.split.fsd_socket.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  ASSERT_TRUE(fs::exists(config_.split.fsd_socket));
  ASSERT_TRUE(startOwner().ok());
  ASSERT_TRUE(startFrontend().ok());
  EXPECT_TRUE(frontend_deps_.get<Vault>()->stat(VaultPath::root()).ok());
}

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  return std::string(codecName(info.param.codec)) + "_" +
         std::string(coherenceName(info.param.coherence));
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, DaemonServicesTest,
    ::testing::Values(Case{Codec::capnp, Coherence::off}, Case{Codec::capnp, Coherence::ttl},
                      Case{Codec::capnp, Coherence::push}, Case{Codec::protobuf, Coherence::off},
                      Case{Codec::protobuf,
                           Coherence::push} SEAMS_WITH_GRPC(Case{Codec::grpc, Coherence::push})),
    caseName);

}  // namespace
}  // namespace seams::split

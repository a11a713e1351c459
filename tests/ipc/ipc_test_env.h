// What the IPC tests share: real local objects (LocalVault over a temp dir, LocalAuth with three
// users) and, for each transport, a Vault stub and an Auth stub reaching them.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/auth/local_auth.h"
#include "core/cache/fs_cache.h"
#include "core/common/clock.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "ipc/grpc/grpc_client.h"
#include "ipc/grpc/grpc_server.h"
#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/capnp_server.h"
#include "tests/core/auth/auth_test_util.h"
#include "tests/core/storage/temp_dir.h"

namespace seams::testing {

enum class Transport {
  capnp_loopback,
  capnp_pair,
  capnp_socket,
  proto_loopback,
  proto_pair,
  proto_socket,
  grpc_loopback,
  grpc_pair,
  grpc_socket
};

inline std::string transportName(Transport t) {
  switch (t) {
    case Transport::capnp_loopback:
      return "CapnpLoopback";
    case Transport::capnp_pair:
      return "CapnpSocketPair";
    case Transport::capnp_socket:
      return "CapnpUnixSocket";
    case Transport::proto_loopback:
      return "ProtobufLoopback";
    case Transport::proto_pair:
      return "ProtobufSocketPair";
    case Transport::proto_socket:
      return "ProtobufUnixSocket";
    case Transport::grpc_loopback:
      return "GrpcLoopback";
    case Transport::grpc_pair:
      return "GrpcSocketPair";
    case Transport::grpc_socket:
      return "GrpcUnixSocket";
  }
  return "?";
}

inline bool isCapnp(Transport t) {
  return t == Transport::capnp_loopback || t == Transport::capnp_pair ||
         t == Transport::capnp_socket;
}

// The local objects: a vault over a temp dir and an auth with root (admins), alice (staff)
// and bob.
class LocalWorld {
 public:
  LocalWorld() {
    std::filesystem::create_directories(dir_.path() / "vault");
    auto storage = Storage::open((dir_.path() / "vault").string());
    if (!storage.ok()) throw std::runtime_error(storage.status().toString());
    storage_ = std::move(*storage);
    cache_ = std::make_unique<FsCache>(FsCache::Options{}, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);
    AuthConfig config;
    config.session_ttl_s = 600;
    auto auth = LocalAuth::create(
        {user("root", "r00t", {"admins"}, 0), user("alice", "wonderland", {"staff"}, 1000),
         user("bob", "builder", {}, 1001)},
        {allowGroup("admins", "/", kAllAccess), allowGroup("staff", "/docs", kRead | kList),
         allowUser("alice", "/docs/alice", kAllAccess)},
        config, clock_);
    if (!auth.ok()) throw std::runtime_error(auth.status().toString());
    auth_ = std::move(*auth);
  }

  LocalVault& vault() { return *vault_; }
  LocalAuth& auth() { return *auth_; }
  std::string runtimeDir() const { return (dir_.path() / "run").string(); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
  std::unique_ptr<LocalAuth> auth_;
};

// A connector that hands out one end of a socketpair whose other end a server adopted, once;
// later connects fail (a socketpair cannot be redialled).
class PairConnector {
 public:
  template <typename Server>
  static std::function<Result<ipc::UniqueFd>()> make(Server& server) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    if (!server.adopt(ipc::UniqueFd(fds[0])).ok()) std::abort();
    auto end = std::make_shared<ipc::UniqueFd>(fds[1]);
    return [end]() -> Result<ipc::UniqueFd> {
      if (!end->valid()) return Status(Errc::unavailable, "socketpair already used");
      return std::move(*end);
    };
  }
};

// Stubs for one transport over a LocalWorld.
class Stubs {
 public:
  Stubs(Transport t, LocalWorld& world,
        std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : transport_(t) {
    std::string vault_sock = world.runtimeDir() + "/fsd.sock";
    std::string auth_sock = world.runtimeDir() + "/authd.sock";
    switch (t) {
      case Transport::capnp_loopback:
        vault_ = std::make_unique<ipc::CapnpVaultClient>(world.vault());
        auth_ = std::make_unique<ipc::CapnpAuthClient>(world.auth());
        break;
      case Transport::capnp_pair:
      case Transport::capnp_socket: {
        bool pair = t == Transport::capnp_pair;
        capnp_vault_server_ =
            ipc::CapnpServer::serve(world.vault(), {pair ? "" : vault_sock}).value();
        capnp_auth_server_ = ipc::CapnpServer::serve(world.auth(), {pair ? "" : auth_sock}).value();
        ipc::ClientOptions vo{vault_sock, timeout};
        ipc::ClientOptions ao{auth_sock, timeout};
        if (pair) {
          vo.connector = PairConnector::make(*capnp_vault_server_);
          ao.connector = PairConnector::make(*capnp_auth_server_);
        }
        vault_ = std::make_unique<ipc::CapnpVaultClient>(vo);
        auth_ = std::make_unique<ipc::CapnpAuthClient>(ao);
        break;
      }
      case Transport::proto_loopback:
        vault_ = std::make_unique<ipc::ProtoVaultClient>(world.vault());
        auth_ = std::make_unique<ipc::ProtoAuthClient>(world.auth());
        break;
      case Transport::proto_pair:
      case Transport::proto_socket: {
        bool pair = t == Transport::proto_pair;
        proto_vault_server_ =
            ipc::ProtoServer::serve(&world.vault(), nullptr, {pair ? "" : vault_sock}).value();
        proto_auth_server_ =
            ipc::ProtoServer::serve(nullptr, &world.auth(), {pair ? "" : auth_sock}).value();
        ipc::ClientOptions vo{vault_sock, timeout};
        ipc::ClientOptions ao{auth_sock, timeout};
        if (pair) {
          vo.connector = PairConnector::make(*proto_vault_server_);
          ao.connector = PairConnector::make(*proto_auth_server_);
        }
        vault_ = std::make_unique<ipc::ProtoVaultClient>(vo);
        auth_ = std::make_unique<ipc::ProtoAuthClient>(ao);
        break;
      }
      case Transport::grpc_loopback:
        vault_ = std::make_unique<ipc::GrpcVaultClient>(world.vault());
        auth_ = std::make_unique<ipc::GrpcAuthClient>(world.auth());
        break;
      case Transport::grpc_pair:
      case Transport::grpc_socket: {
        bool pair = t == Transport::grpc_pair;
        grpc_vault_server_ =
            ipc::GrpcServer::serve(&world.vault(), nullptr, {pair ? "" : vault_sock}).value();
        grpc_auth_server_ =
            ipc::GrpcServer::serve(nullptr, &world.auth(), {pair ? "" : auth_sock}).value();
        ipc::ClientOptions vo{vault_sock, timeout};
        ipc::ClientOptions ao{auth_sock, timeout};
        if (pair) {
          vo.connector = PairConnector::make(*grpc_vault_server_);
          ao.connector = PairConnector::make(*grpc_auth_server_);
        }
        vault_ = std::make_unique<ipc::GrpcVaultClient>(vo);
        auth_ = std::make_unique<ipc::GrpcAuthClient>(ao);
        break;
      }
    }
  }

  ~Stubs() {
    // Stubs before servers: a stub's connection must not outlive the loop it talks to.
    vault_.reset();
    auth_.reset();
  }

  Vault& vault() { return *vault_; }
  Auth& auth() { return *auth_; }
  std::uint64_t vaultRoundTrips() const {
    if (auto* c = dynamic_cast<ipc::CapnpVaultClient*>(vault_.get())) return c->roundTrips();
    if (auto* g = dynamic_cast<ipc::GrpcVaultClient*>(vault_.get())) return g->roundTrips();
    return dynamic_cast<ipc::ProtoVaultClient*>(vault_.get())->roundTrips();
  }
  std::uint64_t authRoundTrips() const {
    if (auto* c = dynamic_cast<ipc::CapnpAuthClient*>(auth_.get())) return c->roundTrips();
    if (auto* g = dynamic_cast<ipc::GrpcAuthClient*>(auth_.get())) return g->roundTrips();
    return dynamic_cast<ipc::ProtoAuthClient*>(auth_.get())->roundTrips();
  }

 private:
  Transport transport_;
  std::unique_ptr<ipc::CapnpServer> capnp_vault_server_, capnp_auth_server_;
  std::unique_ptr<ipc::ProtoServer> proto_vault_server_, proto_auth_server_;
  std::unique_ptr<ipc::GrpcServer> grpc_vault_server_, grpc_auth_server_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<Auth> auth_;
};

// Collects events from a listener thread; waits (bounded) for a condition on them.
template <typename Event>
class EventLog {
 public:
  void add(const Event& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits until pred(events) holds; false after a generous bound (a real socket is involved).
  bool waitFor(const std::function<bool(const std::vector<Event>&)>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return pred(events_); });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

}  // namespace seams::testing

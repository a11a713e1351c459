#include "split/daemons/ipc_server_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "core/auth/auth.h"
#include "core/common/stale_socket.h"
#include "core/services/supervised_loop.h"
#include "core/vault/vault.h"
#include "ipc/grpc/grpc_server.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_server.h"

namespace seams::split {
namespace {

// A socket file left by a killed predecessor is removed, and said so; a live one (another
// deployment's) is an error; anything else at the path is left for bind to report.
Status clearSocket(const std::string& service, const std::string& path) {
  Result<bool> stale = removeStaleSocket(path);
  if (!stale.ok()) {
    return stale.code() == Errc::conflict ? stale.status() : okStatus();
  }
  if (*stale)
    spdlog::warn("{}: removed a stale socket at {} (left by a process that died)", service, path);
  return okStatus();
}

}  // namespace

Status IpcServerService::run(RunContext& ctx) {
  const bool vault = what_ == Served::vault;
  const std::string& socket = vault ? config_.split.fsd_socket : config_.split.authd_socket;
  std::vector<HeldDependency> held;
  std::shared_ptr<Vault> local_vault;
  std::shared_ptr<Auth> local_auth;
  if (vault) {
    held.push_back(holdDependency<Vault>(deps_, "the vault"));
    local_vault = deps_.get<Vault>();
    if (!local_vault) return Status(Errc::unavailable, "vault not published");
  } else {
    held.push_back(holdDependency<Auth>(deps_, "auth"));
    local_auth = deps_.get<Auth>();
    if (!local_auth) return Status(Errc::unavailable, "auth not published");
  }

  SEAMS_RETURN_IF_ERROR(clearSocket(name(), socket));
  // Declared after the objects they serve, so they stop (joining their threads) before those
  // are released.
  std::unique_ptr<ipc::CapnpServer> capnp;
  std::unique_ptr<ipc::ProtoServer> proto;
  std::unique_ptr<ipc::GrpcServer> grpc;
  if (config_.split.codec == Codec::grpc) {
    auto server =
        ipc::GrpcServer::serve(local_vault.get(), local_auth.get(), {.socket_path = socket});
    if (!server.ok()) return server.status();
    grpc = std::move(*server);
  } else if (config_.split.codec == Codec::capnp) {
    auto server = vault ? ipc::CapnpServer::serve(*local_vault, {.socket_path = socket})
                        : ipc::CapnpServer::serve(*local_auth, {.socket_path = socket});
    if (!server.ok()) return server.status();
    capnp = std::move(*server);
  } else {
    auto server =
        ipc::ProtoServer::serve(local_vault.get(), local_auth.get(), {.socket_path = socket});
    if (!server.ok()) return server.status();
    proto = std::move(*server);
  }
  struct Cleanup {
    std::unique_ptr<ipc::CapnpServer>& capnp;
    std::unique_ptr<ipc::ProtoServer>& proto;
    std::unique_ptr<ipc::GrpcServer>& grpc;
    const std::string& socket;
    ~Cleanup() {
      capnp.reset();
      proto.reset();
      grpc.reset();
      (void)removeStaleSocket(socket);  // ours: the servers are gone, nobody listens now
    }
  } cleanup{capnp, proto, grpc, socket};
  spdlog::info("{}: serving {} over {} ({})", name(), vault ? "the vault" : "auth", socket,
               codecName(config_.split.codec));
  ctx.ready();
  return superviseUntilStopped(ctx, std::chrono::milliseconds(100), held,
                               []() -> Result<Liveness> { return Liveness::alive; });
}

}  // namespace seams::split

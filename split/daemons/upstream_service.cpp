#include "split/daemons/upstream_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <memory>

#include "core/coherence/caching_auth.h"
#include "core/coherence/caching_vault.h"
#include "core/runtime/service_names.h"
#include "ipc/grpc/grpc_client.h"
#include "ipc/proto/proto_client.h"
#include "ipc/rpc/capnp_client.h"

namespace seams::split {
namespace {

// A stub and how to read its round-trip count (not part of the Vault/Auth interfaces).
template <typename T>
struct Stub {
  std::shared_ptr<T> object;
  std::function<std::uint64_t()> round_trips;
};

template <typename T, typename CapnpT, typename ProtoT, typename GrpcT>
Stub<T> makeStub(const Config& config, const std::string& socket) {
  const auto timeout = std::chrono::milliseconds(config.split.call_timeout_ms);
  if (config.split.codec == Codec::grpc) {
    auto stub = std::make_shared<GrpcT>(
        ipc::GrpcClientOptions{.socket_path = socket, .call_timeout = timeout});
    return {stub, [stub = stub.get()] { return stub->roundTrips(); }};
  }
  if (config.split.codec == Codec::capnp) {
    auto stub = std::make_shared<CapnpT>(
        ipc::CapnpClientOptions{.socket_path = socket, .call_timeout = timeout});
    return {stub, [stub = stub.get()] { return stub->roundTrips(); }};
  }
  auto stub = std::make_shared<ProtoT>(
      ipc::ProtoClientOptions{.socket_path = socket, .call_timeout = timeout});
  return {stub, [stub = stub.get()] { return stub->roundTrips(); }};
}

}  // namespace

Status UpstreamService::run(RunContext& ctx) {
  const bool vault = what_ == Served::vault;
  const std::string owner = vault ? kFsdDaemon : kAuthdDaemon;
  const std::string& socket = vault ? config_.split.fsd_socket : config_.split.authd_socket;
  Gauge& round_trips =
      metrics_.gauge("seams_ipc_round_trips", "IPC calls this daemon made to an owner (stub count)",
                     {{"owner", owner}});
  Gauge& upstream_calls = metrics_.gauge(
      "seams_frontend_cache_upstream_calls",
      "Calls the frontend cache passed upstream (misses and mutations)", {{"owner", owner}});

  std::function<std::uint64_t()> stub_round_trips;
  std::function<std::uint64_t()> cache_upstream_calls = [] { return std::uint64_t{0}; };
  if (vault) {
    Stub<Vault> stub =
        makeStub<Vault, ipc::CapnpVaultClient, ipc::ProtoVaultClient, ipc::GrpcVaultClient>(config_,
                                                                                            socket);
    if (Result<FileAttr> root = stub.object->stat(VaultPath::root()); !root.ok()) {
      return Status(Errc::unavailable, "seam-fsd at " + socket + ": " + root.status().toString());
    }
    std::shared_ptr<Vault> published = stub.object;
    if (cached_) {
      auto cache = std::make_shared<CachingVault>(stub.object, coherenceOptionsFrom(config_.cache),
                                                  ctx.clock());
      cache_upstream_calls = [c = cache.get()] { return c->upstreamCalls(); };
      if (cache->cache() != nullptr) {
        deps_.publish<const FsCache>(std::shared_ptr<const FsCache>(cache, cache->cache()),
                                     kFrontendCacheRole);
      }
      published = cache;
    }
    stub_round_trips = stub.round_trips;
    deps_.publish<Vault>(published);
  } else {
    Stub<Auth> stub =
        makeStub<Auth, ipc::CapnpAuthClient, ipc::ProtoAuthClient, ipc::GrpcAuthClient>(config_,
                                                                                        socket);
    if (auto rules = stub.object->rules(); !rules.ok()) {
      return Status(Errc::unavailable,
                    "seam-authd at " + socket + ": " + rules.status().toString());
    }
    std::shared_ptr<Auth> published = stub.object;
    if (cached_) {
      auto cache = std::make_shared<CachingAuth>(
          stub.object,
          AuthCacheOptions{config_.cache.coherence, std::chrono::milliseconds(config_.cache.ttl_ms),
                           static_cast<std::size_t>(config_.auth.decision_cache_entries)},
          ctx.clock());
      cache_upstream_calls = [c = cache.get()] { return c->upstreamCalls(); };
      published = cache;
    }
    stub_round_trips = stub.round_trips;
    deps_.publish<Auth>(published);
  }
  spdlog::info("{}: connected to seam-{} at {} ({}, coherence {})", name(), owner, socket,
               codecName(config_.split.codec),
               cached_ ? coherenceName(config_.cache.coherence) : "none");
  ctx.ready();
  do {
    round_trips.set(static_cast<double>(stub_round_trips()));
    upstream_calls.set(static_cast<double>(cache_upstream_calls()));
    ctx.heartbeat();
  } while (!ctx.waitForStop(std::chrono::milliseconds(100)));
  // Frontends holding the objects keep them alive until they let go (Deps hands out shared_ptrs).
  if (vault) {
    deps_.withdraw<const FsCache>(kFrontendCacheRole);
    deps_.withdraw<Vault>();
  } else {
    deps_.withdraw<Auth>();
  }
  return okStatus();
}

}  // namespace seams::split

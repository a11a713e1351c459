#include "ipc/factory/factory.h"

#include <utility>

#include "ipc/grpc/grpc_client.h"
#include "ipc/grpc/grpc_server.h"
#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/capnp_server.h"

namespace seams::ipc {
namespace {

// What the factory needs of a codec: its stub classes and how it serves.
struct CapnpKind {
  using VaultClient = CapnpVaultClient;
  using AuthClient = CapnpAuthClient;
  static Result<std::unique_ptr<Server>> serve(Vault* vault, Auth* auth, ServerOptions options) {
    if (vault != nullptr && auth != nullptr) {
      return Status(Errc::invalid_argument,
                    "serve: Cap'n Proto serves one object per socket (vault or auth)");
    }
    auto server = vault != nullptr ? CapnpServer::serve(*vault, std::move(options))
                                   : CapnpServer::serve(*auth, std::move(options));
    if (!server.ok()) return server.status();
    return std::unique_ptr<Server>(std::move(*server));
  }
};

struct ProtoKind {
  using VaultClient = ProtoVaultClient;
  using AuthClient = ProtoAuthClient;
  static Result<std::unique_ptr<Server>> serve(Vault* vault, Auth* auth, ServerOptions options) {
    auto server = ProtoServer::serve(vault, auth, std::move(options));
    if (!server.ok()) return server.status();
    return std::unique_ptr<Server>(std::move(*server));
  }
};

struct GrpcKind {
  using VaultClient = GrpcVaultClient;
  using AuthClient = GrpcAuthClient;
  static Result<std::unique_ptr<Server>> serve(Vault* vault, Auth* auth, ServerOptions options) {
    auto server = GrpcServer::serve(vault, auth, std::move(options));
    if (!server.ok()) return server.status();
    return std::unique_ptr<Server>(std::move(*server));
  }
};

// Calls fn(Kind{}) with the codec's kind: the one switch over the codecs (no default, so a new
// Codec value without its case is a compiler warning here).
template <typename Fn>
auto withCodec(Codec codec, Fn&& fn) {
  switch (codec) {
    case Codec::capnp:
      return fn(CapnpKind{});
    case Codec::protobuf:
      return fn(ProtoKind{});
    case Codec::grpc:
      return fn(GrpcKind{});
  }
  return fn(CapnpKind{});  // not reached: Codec values come from the config's parser
}

template <typename T, typename Stub>
ClientStub<T> wrap(std::shared_ptr<Stub> stub) {
  std::weak_ptr<Stub> weak = stub;
  return {std::move(stub), [weak] {
            auto s = weak.lock();
            return s ? s->roundTrips() : std::uint64_t{0};
          }};
}

}  // namespace

ClientStub<Vault> makeVaultClient(Codec codec, ClientOptions options) {
  return withCodec(codec, [&]<typename K>(K) {
    return wrap<Vault>(std::make_shared<typename K::VaultClient>(std::move(options)));
  });
}

ClientStub<Auth> makeAuthClient(Codec codec, ClientOptions options) {
  return withCodec(codec, [&]<typename K>(K) {
    return wrap<Auth>(std::make_shared<typename K::AuthClient>(std::move(options)));
  });
}

ClientStub<Vault> makeLoopbackVaultClient(Codec codec, Vault& local) {
  return withCodec(codec, [&]<typename K>(K) {
    return wrap<Vault>(std::make_shared<typename K::VaultClient>(local));
  });
}

ClientStub<Auth> makeLoopbackAuthClient(Codec codec, Auth& local) {
  return withCodec(codec, [&]<typename K>(K) {
    return wrap<Auth>(std::make_shared<typename K::AuthClient>(local));
  });
}

Result<std::unique_ptr<Server>> serve(Codec codec, Vault* vault, Auth* auth,
                                      ServerOptions options) {
  if (vault == nullptr && auth == nullptr) {
    return Status(Errc::invalid_argument, "serve: neither a vault nor auth to serve");
  }
  return withCodec(codec, [&]<typename K>(K) { return K::serve(vault, auth, std::move(options)); });
}

}  // namespace seams::ipc

#include "ipc/factory/factory.h"

#include <utility>

#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/capnp_server.h"

namespace seams::ipc {
namespace {

template <typename T, typename Stub>
ClientStub<T> wrap(std::shared_ptr<Stub> stub) {
  std::weak_ptr<Stub> weak = stub;
  return {std::move(stub), [weak] {
            auto s = weak.lock();
            return s ? s->roundTrips() : std::uint64_t{0};
          }};
}

template <typename T>
Result<std::unique_ptr<Server>> upcast(Result<T> server) {
  if (!server.ok()) return server.status();
  return std::unique_ptr<Server>(std::move(*server));
}

}  // namespace

ClientStub<Vault> makeVaultClient(Codec codec, ClientOptions options) {
  switch (codec) {
    case Codec::capnp:
      return wrap<Vault>(std::make_shared<CapnpVaultClient>(std::move(options)));
    case Codec::protobuf:
      return wrap<Vault>(std::make_shared<ProtoVaultClient>(std::move(options)));
  }
  return wrap<Vault>(std::make_shared<CapnpVaultClient>(std::move(options)));  // not reached
}

ClientStub<Auth> makeAuthClient(Codec codec, ClientOptions options) {
  switch (codec) {
    case Codec::capnp:
      return wrap<Auth>(std::make_shared<CapnpAuthClient>(std::move(options)));
    case Codec::protobuf:
      return wrap<Auth>(std::make_shared<ProtoAuthClient>(std::move(options)));
  }
  return wrap<Auth>(std::make_shared<CapnpAuthClient>(std::move(options)));  // not reached
}

ClientStub<Vault> makeLoopbackVaultClient(Codec codec, Vault& local) {
  switch (codec) {
    case Codec::capnp:
      return wrap<Vault>(std::make_shared<CapnpVaultClient>(local));
    case Codec::protobuf:
      return wrap<Vault>(std::make_shared<ProtoVaultClient>(local));
  }
  return wrap<Vault>(std::make_shared<CapnpVaultClient>(local));  // not reached
}

ClientStub<Auth> makeLoopbackAuthClient(Codec codec, Auth& local) {
  switch (codec) {
    case Codec::capnp:
      return wrap<Auth>(std::make_shared<CapnpAuthClient>(local));
    case Codec::protobuf:
      return wrap<Auth>(std::make_shared<ProtoAuthClient>(local));
  }
  return wrap<Auth>(std::make_shared<CapnpAuthClient>(local));  // not reached
}

Result<std::unique_ptr<Server>> serve(Codec codec, Vault* vault, Auth* auth,
                                      ServerOptions options) {
  if (vault == nullptr && auth == nullptr) {
    return Status(Errc::invalid_argument, "serve: neither a vault nor auth to serve");
  }
  switch (codec) {
    case Codec::capnp:
      if (vault != nullptr && auth != nullptr) {
        return Status(Errc::invalid_argument,
                      "serve: Cap'n Proto serves one object per socket (vault or auth)");
      }
      return vault != nullptr ? upcast(CapnpServer::serve(*vault, std::move(options)))
                              : upcast(CapnpServer::serve(*auth, std::move(options)));
    case Codec::protobuf:
      return upcast(ProtoServer::serve(vault, auth, std::move(options)));
  }
  return Status(Errc::invalid_argument, "serve: unknown codec");
}

}  // namespace seams::ipc

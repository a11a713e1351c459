// ipc_test_peer CODEC SOCKET ROOT: a separate process serving a LocalVault over ROOT on SOCKET
// with CODEC (capnp | protobuf | grpc), so tests can kill -9 a real peer. Prints "ready" once
// serving, and "hanging" when a stat of /hang arrives (that call never returns).
//
// ipc_test_peer client-capnp|client-protobuf|client-grpc SOCKET COUNT [HANDLE]: a client instead,
// so tests can kill -9 a client with handles open: opens /docs/a.txt COUNT times for reading
// through a stub, prints "opened COUNT" (or the error), and waits to be killed. With HANDLE
// (another process's id), it then tries readHandle and release on it and prints "tried E1 E2"
// (their errnos, 0 for success), so tests can see what a different client process gets.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

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
#include "tests/support/interposed_vault.h"

namespace {

// Forwards to a real vault, except that stat("/hang") blocks for good.
class HangingVault final : public seams::testing::InterposedVault {
 public:
  using InterposedVault::InterposedVault;

 protected:
  seams::Status before(std::string_view call, const seams::VaultPath* path) override {
    if (call == "stat" && path->str() == "/hang") {
      std::puts("hanging");
      std::fflush(stdout);
      for (;;) ::pause();
    }
    return seams::okStatus();
  }
};

int runClient(const std::string& mode, const std::string& socket, int count,
              const char* try_handle) {
  std::unique_ptr<seams::Vault> stub;
  if (mode == "client-capnp") {
    stub = std::make_unique<seams::ipc::CapnpVaultClient>(seams::ipc::ClientOptions{socket});
  } else if (mode == "client-grpc") {
    stub = std::make_unique<seams::ipc::GrpcVaultClient>(seams::ipc::ClientOptions{socket});
  } else {
    stub = std::make_unique<seams::ipc::ProtoVaultClient>(seams::ipc::ClientOptions{socket});
  }
  auto file = seams::VaultPath::parse("/docs/a.txt").value();
  for (int i = 0; i < count; ++i) {
    auto opened = stub->open(file, seams::OpenMode::kRead);
    if (!opened.ok()) {
      std::printf("open failed: %s\n", opened.status().toString().c_str());
      std::fflush(stdout);
      return 5;
    }
  }
  std::printf("opened %d\n", count);
  std::fflush(stdout);
  if (try_handle != nullptr) {
    auto h = static_cast<seams::HandleId>(std::strtoull(try_handle, nullptr, 10));
    auto read = stub->readHandle(h, 0, 5);
    auto released = stub->release(h);
    std::printf("tried %d %d\n", read.ok() ? 0 : seams::toErrno(read.status().code()),
                released.ok() ? 0 : seams::toErrno(released.code()));
    std::fflush(stdout);
  }
  for (;;) ::pause();  // until killed, handles open
}

}  // namespace

int main(int argc, char** argv) {
  std::string codec = argc > 1 ? argv[1] : "";
  bool client = codec.rfind("client-", 0) == 0;
  if (argc != 4 && !(client && argc == 5)) {
    std::fprintf(stderr, "usage: %s capnp|protobuf|grpc SOCKET ROOT\n", argv[0]);
    std::fprintf(stderr,
                 "       %s client-capnp|client-protobuf|client-grpc SOCKET COUNT [HANDLE]\n",
                 argv[0]);
    return 2;
  }
  if (client) return runClient(codec, argv[2], std::atoi(argv[3]), argc == 5 ? argv[4] : nullptr);
  std::filesystem::create_directories(argv[3]);
  auto storage = seams::Storage::open(argv[3]);
  if (!storage.ok()) return 3;
  seams::SystemClock clock;
  seams::FsCache cache(seams::FsCache::Options{}, clock);
  seams::LocalVault local(**storage, cache);
  HangingVault vault(local);
  std::unique_ptr<seams::ipc::CapnpServer> capnp_server;
  std::unique_ptr<seams::ipc::ProtoServer> proto_server;
  std::unique_ptr<seams::ipc::GrpcServer> grpc_server;
  if (codec == "grpc") {
    auto s = seams::ipc::GrpcServer::serve(&vault, nullptr, {argv[2]});
    if (!s.ok()) return 4;
    grpc_server = std::move(*s);
  } else if (codec == "capnp") {
    auto s = seams::ipc::CapnpServer::serve(vault, {argv[2]});
    if (!s.ok()) return 4;
    capnp_server = std::move(*s);
  } else {
    auto s = seams::ipc::ProtoServer::serve(&vault, nullptr, {argv[2]});
    if (!s.ok()) return 4;
    proto_server = std::move(*s);
  }
  std::puts("ready");
  std::fflush(stdout);
  for (;;) ::pause();  // until killed
}

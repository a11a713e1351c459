// gRPC client stubs: the Vault and Auth interfaces as calls of seams_grpc.proto's services over a
// UNIX socket (or, in loopback mode, through gRPC's in-process transport).
//
// Connection: the stub connects the socket itself (connectUnix, then checkServerPeer: the
// server must be ours or root's), reads the server's connection cookie (grpc_server.h) and gives
// the fd to gRPC (grpc::CreateCustomInsecureChannelFromFd). gRPC's own `unix:` dialling is not
// used: it would neither check the server's uid nor let the server tie calls to a client process,
// and its reconnect has its own timing; here the stub redials with the runtime's backoff.
// One connection (one channel, HTTP/2 multiplexing many calls at once) per stub, kept while the
// stub lives; calls and feeds share it.
//
// Threading: any thread may call; a call blocks its thread in gRPC's synchronous API (the
// calling thread drives the completion queue: no hand-off on the client side). Each feed has a
// thread of its own reading its server stream; listeners run on it.
//
// Handles: the server ties handles to the client process across its connections
// (ipc/net/connection_vault.h); the stub's one connection stays up while it lives, so its
// handles do too. If the connection is lost and no other of the process is open, the old ids
// answer bad_handle. In loopback the stub is one client of its own.
//
// Failure semantics (as the other codecs, ipc/README.md): every call answers within
// `call_timeout` (a gRPC deadline); a dead or unresponsive peer is Errc::unavailable, a method
// the server does not have (UNIMPLEMENTED) is not_supported, and a call's own failure crosses as
// its Errc and message; after a loss the next call redials at once, then at most once per
// backoff interval (failing fast meanwhile); a feed re-subscribes by itself and then delivers
// the resync events.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/auth/auth.h"
#include "core/vault/vault.h"
#include "ipc/net/unix_socket.h"
#include "ipc/transport/client_options.h"

namespace seams::ipc {

class GrpcLink;

class GrpcVaultClient final : public Vault {
 public:
  explicit GrpcVaultClient(ClientOptions options);
  // Loopback: an in-process gRPC server over `local`. REQUIRES: `local` outlives this stub.
  explicit GrpcVaultClient(Vault& local);
  ~GrpcVaultClient() override;

  Result<FileAttr> stat(const VaultPath& path) override;
  Result<std::vector<DirEntry>> list(const VaultPath& path) override;
  Result<ReadResult> read(const VaultPath& path, std::uint64_t offset,
                          std::uint64_t length) override;
  Result<FileAttr> write(const VaultPath& path, std::uint64_t offset,
                         std::string_view data) override;
  Result<FileAttr> put(const VaultPath& path, std::string_view data) override;
  Result<FileAttr> create(const VaultPath& path, std::uint32_t mode) override;
  Result<FileAttr> mkdir(const VaultPath& path, std::uint32_t mode) override;
  Status unlink(const VaultPath& path) override;
  Status rmdir(const VaultPath& path) override;
  Result<FileAttr> rename(const VaultPath& from, const VaultPath& to) override;
  Result<FileAttr> truncate(const VaultPath& path, std::uint64_t size) override;
  Result<FileAttr> setAttributes(const VaultPath& path, const AttrChange& change) override;
  Status fsync(const VaultPath& path) override;
  Result<OpenedFile> open(const VaultPath& path, std::uint32_t mode) override;
  Result<ReadResult> readHandle(HandleId handle, std::uint64_t offset,
                                std::uint64_t length) override;
  Result<FileAttr> writeHandle(HandleId handle, std::uint64_t offset,
                               std::string_view data) override;
  Result<FileAttr> statHandle(HandleId handle) override;
  Result<FileAttr> truncateHandle(HandleId handle, std::uint64_t size) override;
  Status fsyncHandle(HandleId handle) override;
  Status release(HandleId handle) override;
  Status reconcile(const VaultPath& path) override;
  Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) override;
  // REQUIRES: the Subscription is destroyed before the stub, and not from inside a listener.
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

  std::uint64_t roundTrips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<GrpcLink> link_;
  std::atomic<std::uint64_t> round_trips_{0};
};

class GrpcAuthClient final : public Auth {
 public:
  explicit GrpcAuthClient(ClientOptions options);
  explicit GrpcAuthClient(Auth& local);
  ~GrpcAuthClient() override;

  Result<Session> login(std::string_view user, std::string_view password) override;
  Status logout(std::string_view token) override;
  Result<Principal> validate(std::string_view token) override;
  Status check(const Principal& who, const VaultPath& path, Access access) override;
  Result<Principal> authorize(std::string_view token, const VaultPath& path,
                              Access access) override;
  Result<Principal> principalForUid(std::uint32_t uid) override;
  Status grant(const Principal& admin, const Rule& rule) override;
  Status revoke(const Principal& admin, const Rule& rule) override;
  Result<std::vector<Rule>> rules() override;
  std::unique_ptr<Subscription> subscribe(AuthListener listener) override;

  std::uint64_t roundTrips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<GrpcLink> link_;
  std::atomic<std::uint64_t> round_trips_{0};
};

}  // namespace seams::ipc

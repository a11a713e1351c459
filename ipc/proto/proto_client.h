// Protobuf client stubs: the Vault and Auth interfaces as length-delimited protobuf frames over a
// UNIX socket (or, in loopback mode, through the same codec without a socket).
//
// Threading: any thread may call. By default each calling thread gets its own blocking
// connection per stub (made on its first call, closed when the thread ends or the stub is
// destroyed): the caller writes its request frame and reads the answer itself, with no hand-off.
// Feeds use a separate connection owned by the stub's I/O thread, which makes (and remakes) it
// and delivers the events; listeners run on it. With a `connector` or `per_thread_connections`
// off, calls share that connection instead: a caller writes its frame under a write lock and
// sleeps until the I/O thread hands it the response with its request id (many calls in flight
// at once). Loopback mode has no thread: the request is serialised, parsed, answered, and the
// response serialised and parsed, on the calling thread.
//
// Handles (Vault::open and the calls by handle): the server ties a handle to the client process
// that opened it, across all its connections (ipc/net/connection_vault.h), so the calls by
// handle go like path calls, on the calling thread's connection, whichever thread opened it.
// open() alone goes on the stub's one shared connection (the I/O thread's): that connection
// stays up while the stub lives, so the client keeps a connection -- and its handles -- while
// the threads that opened them (and their connections) come and go. The server releases a
// client's handles when its last connection closes (its process died, or every stub went);
// if the shared connection is lost while no other is open, the old ids answer bad_handle.
// In loopback the stub is one client of its own (the same ConnectionVault a server puts in
// front of the vault).
//
// Failure semantics (as the capnp stubs, capnp_client.h): every call answers within
// `call_timeout`, a dead or unresponsive peer is Errc::unavailable; reconnects at most once per
// backoff interval, and by itself while a feed is subscribed; the same resync events after a
// reconnect; a malformed or oversized frame from the server closes the connection with a logged
// reason (the calls in flight on it answer unavailable).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/auth/auth.h"
#include "core/vault/vault.h"
#include "ipc/transport/client_options.h"

namespace seams::ipc {

class ProtoChannel;

class ProtoVaultClient final : public Vault {
 public:
  explicit ProtoVaultClient(ClientOptions options);
  // Loopback. REQUIRES: `local` outlives this stub.
  explicit ProtoVaultClient(Vault& local);
  ~ProtoVaultClient() override;

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

  // open() goes on the stub's shared connection, the rest per thread (see Handles above).
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

  // stat() of every path with all requests in flight at once (one round trip of latency, one
  // counted round trip), for the bench's pipelined-vs-sequential comparison.
  std::vector<Result<FileAttr>> statMany(const std::vector<VaultPath>& paths);

  std::uint64_t roundTrips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<ProtoChannel> channel_;
  std::atomic<std::uint64_t> round_trips_{0};
};

class ProtoAuthClient final : public Auth {
 public:
  explicit ProtoAuthClient(ClientOptions options);
  explicit ProtoAuthClient(Auth& local);
  ~ProtoAuthClient() override;

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
  std::unique_ptr<ProtoChannel> channel_;
  std::atomic<std::uint64_t> round_trips_{0};
};

}  // namespace seams::ipc

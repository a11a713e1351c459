// Cap'n Proto client stubs: the Vault and Auth interfaces over a UNIX socket (or, in loopback
// mode, through the same codec without a socket), so a frontend cannot tell a stub from the
// local object.
//
// Threading (measured in seam-micro, threads/capnp/*; see ipc/README.md): any thread may call.
// By default each calling thread gets its own connection to the peer, driven by a KJ event loop
// that belongs to that thread (one per thread, shared by all stubs it calls; made on its first
// call, destroyed when the thread ends), so a call is a write and a blocking read on the
// caller's thread. Feeds -- and calls when `per_thread_connections` is off, when a `connector`
// is given, or from a thread that already runs a KJ loop of its own -- go through the stub's own
// KJ event-loop thread holding one shared connection (calls hop to it and back). Loopback mode
// has no loop at all: the call is encoded, serialised to bytes, decoded and served on the
// calling thread. A thread that has called a capnp stub cannot set up another KJ event loop
// (e.g. a ControlClient) while it lives; turn `per_thread_connections` off for such threads'
// stubs.
//
// Failure semantics: a call answers within `call_timeout` (never hangs): a dead or unresponsive
// peer turns it into Errc::unavailable. The connection is made lazily and remade after a
// failure, at most once per backoff interval (doubling from backoff_initial to backoff_max);
// while a feed is subscribed the stub reconnects by itself. Errors from the server keep their
// Errc across the wire.
//
// Feeds across a reconnect: events raised while disconnected are lost, so after re-subscribing
// the stub delivers one "resync" event meaning "assume everything changed":
//   Vault: ChangeEvent{kind = modified, path = old_path = "/", version = 0}
//   Auth:  AuthEvent{kind = rules_changed} and AuthEvent{kind = session_ended, token_id = ""}
//
// Handles (Vault::open and the calls by handle): the server ties a handle to the client process
// that opened it, across all its connections (ipc/net/connection_vault.h), so the calls by
// handle go like path calls, on the calling thread's connection, whichever thread opened it.
// open() alone goes on the stub's one shared connection (through its loop thread): that connection
// stays up while the stub lives, so the client keeps a connection -- and its handles -- while
// the threads that opened them (and their connections) come and go. The server releases a
// client's handles when its last connection closes (its process died, or every stub went);
// if the shared connection is lost while no other is open, the old ids answer bad_handle.
// In loopback the stub is one client of its own (the same ConnectionVault a server puts in
// front of the vault).
//
// Round trips: roundTrips() counts calls that crossed (or, in loopback, would have crossed) the
// boundary; authorize() and authorizePipelined() cost one each.
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
#include "ipc/net/connection_vault.h"
#include "ipc/transport/client_options.h"
#include "ipc/transport/loopback.h"

namespace seams::ipc {

class CapnpChannel;

class CapnpVaultClient final : public Vault {
 public:
  explicit CapnpVaultClient(ClientOptions options);
  // Loopback. REQUIRES: `local` outlives this stub.
  explicit CapnpVaultClient(Vault& local);
  ~CapnpVaultClient() override;

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
  // The listener runs on the stub's loop thread (the local object's thread in loopback).
  // REQUIRES: the Subscription is destroyed before the stub, and not from inside a listener.
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

  // stat() of every path with all requests in flight at once (one round trip of latency, one
  // counted round trip), for the bench's pipelined-vs-sequential comparison.
  std::vector<Result<FileAttr>> statMany(const std::vector<VaultPath>& paths);

  std::uint64_t roundTrips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<CapnpChannel> channel_;   // socket mode
  std::unique_ptr<LoopbackPeer> loopback_;  // loopback mode; local_ = its vault
  Vault* local_ = nullptr;                  // loopback mode
  std::size_t max_message_bytes_ = 96u << 20;
  std::atomic<std::uint64_t> round_trips_{0};
};

class CapnpAuthClient final : public Auth {
 public:
  explicit CapnpAuthClient(ClientOptions options);
  explicit CapnpAuthClient(Auth& local);
  ~CapnpAuthClient() override;

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

  // validate-then-check as a promise-pipelined chain: session(token).check(path, access) is sent
  // before session() answers, so it costs one round trip like authorize(). Socket mode only
  // (loopback answers with authorize()).
  Result<Principal> authorizePipelined(std::string_view token, const VaultPath& path,
                                       Access access);

  std::uint64_t roundTrips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<CapnpChannel> channel_;
  Auth* local_ = nullptr;
  std::size_t max_message_bytes_ = 96u << 20;
  std::atomic<std::uint64_t> round_trips_{0};
};

}  // namespace seams::ipc

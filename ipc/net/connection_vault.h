// ConnectionVault: the Vault as one client connection of a server adapter sees it, and
// ClientHandles / ClientRegistry: the handles each client *process* holds at that server.
//
// Vault's handle contract over IPC (core/vault/vault.h): a handle belongs to the client process
// that opened it, across all its connections (the stubs call on one connection per calling
// thread, and a FUSE daemon's worker threads share its handles); another client's ids are
// bad_handle; the server releases every handle a client still holds when that client's last
// connection closes; a per-client bound answers too_many_open. The served vault's handle ids
// are global to it, so a server keeps one ClientRegistry, and each connection's ConnectionVault
// joins the ClientHandles of its peer (SO_PEERCRED pid of the accepted socket):
//
// - open() that succeeds records the id in the client's table; a handle call naming an id the
//   client did not open (or already released) is bad_handle without reaching the vault;
// - at `max_open` handles held by the client, open() is too_many_open without reaching the vault;
// - release() forgets the id before releasing it, so it is released at most once;
// - the table is shared (refcounted) by the client's connections; when the last one closes
//   (cleanly, or because the process died, which closes them all) the table's destructor
//   releases every id still held.
//
// Path calls and subscribe() are forwarded unchanged.
//
// Thread-safety: every method from any thread (a client's connections are served on different
// threads; the table has its own mutex, never held across a call into the vault).
// REQUIRES: `inner` outlives the registry, every table and every ConnectionVault.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/common/thread_annotations.h"
#include "core/vault/vault.h"

namespace seams::ipc {

// Handles one client process may hold at once, unless the server's options say otherwise.
// Above any sane frontend's need (the FUSE frontend holds one per open file descriptor of its
// users), far below the owner's fd limit.
inline constexpr std::size_t kDefaultMaxOpenHandles = 4096;

// The handles one client holds at a server. Its destructor releases every one still held.
class ClientHandles {
 public:
  ClientHandles(Vault& inner, std::size_t max_open);
  ~ClientHandles();

  ClientHandles(const ClientHandles&) = delete;
  ClientHandles& operator=(const ClientHandles&) = delete;

  // Handles held now.
  std::size_t openCount() const;

  Result<OpenedFile> open(const VaultPath& path, std::uint32_t mode);
  // ok when this client holds `handle`; bad_handle otherwise.
  Status owns(HandleId handle) const;
  Status release(HandleId handle);

 private:
  Vault& inner_;
  const std::size_t max_open_;
  mutable Mutex mu_;
  std::unordered_set<HandleId> held_ GUARDED_BY(mu_);
  std::size_t opening_ GUARDED_BY(mu_) = 0;  // opens in flight, counted in the bound
};

// One server's clients, by peer pid. A table lives while some connection of its client holds
// it (shared_ptr); the registry only remembers it (weak_ptr), so the last connection to close
// releases the client's handles, and a client that connects again afterwards starts empty.
//
// Pid reuse: a pid is recycled only after its process died and was reaped, and its death closes
// all its sockets; but the server notices each close asynchronously. A new process that got the
// pid and connects before the server has processed every close of the old one joins the old
// table: it could name the old process's ids, and those handles are released only when the new
// process's connections close too (nothing leaks; both share one bound meanwhile). SO_PEERCRED
// also limits this to a process of the same uid (or root), which the servers require anyway.
// A socketpair's credentials are those of the process that created the pair (Linux), so an
// adopt()ed pair whose other end went to another process counts as the creator's client.
class ClientRegistry {
 public:
  ClientRegistry(Vault& inner, std::size_t max_open);

  // The table of client `pid`, made if it has none now. pid <= 0 (unknown): a table of its own.
  std::shared_ptr<ClientHandles> join(int pid);

 private:
  Vault& inner_;
  const std::size_t max_open_;
  Mutex mu_;
  std::unordered_map<int, std::weak_ptr<ClientHandles>> clients_ GUARDED_BY(mu_);
};

class ConnectionVault final : public Vault {
 public:
  // A connection of `client` (a table from a ClientRegistry, or of its own).
  ConnectionVault(Vault& inner, std::shared_ptr<ClientHandles> client);
  // A client of its own with one connection (the loopback stubs).
  ConnectionVault(Vault& inner, std::size_t max_open);
  // Drops this connection's share of its client's table (the last one releases its handles).
  ~ConnectionVault() override = default;

  ConnectionVault(const ConnectionVault&) = delete;
  ConnectionVault& operator=(const ConnectionVault&) = delete;

  // Handles its client holds now.
  std::size_t openCount() const { return client_->openCount(); }

  Result<FileAttr> stat(const VaultPath& path) override { return inner_.stat(path); }
  Result<std::vector<DirEntry>> list(const VaultPath& path) override { return inner_.list(path); }
  Result<ReadResult> read(const VaultPath& path, std::uint64_t offset,
                          std::uint64_t length) override {
    return inner_.read(path, offset, length);
  }
  Result<FileAttr> write(const VaultPath& path, std::uint64_t offset,
                         std::string_view data) override {
    return inner_.write(path, offset, data);
  }
  Result<FileAttr> put(const VaultPath& path, std::string_view data) override {
    return inner_.put(path, data);
  }
  Result<FileAttr> create(const VaultPath& path, std::uint32_t mode) override {
    return inner_.create(path, mode);
  }
  Result<FileAttr> mkdir(const VaultPath& path, std::uint32_t mode) override {
    return inner_.mkdir(path, mode);
  }
  Status unlink(const VaultPath& path) override { return inner_.unlink(path); }
  Status rmdir(const VaultPath& path) override { return inner_.rmdir(path); }
  Result<FileAttr> rename(const VaultPath& from, const VaultPath& to) override {
    return inner_.rename(from, to);
  }
  Result<FileAttr> truncate(const VaultPath& path, std::uint64_t size) override {
    return inner_.truncate(path, size);
  }
  Result<FileAttr> setAttributes(const VaultPath& path, const AttrChange& change) override {
    return inner_.setAttributes(path, change);
  }
  Status fsync(const VaultPath& path) override { return inner_.fsync(path); }
  Status reconcile(const VaultPath& path) override { return inner_.reconcile(path); }
  Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) override {
    return inner_.probe(work_us, reply_bytes);
  }
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override {
    return inner_.subscribe(std::move(listener));
  }

  Result<OpenedFile> open(const VaultPath& path, std::uint32_t mode) override;
  Result<ReadResult> readHandle(HandleId handle, std::uint64_t offset,
                                std::uint64_t length) override;
  Result<FileAttr> writeHandle(HandleId handle, std::uint64_t offset,
                               std::string_view data) override;
  Result<FileAttr> statHandle(HandleId handle) override;
  Result<FileAttr> truncateHandle(HandleId handle, std::uint64_t size) override;
  Status fsyncHandle(HandleId handle) override;
  Status release(HandleId handle) override;

 private:
  Vault& inner_;
  const std::shared_ptr<ClientHandles> client_;  // never null
};

}  // namespace seams::ipc

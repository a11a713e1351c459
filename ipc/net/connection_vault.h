// ConnectionVault: the Vault as one client connection of a server adapter sees it.
//
// Vault's handle contract over IPC (core/vault/vault.h): a handle belongs to the connection that
// opened it, another connection's ids are bad_handle, the server releases every handle a
// connection still holds when it closes, and a per-client bound answers too_many_open. The
// served vault's handle ids are global to it, so each server adapter puts one ConnectionVault
// in front of it per connection and answers that connection's calls through it:
//
// - open() that succeeds records the id; a handle call naming an id this connection did not
//   open (or already released) is bad_handle without reaching the vault;
// - at `max_open` handles held, open() is too_many_open without reaching the vault;
// - release() forgets the id before releasing it, so it is released at most once; the
//   destructor (the connection is closing, cleanly or because the peer died) releases every id
//   still held.
//
// Path calls and subscribe() are forwarded unchanged.
//
// Thread-safety: every method from any thread (the set has its own mutex, never held across a
// call into the vault). REQUIRES: `inner` outlives this object.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_set>

#include "core/vault/vault.h"

namespace seams::ipc {

// Handles one connection may hold at once, unless the server's options say otherwise. Above
// any sane frontend's need (the FUSE frontend holds one per open file descriptor of its
// users), far below the owner's fd limit.
inline constexpr std::size_t kDefaultMaxOpenHandles = 4096;

class ConnectionVault final : public Vault {
 public:
  ConnectionVault(Vault& inner, std::size_t max_open);
  // Releases every handle still held.
  ~ConnectionVault() override;

  ConnectionVault(const ConnectionVault&) = delete;
  ConnectionVault& operator=(const ConnectionVault&) = delete;

  // Handles held now.
  std::size_t openCount() const;

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
  // ok when this connection holds `handle`; bad_handle otherwise.
  Status owns(HandleId handle) const;

  Vault& inner_;
  const std::size_t max_open_;
  mutable std::mutex mu_;
  std::unordered_set<HandleId> held_;  // guarded by mu_
  std::size_t opening_ = 0;            // guarded by mu_: opens in flight, counted in the bound
};

}  // namespace seams::ipc

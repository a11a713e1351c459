// MemoryVault: a Vault held in memory, for the fuzz targets (and their replay tests).
//
// It follows the Vault contract closely enough that frontends and server adapters take their real
// paths (files and directories, versions that only grow, errors with the contract's codes, a
// change feed), so a fuzzer reaches the code behind each call, not an early error. It is not a
// second storage engine: no durability, one mutex.
//
// Bounded on purpose: a file may not grow past kMaxFileBytes and the vault holds at most kMaxNodes
// names (too_large / no_space beyond), so a fuzzed `write` at offset 2^62 is an error, not an
// allocation that ends the fuzzer.
//
// Thread-safety: every method from any thread (one mutex). Listeners run on the changing thread
// after the mutex is released, in change order per path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/vault/vault.h"

namespace seams::fuzz {

class MemoryVault final : public Vault {
 public:
  static constexpr std::uint64_t kMaxFileBytes = 1u << 20;
  static constexpr std::size_t kMaxNodes = 4096;

  // Starts with the root, /docs/ and /docs/a.txt ("hello"), so seeds have something to find.
  MemoryVault();
  // Back to the starting tree; versions keep growing. Subscriptions stay.
  void reset();

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

  // TODO(issue 13): handle-based I/O, implemented in the branch that owns this file.
  Result<OpenedFile> open(const VaultPath&, std::uint32_t) override { return pending(); }
  Result<ReadResult> readHandle(HandleId, std::uint64_t, std::uint64_t) override {
    return pending();
  }
  Result<FileAttr> writeHandle(HandleId, std::uint64_t, std::string_view) override {
    return pending();
  }
  Result<FileAttr> statHandle(HandleId) override { return pending(); }
  Result<FileAttr> truncateHandle(HandleId, std::uint64_t) override { return pending(); }
  Status fsyncHandle(HandleId) override { return pending(); }
  Status release(HandleId) override { return pending(); }
  static Status pending() { return Status(Errc::not_supported, "handles: not yet"); }
  Status reconcile(const VaultPath& path) override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

 private:
  struct Node {
    FileAttr attr;
    std::string data;
  };
  class Sub;

  // REQUIRES: mu_ held. The node at `path`, or null.
  Node* find(const VaultPath& path);
  // REQUIRES: mu_ held. ok when `path`'s parent exists and is a directory.
  Status parentOk(const VaultPath& path);
  // REQUIRES: mu_ held. A fresh node of `type` with the next version.
  Node fresh(FileType type, std::uint32_t mode);
  void bump(Node& node);
  void publish(const ChangeEvent& event);
  void seedLocked();

  std::mutex mu_;
  std::map<std::string, Node> nodes_;  // guarded by mu_; key: VaultPath::str()
  std::uint64_t next_version_ = 1;     // guarded by mu_
  std::uint64_t next_inode_ = 1;       // guarded by mu_

  std::mutex feed_mu_;                                 // leaf; never held with mu_
  std::map<std::uint64_t, ChangeListener> listeners_;  // guarded by feed_mu_
  std::uint64_t next_listener_ = 0;                    // guarded by feed_mu_
};

}  // namespace seams::fuzz

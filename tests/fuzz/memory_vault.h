// MemoryVault: a Vault held in memory, for the fuzz targets (and their replay tests).
//
// It follows the Vault contract closely enough that frontends and server adapters take their real
// paths (files and directories, versions that only grow, errors with the contract's codes, a
// change feed), so a fuzzer reaches the code behind each call, not an early error. It is not a
// second storage engine: no durability, one mutex.
//
// Bounded on purpose: a file may not grow past kMaxFileBytes and the vault holds at most kMaxNodes
// names (too_large / no_space beyond), so a fuzzed `write` at offset 2^62 is an error, not an
// allocation that ends the fuzzer; at most kMaxOpen handles are open at once (too_many_open).
//
// Handles have the contract's open-file semantics: a handle holds the file's content object, so
// after unlink, a rename onto its name or a put() over it the handle still reads and writes the
// old content (statHandle shows nlink 0) while the name shows the new file. put() therefore makes
// a new content object (keeping the inode number, unlike LocalVault's temp + rename).
//
// Thread-safety: every method from any thread (one mutex). Listeners run on the changing thread
// after the mutex is released, in change order per path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/vault/vault.h"

namespace seams::fuzz {

class MemoryVault final : public Vault {
 public:
  static constexpr std::uint64_t kMaxFileBytes = 1u << 20;
  static constexpr std::size_t kMaxNodes = 4096;

  // Starts with the root, /docs/ and /docs/a.txt ("hello"), so seeds have something to find.
  MemoryVault();
  static constexpr std::size_t kMaxOpen = 1024;

  // Back to the starting tree; versions keep growing. Subscriptions stay; every handle is
  // released (ids are never reused, so an old id is bad_handle).
  void reset();
  // Handles open now (tests: a server released a dead client's handles).
  std::size_t openCount();

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
  // runProbe() with the default ProbeLimits.
  Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

 private:
  // A file's or directory's content object: shared by its name (nodes_) and its handles.
  struct Node {
    FileAttr attr;
    std::string data;
  };
  using NodePtr = std::shared_ptr<Node>;
  struct Open {
    NodePtr node;
    std::uint32_t mode = 0;
  };
  class Sub;

  // REQUIRES: mu_ held. The node at `path`, or null.
  Node* find(const VaultPath& path);
  // REQUIRES: mu_ held. ok when `path`'s parent exists and is a directory.
  Status parentOk(const VaultPath& path);
  // REQUIRES: mu_ held. A fresh node of `type` with the next version.
  NodePtr fresh(FileType type, std::uint32_t mode);
  void bump(Node& node);
  // REQUIRES: mu_ held. Takes a name off a node (it may live on in handles).
  static void unlinkNode(Node& node);
  // REQUIRES: mu_ held. The open file `handle` names, or bad_handle; permission_denied unless
  // it was opened with every bit of `need`.
  Result<Open*> findOpen(HandleId handle, std::uint32_t need);
  // REQUIRES: mu_ held. The name `node` has now, or nullopt once it has none.
  std::optional<VaultPath> nameOf(const Node* node);
  void publish(const ChangeEvent& event);
  void seedLocked();

  std::mutex mu_;
  std::map<std::string, NodePtr> nodes_;  // guarded by mu_; key: VaultPath::str()
  std::map<HandleId, Open> open_;         // guarded by mu_
  std::uint64_t next_version_ = 1;        // guarded by mu_
  std::uint64_t next_inode_ = 1;          // guarded by mu_
  HandleId next_handle_ = 1;              // guarded by mu_; never reused

  std::mutex feed_mu_;                                 // leaf; never held with mu_
  std::map<std::uint64_t, ChangeListener> listeners_;  // guarded by feed_mu_
  std::uint64_t next_listener_ = 0;                    // guarded by feed_mu_
};

}  // namespace seams::fuzz

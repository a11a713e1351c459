// InterposedVault: a test Vault that stands in front of another one.
//
// Every call goes to the inner vault unchanged, unless the hook before() answers it first: a test
// double derives from this, overrides before() (and subscribe() if it owns the feed), and writes
// only what it changes. Counting calls, playing "the owner is down", pausing a call until the
// test lets it go: one override each, not twenty-one forwarding methods.
//
// Thread-safety: as the inner vault's, plus whatever the derived hook needs.
#pragma once

#include <memory>
#include <string_view>

#include "core/vault/vault.h"

namespace seams::testing {

class InterposedVault : public Vault {
 public:
  // `inner` must outlive this object.
  explicit InterposedVault(Vault& inner) : inner_(inner) {}

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
  // The inner vault's feed; the hook is not called. Override to publish a feed of one's own.
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

 protected:
  // Called before every call but subscribe(), on the caller's thread, with the method's name
  // ("stat", "readHandle", ...) and its path: the first one (`from` for rename), or nullptr for
  // the calls by handle. A non-ok Status is the call's answer and the inner vault is not called;
  // ok lets the call through. The default lets everything through.
  virtual Status before(std::string_view call, const VaultPath* path);

  Vault& inner() { return inner_; }

 private:
  Vault& inner_;
};

}  // namespace seams::testing

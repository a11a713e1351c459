// A Vault and an Auth that answer every call with an error, so the fuzz targets exercise the
// codecs' decoding and dispatch without touching a file system.
#pragma once

#include "core/auth/auth.h"
#include "core/vault/vault.h"

namespace seams::fuzz {

inline Status nope() {
  return Status(Errc::not_found, "fuzz");
}

class NullVault final : public Vault {
 public:
  Result<FileAttr> stat(const VaultPath&) override { return nope(); }
  Result<std::vector<DirEntry>> list(const VaultPath&) override {
    return std::vector<DirEntry>{DirEntry{"a", FileAttr{}}};
  }
  Result<ReadResult> read(const VaultPath&, std::uint64_t, std::uint64_t) override {
    return ReadResult{"data", 1, 4};
  }
  Result<FileAttr> write(const VaultPath&, std::uint64_t, std::string_view) override {
    return nope();
  }
  Result<FileAttr> put(const VaultPath&, std::string_view) override { return FileAttr{}; }
  Result<FileAttr> create(const VaultPath&, std::uint32_t) override { return nope(); }
  Result<FileAttr> mkdir(const VaultPath&, std::uint32_t) override { return nope(); }
  Status unlink(const VaultPath&) override { return nope(); }
  Status rmdir(const VaultPath&) override { return nope(); }
  Result<FileAttr> rename(const VaultPath&, const VaultPath&) override { return nope(); }
  Result<FileAttr> truncate(const VaultPath&, std::uint64_t) override { return nope(); }
  Status fsync(const VaultPath&) override { return okStatus(); }
  Status reconcile(const VaultPath&) override { return okStatus(); }
  std::unique_ptr<Subscription> subscribe(ChangeListener) override { return nullptr; }
};

class NullAuth final : public Auth {
 public:
  Result<Session> login(std::string_view, std::string_view) override { return Session{"t", 1}; }
  Status logout(std::string_view) override { return nope(); }
  Result<Principal> validate(std::string_view) override { return Principal{"u", {"g"}}; }
  Status check(const Principal&, const VaultPath&, Access) override { return nope(); }
  Result<Principal> authorize(std::string_view, const VaultPath&, Access) override {
    return nope();
  }
  Result<Principal> principalForUid(std::uint32_t) override { return nope(); }
  Status grant(const Principal&, const Rule&) override { return okStatus(); }
  Status revoke(const Principal&, const Rule&) override { return nope(); }
  Result<std::vector<Rule>> rules() override { return std::vector<Rule>{}; }
  std::unique_ptr<Subscription> subscribe(AuthListener) override { return nullptr; }
};

}  // namespace seams::fuzz

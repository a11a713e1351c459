// VaultService ("storage"): opens the backing directory and publishes the in-process Vault
// (Storage + FsCache + LocalVault) and its FsCache in Deps. The owner of the authoritative cache
// in seamd and in seam-fsd. It refuses a root other users can reach (checkPrivateRoot) unless
// the config sets allow_shared_vault_root = true.
#pragma once

#include <string>
#include <utility>

#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class VaultService final : public Service {
 public:
  // The config's vault_root, allow_shared_vault_root, [cache] and [probe] (the bounds the
  // vault's probe() enforces); `deps` must outlive the service.
  VaultService(std::string vault_root, bool allow_shared_vault_root, CacheConfig cache, Deps& deps,
               ProbeLimits probe = {})
      : vault_root_(std::move(vault_root)),
        allow_shared_vault_root_(allow_shared_vault_root),
        cache_(cache),
        probe_(probe),
        deps_(deps) {}

  std::string name() const override { return kStorageService; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const std::string vault_root_;
  const bool allow_shared_vault_root_;
  const CacheConfig cache_;
  const ProbeLimits probe_;
  Deps& deps_;
};

}  // namespace seams

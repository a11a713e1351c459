// VaultService ("storage"): opens the backing directory and publishes the in-process Vault
// (Storage + FsCache + LocalVault) and its FsCache in Deps. The owner of the authoritative cache
// in seamd and in seam-fsd. It refuses a root other users can reach (checkPrivateRoot) unless
// the config sets allow_shared_vault_root = true.
#pragma once

#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class VaultService final : public Service {
 public:
  // `config` and `deps` must outlive the service.
  VaultService(const Config& config, Deps& deps) : config_(config), deps_(deps) {}

  std::string name() const override { return kStorageService; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const Config& config_;
  Deps& deps_;
};

}  // namespace seams

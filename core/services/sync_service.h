// SyncService ("sync"): watches the backing directory with inotify and hands every path that
// changed there to Vault::reconcile(), which tells a change made outside the vault from the
// vault's own writes, bumps the version and invalidates caches (and, through the change feed,
// the kernel's). In seam-syncd the Vault is the IPC stub of seam-fsd's.
#pragma once

#include <string>
#include <vector>

#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"
#include "core/stats/metrics.h"

namespace seams {

class SyncService final : public Service {
 public:
  // `vault_root`: the config's backing directory, watched; `deps` and `metrics` must outlive the
  // service.
  SyncService(std::string vault_root, Deps& deps, MetricsRegistry& metrics,
              std::vector<std::string> dependencies);

  std::string name() const override { return kSyncService; }
  std::vector<std::string> dependencies() const override { return dependencies_; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const std::string vault_root_;
  Deps& deps_;
  Counter& reconciled_;
  Counter& failures_;
  const std::vector<std::string> dependencies_;
};

}  // namespace seams

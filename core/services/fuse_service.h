// FuseService ("fuse"): mounts the vault with the FuseFrontend over the process's Vault and Auth
// (local objects in seamd, IPC stubs in seam-fused). Liveness is the age of the oldest request
// in flight: FUSE workers sleep in the kernel while idle, which is healthy.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class FuseFrontend;

class FuseService final : public Service {
 public:
  // `config`: the [fuse] section; `deps` must outlive the service. The mount waits for the
  // kernel as long as the manager waits for ready() (RunContext::startTimeout()).
  FuseService(FuseConfig config, Deps& deps, std::vector<std::string> dependencies);
  ~FuseService() override;

  std::string name() const override { return kFuseService; }
  std::vector<std::string> dependencies() const override { return dependencies_; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const FuseConfig config_;
  Deps& deps_;
  const std::vector<std::string> dependencies_;
  // The latest run's frontend: a run abandoned as hung keeps its mount until the next run
  // unmounts it (see HttpService for the same reason).
  Mutex mutex_;
  std::shared_ptr<FuseFrontend> current_ GUARDED_BY(mutex_);
};

}  // namespace seams

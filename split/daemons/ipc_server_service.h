// IpcServerService: serves the process's Vault (seam-fsd) or Auth (seam-authd) over the
// configured UNIX socket with the configured codec, change feed included, as a restartable
// Service.
//
// A run takes the object its dependency published in Deps, removes a stale socket file left by a
// killed predecessor, binds, and only then reports ready (so the daemon's READY=1 means "you can
// connect now"). When the owning service restarts (a new object in Deps) the run ends and the
// manager starts it again over the new object; clients' stubs reconnect and resync by themselves.
// The socket file is removed when a run ends.
#pragma once

#include <string>

#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams::split {

enum class Served : std::uint8_t { vault, auth };

class IpcServerService final : public Service {
 public:
  // Serves what `owner` (a service name: "storage" or "auth") publishes. `config`, `deps` outlive.
  IpcServerService(Served what, std::string owner, const Config& config, Deps& deps)
      : what_(what), owner_(std::move(owner)), config_(config), deps_(deps) {}

  std::string name() const override {
    return what_ == Served::vault ? kVaultIpcService : kAuthIpcService;
  }
  std::vector<std::string> dependencies() const override { return {owner_}; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const Served what_;
  const std::string owner_;
  const Config& config_;
  Deps& deps_;
};

}  // namespace seams::split

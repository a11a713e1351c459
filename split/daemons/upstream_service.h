// UpstreamService: a frontend daemon's link to an owner (seam-fsd's Vault or seam-authd's Auth).
// It builds the IPC stub for the configured codec and socket, proves the owner answers with a
// real call (stat("/") or rules()) — a failed call fails the start, so READY=1 means "my
// upstream works" — optionally wraps the stub in the coherence cache of cache.coherence
// (CachingVault / CachingAuth), and publishes the result in Deps as the process's Vault or Auth.
// The HTTP, FUSE and sync services then run unchanged on top.
//
// An owner that dies later does not end the run: the stub answers `unavailable` quickly (within
// split.call_timeout_ms), reconnects by itself and resyncs its feeds, so the frontends recover
// without a restart of their own.
//
// Metrics (updated every 100 ms): seams_ipc_round_trips{owner} (the stub's roundTrips()) and,
// with a cache, seams_frontend_cache_upstream_calls{owner}.
#pragma once

#include <string>

#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"
#include "core/stats/metrics.h"
#include "split/daemons/ipc_server_service.h"

namespace seams::split {

class UpstreamService final : public Service {
 public:
  // `cached`: wrap the stub in the frontend cache (httpd, fused); syncd uses the bare stub.
  UpstreamService(Served what, bool cached, const Config& config, Deps& deps,
                  MetricsRegistry& metrics)
      : what_(what), cached_(cached), config_(config), deps_(deps), metrics_(metrics) {}

  std::string name() const override {
    return what_ == Served::vault ? kUpstreamFsdService : kUpstreamAuthdService;
  }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const Served what_;
  const bool cached_;
  const Config& config_;
  Deps& deps_;
  MetricsRegistry& metrics_;
};

}  // namespace seams::split

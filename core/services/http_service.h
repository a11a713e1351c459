// HttpService ("http"): runs the HttpFrontend over whatever Vault and Auth the process's Deps
// hold (local objects in seamd, IPC stubs in seam-httpd), forwarding its worker loops' heartbeat
// to the watchdog.
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
#include "core/stats/metrics.h"

namespace seams {

class HttpFrontend;

class HttpService final : public Service {
 public:
  // `config`: the [http] section; `probe`: the [probe] section (GET /v1/probe's bounds).
  // `dependencies`: the services that publish Vault and Auth in this process. `deps` and `metrics`
  // must outlive the service. `listen_fd`: a listening socket passed by the supervisor (socket
  // activation) to serve on instead of binding http.listen, or -1; borrowed, it must outlive the
  // service (every run serves on a duplicate, so connections queue on it while the service
  // restarts).
  HttpService(HttpConfig config, Deps& deps, MetricsRegistry& metrics,
              std::vector<std::string> dependencies, ProbeLimits probe = {}, int listen_fd = -1);
  ~HttpService() override;

  std::string name() const override { return kHttpService; }
  std::vector<std::string> dependencies() const override { return dependencies_; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

  // The bound port of the current run (0 when not serving).
  std::uint16_t port() const;

 private:
  const HttpConfig config_;
  Deps& deps_;
  MetricsRegistry& metrics_;
  const std::vector<std::string> dependencies_;
  const ProbeLimits probe_;
  const int listen_fd_;
  // The frontend of the latest run. Kept here, not only in run()'s frame, so that a run
  // abandoned as hung still has its frontend stopped (its port released) by the next run.
  mutable Mutex mutex_;
  std::shared_ptr<HttpFrontend> current_ GUARDED_BY(mutex_);
};

}  // namespace seams

#include "core/services/sync_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "core/services/supervised_loop.h"
#include "core/sync/inotify_watcher.h"
#include "core/vault/vault.h"

namespace seams {

SyncService::SyncService(std::string vault_root, Deps& deps, MetricsRegistry& metrics,
                         std::vector<std::string> dependencies)
    : vault_root_(std::move(vault_root)),
      deps_(deps),
      reconciled_(metrics.counter("seams_sync_reconciled_total",
                                  "Paths handed to Vault::reconcile after an inotify event")),
      failures_(metrics.counter("seams_sync_reconcile_failures_total",
                                "reconcile calls that returned an error")),
      dependencies_(std::move(dependencies)) {}

Status SyncService::run(RunContext& ctx) {
  std::vector<HeldDependency> held = {holdDependency<Vault>(deps_, "the vault")};
  std::shared_ptr<Vault> vault = deps_.get<Vault>();
  if (!vault) return Status(Errc::unavailable, "vault not published");

  InotifyWatcher watcher(vault_root_, [&](const std::vector<VaultPath>& changed) {
    for (const VaultPath& path : changed) {
      Status s = vault->reconcile(path);
      reconciled_.inc();
      if (!s.ok() && s.code() != Errc::not_found) {
        failures_.inc();
        spdlog::warn("sync: reconcile {}: {}", path.str(), s.toString());
      }
    }
  });
  if (Status s = watcher.start(); !s.ok()) return s;
  ctx.ready();
  // The watcher's loop wakes every kTickMs even when idle; a tick older than the deadline means
  // it is stuck (most likely in a reconcile call). The watcher stamps its ticks on the steady
  // clock, so their age is taken on that clock; the deadline is the watchdog's.
  const Duration deadline = ctx.heartbeatDeadline();
  return superviseUntilStopped(ctx, std::chrono::milliseconds(100), held,
                               [&]() -> Result<Liveness> {
                                 auto now = std::chrono::steady_clock::now().time_since_epoch();
                                 auto age = now - std::chrono::nanoseconds(watcher.lastTickNs());
                                 return age < deadline ? Liveness::alive : Liveness::stalled;
                               });
}

}  // namespace seams

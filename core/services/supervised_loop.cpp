#include "core/services/supervised_loop.h"

namespace seams {

Status superviseUntilStopped(RunContext& ctx, std::chrono::milliseconds tick,
                             const std::vector<HeldDependency>& held,
                             const std::function<Result<Liveness>()>& probe) {
  ctx.heartbeat();
  while (!ctx.waitForStop(tick)) {
    for (const HeldDependency& dep : held) {
      if (dep.generation() != dep.taken) {
        return ctx.followReplaced(dep.what);
      }
    }
    Result<Liveness> live = probe();
    if (!live.ok()) return live.status();
    if (*live == Liveness::alive) ctx.heartbeat();
  }
  return okStatus();
}

}  // namespace seams

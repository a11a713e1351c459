// The loop every adapter service runs once its component serves: forward the component's own
// liveness to the watchdog, and end the run when the component died or a dependency it holds
// was replaced.
//
// Why dependencies end the run: a frontend holds the Vault and Auth it was started with. If the
// storage service restarts, a new LocalVault (with a new, empty cache) is published in Deps; a
// frontend that kept the old one would serve from a cache nobody invalidates. So each adapter
// remembers the generation of every Deps slot it took and restarts itself when one changes,
// picking up the new objects — whatever the restart strategy.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"

namespace seams {

enum class Liveness : std::uint8_t { alive, stalled };

// A Deps slot generation taken at start, to compare later.
struct HeldDependency {
  std::string what;
  std::function<std::uint64_t()> generation;  // reads the slot's current generation
  std::uint64_t taken = 0;
};

template <typename T>
HeldDependency holdDependency(Deps& deps, std::string what) {
  auto handle = deps.handle<T>();
  return HeldDependency{std::move(what), [handle] { return handle.generation(); },
                        handle.generation()};
}

// Serves until a stop request. Every `tick`: a probe error ends the run with that error (the
// component died: a crash to the watchdog); Liveness::alive touches the heartbeat (a checkpoint,
// where injected faults land); stalled does not, so the watchdog sees the hang. A held
// dependency whose generation moved ends the run with `unavailable`.
Status superviseUntilStopped(RunContext& ctx, std::chrono::milliseconds tick,
                             const std::vector<HeldDependency>& held,
                             const std::function<Result<Liveness>()>& probe);

}  // namespace seams

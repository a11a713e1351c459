// ControlTarget: what the control plane controls. The control server (and so seamctl) programs
// against this interface only, so it serves a ServiceManager in seamd (ServiceManagerTarget) and,
// unchanged, the split launcher's table of daemons.
//
// Contract for implementations: every method may be called from the control server's event-loop
// thread and must return promptly (no waiting for a restart or a stop to finish: request it and
// answer), because one slow command would stall every other client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/runtime/service.h"

namespace seams {

struct ControlRow {
  std::string name;
  std::string kind;   // "service" (a thread in this process) | "daemon" (a child process)
  std::string state;  // serviceStateName() values
  std::int64_t pid = 0;
  std::uint32_t restarts = 0;
  std::string last_error;
  std::optional<double> heartbeat_age_ms;  // nullopt when not watched or not running
  std::uint32_t abandoned_threads = 0;     // hung threads left behind; 0 for daemons
};

// One entry of one of the process's FS caches (`seamctl caches`): what the bench compares across
// processes to count cache bytes held twice.
struct CacheEntryRow {
  std::string cache;  // the cache's role: "vault" (the owner's) | "frontend" (a split frontend's)
  std::string kind;   // "attr" | "list" | "content"
  std::string path;
  std::uint64_t version = 0;  // 0 for listings
  std::uint64_t bytes = 0;    // charged bytes
};

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;
  virtual std::vector<ControlRow> status() = 0;
  // Prometheus text exposition of the process's (or deployment's) metrics.
  virtual std::string stats() = 0;
  // Every entry of this process's FS caches; none by default (a launcher holds no cache).
  virtual std::vector<CacheEntryRow> caches() { return {}; }
  // not_found for an unknown name.
  virtual Status restart(std::string_view name) = 0;
  // not_found for an unknown name; not_supported if the unit does not take faults.
  virtual Status fault(std::string_view name, FaultKind kind) = 0;
  // Requests an orderly stop of everything.
  virtual Status stop() = 0;
};

}  // namespace seams

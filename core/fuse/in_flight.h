// InFlightTracker: when did each request now being handled start? The FUSE service's heartbeat.
//
// FUSE worker threads sleep in read(/dev/fuse) while idle, so "the thread touched an atomic
// recently" cannot tell a hung service from an idle one. Instead each request records its start
// time in a slot while it runs; the watchdog asks for the oldest start among the requests in
// flight and compares it with its deadline. Idle means healthy.
//
// Cost per request: one compare-and-swap to claim a slot and one store to free it. A thread
// remembers the slot it used last, so a worker usually finds its own slot free at once.
// If every slot is taken (more concurrent requests than slots), the request goes untracked
// rather than waiting: the heartbeat is advisory and must never slow the data path.
//
// Thread-safety: every method may be called from any thread; no locks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/common/clock.h"

namespace seams {

class InFlightTracker {
 public:
  // `slots` bounds the number of requests tracked at once (use at least the worker count).
  // `clock` must outlive the tracker.
  InFlightTracker(std::size_t slots, const Clock& clock);

  // RAII: tracks one request from construction to destruction.
  class Scope {
   public:
    explicit Scope(InFlightTracker& tracker) noexcept;
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    InFlightTracker& tracker_;
    std::size_t slot_;  // == tracker_.size_ when untracked
  };

  // The start of the oldest request still in flight, or nullopt when none is.
  std::optional<MonoTime> oldestStart() const noexcept;
  // Requests in flight now (tracked ones).
  std::size_t inFlight() const noexcept;
  // Requests started since construction (tracked or not).
  std::uint64_t started() const noexcept { return started_.load(std::memory_order_relaxed); }

 private:
  // 0 means free; otherwise steady-clock nanoseconds of the start (never 0 in practice; a start
  // at exactly 0 is stored as 1).
  std::size_t size_;
  std::unique_ptr<std::atomic<std::int64_t>[]> slots_;
  std::atomic<std::uint64_t> started_{0};
  const Clock& clock_;
};

}  // namespace seams

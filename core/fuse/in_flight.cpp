#include "core/fuse/in_flight.h"

#include <functional>
#include <thread>

namespace seams {
namespace {

std::int64_t toNs(MonoTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns == 0 ? 1 : ns;
}

// Where this thread last found a free slot; a good first guess for its next request.
thread_local std::size_t t_slot_hint = std::hash<std::thread::id>{}(std::this_thread::get_id());

}  // namespace

InFlightTracker::InFlightTracker(std::size_t slots, const Clock& clock)
    : size_(slots == 0 ? 1 : slots),
      slots_(std::make_unique<std::atomic<std::int64_t>[]>(size_)),
      clock_(clock) {
  for (std::size_t i = 0; i < size_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

InFlightTracker::Scope::Scope(InFlightTracker& tracker) noexcept
    : tracker_(tracker), slot_(tracker.size_) {
  tracker_.started_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t now = toNs(tracker_.clock_.now());
  const std::size_t first = t_slot_hint % tracker_.size_;
  for (std::size_t i = 0; i < tracker_.size_; ++i) {
    const std::size_t s = (first + i) % tracker_.size_;
    std::int64_t expected = 0;
    if (tracker_.slots_[s].compare_exchange_strong(expected, now, std::memory_order_acq_rel)) {
      slot_ = s;
      t_slot_hint = s;
      return;
    }
  }
}

InFlightTracker::Scope::~Scope() {
  if (slot_ != tracker_.size_) tracker_.slots_[slot_].store(0, std::memory_order_release);
}

std::optional<MonoTime> InFlightTracker::oldestStart() const noexcept {
  std::int64_t oldest = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    const std::int64_t v = slots_[i].load(std::memory_order_acquire);
    if (v != 0 && (oldest == 0 || v < oldest)) oldest = v;
  }
  if (oldest == 0) return std::nullopt;
  return MonoTime(std::chrono::nanoseconds(oldest));
}

std::size_t InFlightTracker::inFlight() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    if (slots_[i].load(std::memory_order_relaxed) != 0) ++n;
  }
  return n;
}

}  // namespace seams

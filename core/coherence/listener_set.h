// ListenerSet: the local end of a change feed. A caching frontend object (CachingVault,
// CachingAuth) re-publishes what it hears upstream, or what it did itself, to its own subscribers
// (FuseFrontend subscribes to invalidate the kernel's caches).
//
// Thread-safety: every method may be called from any thread. mutex_ guards slots_ and next_id_;
// it is held shared while publishing and exclusive while a subscription is added or removed, so
// once a Subscription is destroyed its listener is never called again. A listener must not
// subscribe or unsubscribe from inside its call (the Vault/Auth feed contract).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "core/common/subscription.h"
#include "core/common/thread_annotations.h"

namespace seams {

template <typename Listener, typename Event>
class ListenerSet {
 public:
  ListenerSet() : state_(std::make_shared<State>()) {}

  // The Subscription keeps the set's state alive, so it may outlive the owning object safely.
  std::unique_ptr<Subscription> add(Listener listener) {
    WriterLock lock(state_->mutex);
    std::uint64_t id = state_->next_id++;
    state_->slots.emplace_back(id, std::move(listener));
    return std::make_unique<Handle>(state_, id);
  }

  void publish(const Event& event) const {
    ReaderLock lock(state_->mutex);
    for (const auto& slot : state_->slots) slot.second(event);
  }

 private:
  struct State {
    SharedMutex mutex;
    std::vector<std::pair<std::uint64_t, Listener>> slots GUARDED_BY(mutex);
    std::uint64_t next_id GUARDED_BY(mutex) = 1;
  };
  class Handle final : public Subscription {
   public:
    Handle(std::shared_ptr<State> state, std::uint64_t id) : state_(std::move(state)), id_(id) {}
    ~Handle() override {
      WriterLock lock(state_->mutex);
      std::erase_if(state_->slots, [this](const auto& s) { return s.first == id_; });
    }

   private:
    std::shared_ptr<State> state_;
    std::uint64_t id_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace seams

// Deps: the one registry of a process's shared objects (the vault, auth, caches, metrics), built
// once in main() and passed by reference. No global: tests build their own.
//
// Objects are published by the service that owns them (from its run(), before ctx.ready()) and
// withdrawn when it stops. A restart replaces them. Readers never hold a raw pointer that could be
// swapped under them: get() hands out a std::shared_ptr snapshot, so an object a reader is using
// stays alive until the reader lets go, even if its service was restarted meanwhile. A reader that
// gets null answers "unavailable" (HTTP 503, EAGAIN) instead of waiting.
//
// Slots are keyed by type and an optional name (two caches of the same type, say). A Handle<T> is
// a cheap, copyable reference to one slot; get() on it costs one uncontended mutex and one
// reference-count increment, so frontends may call it per request.
//
// Thread-safety: every method may be called from any thread. mutex_ guards the slot map; each
// slot's own mutex guards its pointer. Slots live as long as the Deps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>

#include "core/common/thread_annotations.h"

namespace seams {

class Deps {
 private:
  struct SlotBase {
    virtual ~SlotBase() = default;
  };
  template <typename T>
  struct Slot final : SlotBase {
    mutable Mutex mutex;
    std::shared_ptr<T> object GUARDED_BY(mutex);
    std::uint64_t generation GUARDED_BY(mutex) = 0;  // bumped on every publish and withdraw
  };

 public:
  template <typename T>
  class Handle {
   public:
    // A snapshot of the current object; null while none is published.
    std::shared_ptr<T> get() const {
      MutexLock lock(slot_->mutex);
      return slot_->object;
    }
    // Changes on every publish and withdraw: a reader caching derived state can compare.
    std::uint64_t generation() const {
      MutexLock lock(slot_->mutex);
      return slot_->generation;
    }

   private:
    friend class Deps;
    explicit Handle(Slot<T>* slot) : slot_(slot) {}
    Slot<T>* slot_;  // owned by the Deps, which outlives every Handle
  };

  Deps() = default;
  Deps(const Deps&) = delete;
  Deps& operator=(const Deps&) = delete;

  template <typename T>
  Handle<T> handle(std::string_view name = {}) {
    return Handle<T>(&slot<T>(name));
  }
  template <typename T>
  std::shared_ptr<T> get(std::string_view name = {}) {
    return handle<T>(name).get();
  }
  // Makes `object` the current one; readers holding the previous one keep it until they drop it.
  template <typename T>
  void publish(std::shared_ptr<T> object, std::string_view name = {}) {
    Slot<T>& s = slot<T>(name);
    std::shared_ptr<T> previous;  // released outside the lock: its destructor may be slow
    MutexLock lock(s.mutex);
    previous = std::exchange(s.object, std::move(object));
    ++s.generation;
  }
  template <typename T>
  void withdraw(std::string_view name = {}) {
    publish<T>(nullptr, name);
  }

 private:
  template <typename T>
  Slot<T>& slot(std::string_view name) {
    MutexLock lock(mutex_);
    auto key = std::make_pair(std::type_index(typeid(T)), std::string(name));
    auto it = slots_.find(key);
    if (it == slots_.end()) it = slots_.emplace(std::move(key), std::make_unique<Slot<T>>()).first;
    return static_cast<Slot<T>&>(*it->second);
  }

  Mutex mutex_;
  std::map<std::pair<std::type_index, std::string>, std::unique_ptr<SlotBase>> slots_
      GUARDED_BY(mutex_);
};

}  // namespace seams

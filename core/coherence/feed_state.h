// FeedState: whether a push-mode cache may serve, given what the upstream feed has told it.
//
// The IPC stubs (ipc/rpc/capnp_client.h, ipc/proto/proto_client.h) say nothing when their
// connection breaks; they reconnect by themselves while a feed is subscribed and then deliver one
// "resync" event ("assume everything changed"), BEFORE any call on the new connection answers.
// So a push cache uses two signals:
//   - a call that answered Errc::unavailable: the connection (and with it the feed) may be down;
//     stop serving from the cache (markDown);
//   - the resync event: the feed is back and the cache was cleared (markUp);
//   - a call that was SENT after markDown and answered ok: it ran on a live connection. If that
//     connection is new, its resync came before this answer; if it is the old one, it never broke
//     and no event was lost. Either way the cache may serve again (callSucceeded).
// The window this leaves: between the moment a connection breaks and the first call that notices
// (or the stub's own reconnect and resync), hits are served from the cache. Nothing can change
// through a dead owner meanwhile; what is lost are the events in flight at the break, and the
// resync clears for them.
//
// Thread-safety: lock-free; any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace seams {

class FeedState {
 public:
  // Taken before an upstream call; handed back to callFailed/callSucceeded.
  struct Token {
    std::uint64_t downs = 0;
    bool was_down = false;
  };

  bool up() const noexcept { return up_.load(std::memory_order_acquire); }
  Token beginCall() const noexcept { return Token{downs_.load(std::memory_order_acquire), !up()}; }
  void markDown() noexcept {
    downs_.fetch_add(1, std::memory_order_acq_rel);
    up_.store(false, std::memory_order_release);
  }
  void markUp() noexcept { up_.store(true, std::memory_order_release); }
  // An ok answer to a call sent while down (and no newer failure since): serve again.
  void callSucceeded(const Token& t) noexcept {
    if (t.was_down && downs_.load(std::memory_order_acquire) == t.downs) markUp();
  }

 private:
  std::atomic<bool> up_{true};
  std::atomic<std::uint64_t> downs_{0};
};

}  // namespace seams

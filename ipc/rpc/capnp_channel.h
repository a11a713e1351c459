// CapnpChannel: one KJ event-loop thread owning one Cap'n Proto connection, reached from any
// thread through a LoopInbox (the executeSync() pattern; see loop_inbox.h for why not kj's). The
// engine under the capnp client stubs (capnp_client.h).
//
// Thread-safety: call(), addFeed() and removeFeed() from any thread except the loop thread
// itself (a listener must not call back). Everything in Loop is touched only on the loop thread.
#pragma once

#include <capnp/capability.h>
#include <kj/async.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/common/status.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/loop_inbox.h"

namespace seams::ipc {

// How a KJ exception from the RPC layer reads as a seams error.
Status statusFromKj(const kj::Exception& e);

class CapnpChannel {
 public:
  // A change-feed subscription that must survive reconnects. Loop thread only.
  class Feed {
   public:
    virtual ~Feed() noexcept(false) = default;
    // Subscribes on a (new) connection.
    virtual void attach(capnp::Capability::Client& bootstrap, kj::TaskSet& tasks) = 0;
    // Called after attach() on a connection other than the first: events may have been lost.
    virtual void resync() = 0;
    // The connection this feed was attached to is gone.
    virtual void detach() = 0;
  };

  explicit CapnpChannel(CapnpClientOptions options);
  ~CapnpChannel();

  // Runs `f(bootstrap) -> kj::Promise<R>` on the loop thread and waits for it, bounded by the
  // call timeout. R must be constructible from a Status. Never throws.
  template <typename R, typename F>
  R call(F&& f) {
    std::mutex m;
    std::condition_variable cv;
    std::optional<R> out;
    bool posted = inbox_.post([&] {
      track(bootstrap()
                .then([&f](capnp::Capability::Client cap) -> kj::Promise<R> { return f(cap); })
                .exclusiveJoin(callTimeout().then([this]() -> R { return R(timeoutStatus()); }))
                .catch_([](kj::Exception&& e) -> R { return R(statusFromKj(e)); })
                .then([&](R&& r) {
                  std::lock_guard lock(m);
                  out.emplace(kj::mv(r));
                  cv.notify_one();  // under the lock: see LoopInbox::runSync
                }));
    });
    if (!posted) return R(Status(Errc::unavailable, "ipc event loop is gone"));
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return out.has_value(); });
    return std::move(*out);
  }

  // Takes a feed; it is attached now (or as soon as a connection exists) and on every
  // reconnect until removeFeed(). REQUIRES: removeFeed() before the feed is destroyed.
  void addFeed(Feed* feed);
  void removeFeed(Feed* feed);
  // Runs `fn` on the loop thread and waits.
  void runOnLoop(const std::function<void()>& fn);

  const CapnpClientOptions& options() const { return options_; }

 private:
  class Loop;

  // Loop thread only.
  kj::Promise<capnp::Capability::Client> bootstrap();
  void track(kj::Promise<void> promise);
  kj::Promise<void> callTimeout();
  Status timeoutStatus() const;
  void run(std::promise<void>* ready);

  CapnpClientOptions options_;
  std::thread thread_;
  LoopInbox inbox_;
  Loop* loop_ = nullptr;                      // owned by the loop thread's stack
  kj::Own<kj::PromiseFulfiller<void>> stop_;  // loop thread only
};

}  // namespace seams::ipc

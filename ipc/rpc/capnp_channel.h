// CapnpChannel: the engine under the capnp client stubs (capnp_client.h). Two paths:
//
// - Calls, by default: the calling thread's own KJ event loop and its own connection to the
//   peer (a ThreadLink, made lazily), so a call is a write and a read on the caller's thread
//   with no hand-off. A thread may have only one KJ loop, so one per-thread loop (ThreadKj)
//   serves every channel that thread calls; it holds one ThreadLink per channel.
// - Feeds, and calls when per-thread connections are off (options, or a custom connector, or a
//   thread that already runs a KJ loop of its own): one KJ event-loop thread per channel owning
//   one connection, reached through a LoopInbox (the executeSync() pattern; see loop_inbox.h for
//   why not kj's).
//
// Ownership of per-thread KJ objects (they must die on the thread that made them):
// - ThreadKj and its ThreadLinks are owned by a thread_local of the calling thread and are only
//   ever touched by it; they are destroyed at thread exit (links before the loop);
// - the rest (weak alive token, stale entries dropped, ~CapnpChannel shutting other threads'
//   sockets down) is ipc/transport/per_thread.h's, as for every codec.
//
// Thread-safety: call(), addFeed() and removeFeed() from any thread except the loop thread
// itself (a listener must not call back). Everything in Loop is touched only on the loop thread.
#pragma once

#include <capnp/capability.h>
#include <kj/async.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/common/status.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/loop_inbox.h"
#include "ipc/transport/per_thread.h"
#include "ipc/transport/reconnect.h"

namespace seams::ipc {

// How a KJ exception from the RPC layer reads as a seams error.
Status statusFromKj(const kj::Exception& e);

class CapnpChannel {
 public:
  // A change-feed subscription that must survive reconnects. Loop thread only.
  class Feed {
   public:
    virtual ~Feed() noexcept(false) = default;
    // Subscribes on a (new) connection; resolves once the server has the subscription.
    virtual kj::Promise<void> attach(capnp::Capability::Client& bootstrap) = 0;
    // Called after attach() on a connection other than the first: events may have been lost.
    virtual void resync() = 0;
    // The connection this feed was attached to is gone.
    virtual void detach() = 0;
  };

  explicit CapnpChannel(ClientOptions options);
  ~CapnpChannel();

  // Runs `f(bootstrap) -> kj::Promise<R>` on the loop thread and waits for it, bounded by the
  // call timeout. R must be constructible from a Status. Never throws. `shared`: always on the
  // loop thread's one connection, never a per-thread one (open(): that connection then stays up
  // while the stub lives and keeps the client's handles at the server; capnp_client.h).
  template <typename R, typename F>
  R call(F&& f, bool shared = false) {
    // While a feed is not (re)subscribed at the server, calls take the feed's connection, behind
    // its subscribe request: a call that succeeded never raised an event the feed then missed
    // without a resync. Once every feed is acknowledged, any connection will do.
    if (!shared && !feeds_unsettled_.load(std::memory_order_acquire)) {
      if (ThreadLink* link = threadLink()) return callOnThread<R>(*link, f);
    }
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

  const ClientOptions& options() const { return options_; }

  // Marks the calling thread as one that runs a KJ loop of its own (a channel's or a server's
  // loop thread): calls made from it hop to the channel's loop thread.
  static void threadRunsItsOwnLoop();

  class ThreadLink;  // a calling thread's connection for this channel (capnp_channel.cpp)

 private:
  class Loop;

  // The calling thread's link for this channel, made lazily; null when calls from this thread
  // must hop to the loop thread instead.
  ThreadLink* threadLink();
  // Connects `link` if it has no live connection (honouring the shared backoff); the bootstrap
  // capability on success.
  Result<capnp::Capability::Client> connectLink(ThreadLink& link);
  kj::Promise<void> linkTimeout(ThreadLink& link);
  kj::WaitScope& linkWaitScope(ThreadLink& link);
  // After a call on `link`: a disconnected connection is dropped (the next call reconnects).
  void linkCallEnded(ThreadLink& link, bool disconnected);

  template <typename R, typename F>
  R callOnThread(ThreadLink& link, F& f) {
    bool disconnected = false;
    try {
      auto cap = connectLink(link);
      if (!cap) return R(cap.status());
      R r = f(*cap)
                .exclusiveJoin(linkTimeout(link).then([this]() -> R { return R(timeoutStatus()); }))
                .catch_([&disconnected](kj::Exception&& e) -> R {
                  disconnected = e.getType() == kj::Exception::Type::DISCONNECTED;
                  return R(statusFromKj(e));
                })
                .wait(linkWaitScope(link));
      linkCallEnded(link, disconnected);
      return r;
    } catch (const kj::Exception& e) {
      linkCallEnded(link, true);
      return R(statusFromKj(e));
    }
  }

  // Loop thread only.
  kj::Promise<capnp::Capability::Client> bootstrap();
  void track(kj::Promise<void> promise);
  kj::Promise<void> callTimeout();
  Status timeoutStatus() const;
  void run(std::promise<void>* ready);

  ClientOptions options_;
  const bool per_thread_;  // calls on per-thread links (a socket path, no connector, not off)
  PerThreadStub per_thread_stub_;  // this channel's id, alive token and links' fds
  ReconnectGate gate_;             // the links' shared reconnect state

  // True while some feed exists and is not acknowledged on a live loop connection. Written by
  // the loop thread.
  std::atomic<bool> feeds_unsettled_{false};

  std::thread thread_;
  LoopInbox inbox_;
  Loop* loop_ = nullptr;                      // owned by the loop thread's stack
  kj::Own<kj::PromiseFulfiller<void>> stop_;  // loop thread only
};

}  // namespace seams::ipc

// LoopInbox: how other threads reach a KJ event-loop thread.
//
// Closures posted from any thread run on the loop thread, in order; an eventfd wakes the loop.
// runSync() posts and waits. This is what kj::Executor::executeSync() does, built on std::mutex
// and std::condition_variable instead of libkj's private futexes, so ThreadSanitizer sees the
// hand-off (libkj is not built with TSan, and every executeSync() looked like a data race).
//
// Thread-safety: post() and runSync() from any thread except the loop's own (runSync there
// would deadlock); pump() and close() on the loop thread. mu_ guards queue_ and closed_.
#pragma once

#include <kj/async-io.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace seams::ipc {

class LoopInbox {
 public:
  LoopInbox() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~LoopInbox() { ::close(efd_); }
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  // False (and fn dropped) once the inbox is closed.
  bool post(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      queue_.push_back(std::move(fn));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(efd_, &one, sizeof(one));
    return true;
  }

  // Runs fn on the loop thread and waits for it; false if the loop is gone.
  bool runSync(const std::function<void()>& fn) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    bool posted = post([&] {
      fn();
      std::lock_guard lock(m);
      done = true;
      cv.notify_one();  // under the lock: the waiter cannot return (and free cv) before this ends
    });
    if (!posted) return false;
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    return true;
  }

  // Loop thread: runs posted closures until the returned promise is dropped. `in` wraps fd().
  kj::Promise<void> pump(kj::AsyncInputStream& in) {
    return in.read(&buf_, sizeof(buf_)).then([this, &in]() {
      std::vector<std::function<void()>> batch;
      {
        std::lock_guard lock(mu_);
        batch.swap(queue_);
      }
      for (auto& fn : batch) fn();
      return pump(in);
    });
  }

  // Loop thread, at shutdown: later posts fail; closures not yet run are dropped.
  void close() {
    std::vector<std::function<void()>> dropped;
    std::lock_guard lock(mu_);
    closed_ = true;
    dropped.swap(queue_);
  }

  int fd() const { return efd_; }

 private:
  int efd_;
  std::uint64_t buf_ = 0;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  bool closed_ = false;
};

}  // namespace seams::ipc

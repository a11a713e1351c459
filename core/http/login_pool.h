// LoginPool: a fixed set of threads and a bounded queue for password checks.
//
// A login costs one Argon2id verification (about 0.1 s of CPU and 64 MiB at libsodium's
// INTERACTIVE limits; in split, an IPC call that waits that long in seam-authd). Run on the
// request threads, a flood of logins would stall every route (issue 12, defect 2); here it waits
// its turn on `threads` threads of its own, and a full queue is refused at once so the caller
// can answer 503 with Retry-After instead of blocking.
//
// The threads run at the process's normal priority. Tried: nice +10, so request threads would
// win the CPU from seamd's hashing; on a busy machine a correct login then took 5 s under a
// flood (0.25 s in split, where the hash runs in seam-authd). The pool's size already bounds
// the CPU that hashing can take, and the throttle how often it runs.
//
// Lifecycle: threads start in the constructor; stop() (and the destructor) drops the jobs
// still queued (destroying them on the calling thread), waits for the running ones to return,
// and joins. A job is bounded (an Argon2id verification, or an IPC call under its timeout).
//
// Thread-safety: trySubmit(), queued() from any thread; stop() from one thread, not a job.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/common/thread_annotations.h"

namespace seams::http {

class LoginPool {
 public:
  using Job = std::function<void()>;

  LoginPool(int threads, std::size_t queue_capacity);
  ~LoginPool();
  LoginPool(const LoginPool&) = delete;
  LoginPool& operator=(const LoginPool&) = delete;

  // Queues `job`; false (job untouched) when `queue_capacity` jobs are already waiting or the
  // pool is stopped. A job must not throw (an exception would end the process).
  bool trySubmit(Job& job);
  // Jobs waiting (not yet running).
  std::size_t queued() const;
  void stop();

 private:
  void work();

  const std::size_t capacity_;
  mutable Mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace seams::http

#define FUSE_USE_VERSION 312
#include "core/fuse/kernel_notifier.h"

#include <fuse_lowlevel.h>

#include <algorithm>
#include <cerrno>

namespace seams {

void KernelNotifier::start(fuse_session* se) {
  stop();
  MutexLock lock(mutex_);
  session_ = se;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void KernelNotifier::stop() {
  {
    MutexLock lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
  MutexLock lock(mutex_);
  for (auto& job : queue_) job->done = true;
  queue_.clear();
  session_ = nullptr;
  done_cv_.notify_all();
}

bool KernelNotifier::run(std::vector<Op> ops, const std::function<bool()>& may_deadlock) {
  if (ops.empty()) return true;
  auto job = std::make_shared<Job>();
  job->ops = std::move(ops);
  MutexLock lock(mutex_);
  if (stopping_ || session_ == nullptr) return false;
  queue_.push_back(job);
  work_cv_.notify_one();
  const auto deadline = std::chrono::steady_clock::now() + wait_;
  for (;;) {
    const auto slice = std::min(deadline, std::chrono::steady_clock::now() + kGrace);
    if (done_cv_.wait_until(lock.native(), slice, [&] {
          mutex_.assertHeld();
          return job->done;
        }))
      return true;
    if (std::chrono::steady_clock::now() >= deadline || (may_deadlock && may_deadlock())) break;
  }
  ++timeouts_;
  return false;
}

void KernelNotifier::post(std::vector<Op> ops) {
  if (ops.empty()) return;
  auto job = std::make_shared<Job>();
  job->ops = std::move(ops);
  MutexLock lock(mutex_);
  if (stopping_ || session_ == nullptr) return;
  queue_.push_back(std::move(job));
  work_cv_.notify_one();
}

void KernelNotifier::loop() {
  MutexLock lock(mutex_);
  for (;;) {
    work_cv_.wait(lock.native(), [&] {
      mutex_.assertHeld();
      return stopping_ || !queue_.empty();
    });
    if (stopping_) return;
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    fuse_session* se = session_;
    lock.unlock();
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    for (const Op& op : job->ops) {
      const int rc =
          op.kind == Op::Kind::inode
              ? fuse_lowlevel_notify_inval_inode(se, op.ino, 0, 0)  // attributes and all pages
              : fuse_lowlevel_notify_inval_entry(se, op.ino, op.name.data(), op.name.size());
      ++sent;
      if (rc != 0 && rc != -ENOENT) ++failed;  // ENOENT: the kernel had nothing cached
    }
    lock.lock();
    sent_ += sent;
    failures_ += failed;
    job->done = true;
    done_cv_.notify_all();
  }
}

std::uint64_t KernelNotifier::sent() const {
  MutexLock lock(mutex_);
  return sent_;
}
std::uint64_t KernelNotifier::failures() const {
  MutexLock lock(mutex_);
  return failures_;
}
std::uint64_t KernelNotifier::timeouts() const {
  MutexLock lock(mutex_);
  return timeouts_;
}

}  // namespace seams

#include "core/http/login_pool.h"

namespace seams::http {

LoginPool::LoginPool(int threads, std::size_t queue_capacity) : capacity_(queue_capacity) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

LoginPool::~LoginPool() {
  stop();
}

bool LoginPool::trySubmit(Job& job) {
  {
    MutexLock lock(mu_);
    if (stopping_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

std::size_t LoginPool::queued() const {
  MutexLock lock(mu_);
  return jobs_.size();
}

void LoginPool::stop() {
  std::deque<Job> dropped;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  ready_.notify_all();
  dropped.clear();  // outside the lock: a job's captures may do real work when destroyed
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void LoginPool::work() {
  for (;;) {
    Job job;
    {
      MutexLock lock(mu_);
      ready_.wait(lock.native(), [this] {
        mu_.assertHeld();
        return stopping_ || !jobs_.empty();
      });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace seams::http

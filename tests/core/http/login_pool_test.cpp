// LoginPool: bounded, never blocks the submitter, and stop() drops what waits.
#include "core/http/login_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace seams::http {
namespace {

TEST(LoginPool, AFullQueueIsRefusedAtOnceAndRunsTheRestInTurn) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> first_running;
  LoginPool pool(1, 2);
  LoginPool::Job blocker = [&] {
    first_running.set_value();
    released.wait();
    ++ran;
  };
  ASSERT_TRUE(pool.trySubmit(blocker));
  first_running.get_future().wait();  // the thread is busy from here
  for (int i = 0; i < 2; ++i) {
    LoginPool::Job job = [&] { ++ran; };
    EXPECT_TRUE(pool.trySubmit(job)) << i;
  }
  EXPECT_EQ(pool.queued(), 2u);
  bool refused_ran = false;
  LoginPool::Job refused = [&] { refused_ran = true; };
  EXPECT_FALSE(pool.trySubmit(refused));
  EXPECT_TRUE(static_cast<bool>(refused));  // left to the caller, untouched
  release.set_value();
  pool.stop();
  EXPECT_FALSE(refused_ran);
  EXPECT_GE(ran.load(), 1);
}

TEST(LoginPool, StopDropsQueuedJobsAndDestroysTheirCaptures) {
  std::promise<void> running;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  std::atomic<bool> queued_ran{false};
  {
    LoginPool pool(1, 4);
    // The running job returns only once stop() has dropped the queued one, so the queued one
    // can never be taken by the thread first.
    LoginPool::Job blocker = [&] {
      running.set_value();
      while (!watch.expired()) std::this_thread::yield();
    };
    ASSERT_TRUE(pool.trySubmit(blocker));
    running.get_future().wait();
    LoginPool::Job queued = [&queued_ran, token = std::move(token)] { queued_ran = true; };
    ASSERT_TRUE(pool.trySubmit(queued));
    pool.stop();
    LoginPool::Job late = [] {};
    EXPECT_FALSE(pool.trySubmit(late));
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(queued_ran.load());
}

}  // namespace
}  // namespace seams::http

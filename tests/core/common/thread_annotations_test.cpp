#include "core/common/thread_annotations.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

namespace seams {
namespace {

// The annotations themselves are checked at compile time (the thread-safety preset); these tests
// check that Mutex and MutexLock lock what they say they lock.

TEST(Mutex, TryLockFailsWhileHeldAndSucceedsAfterUnlock) {
  Mutex mu;
  mu.lock();
  bool other = true;
  std::thread([&] { other = mu.try_lock(); }).join();
  EXPECT_FALSE(other);
  mu.unlock();
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(MutexLock, HoldsForItsScope) {
  Mutex mu;
  {
    MutexLock lock(mu);
    bool other = true;
    std::thread([&] { other = mu.try_lock(); }).join();
    EXPECT_FALSE(other);
  }
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(MutexLock, UnlockReleasesEarlyAndLockRetakes) {
  Mutex mu;
  MutexLock lock(mu);
  lock.unlock();
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
  lock.lock();
  bool other = true;
  std::thread([&] { other = mu.try_lock(); }).join();
  EXPECT_FALSE(other);
}

// The documented condition-variable pattern: wait through native(), predicate under the mutex.
TEST(MutexLock, WaitsOnAConditionVariableThroughNative) {
  Mutex mu;
  std::condition_variable cv;
  int value GUARDED_BY(mu) = 0;
  std::thread producer([&] {
    MutexLock lock(mu);
    value = 42;
    cv.notify_one();
  });
  {
    MutexLock lock(mu);
    cv.wait(lock.native(), [&] {
      mu.assertHeld();
      return value != 0;
    });
    EXPECT_EQ(value, 42);
  }
  producer.join();
}

}  // namespace
}  // namespace seams

#include "core/common/thread_annotations.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

namespace seams {
namespace {

// The annotations themselves are checked at compile time (the thread-safety preset); these tests
// check that the mutexes and scoped locks lock what they say they lock.

// Whether `mu` can be taken right now by another thread (taken and released at once).
template <typename Probe>
bool freeForAnotherThread(Probe probe) {
  bool free = false;
  std::thread([&] { free = probe(); }).join();
  return free;
}
// Exclusively: a Mutex, or a SharedMutex for a writer.
template <typename M>
bool isFree(M& mu) {
  return freeForAnotherThread([&] {
    if (!mu.try_lock()) return false;
    mu.unlock();
    return true;
  });
}
bool isFreeForAReader(SharedMutex& mu) {
  return freeForAnotherThread([&] {
    if (!mu.try_lock_shared()) return false;
    mu.unlock_shared();
    return true;
  });
}

TEST(Mutex, LockExcludesOthersUntilUnlock) {
  Mutex mu;
  EXPECT_TRUE(isFree(mu));
  mu.lock();
  EXPECT_FALSE(isFree(mu));
  mu.unlock();
  EXPECT_TRUE(isFree(mu));
}

TEST(MutexLock, HoldsForItsScope) {
  Mutex mu;
  {
    MutexLock lock(mu);
    EXPECT_FALSE(isFree(mu));
  }
  EXPECT_TRUE(isFree(mu));
}

TEST(MutexLock, UnlockReleasesEarlyAndLockRetakes) {
  Mutex mu;
  {
    MutexLock lock(mu);
    lock.unlock();
    EXPECT_TRUE(isFree(mu));
    lock.lock();
    EXPECT_FALSE(isFree(mu));
  }
  EXPECT_TRUE(isFree(mu));
}

// The documented condition-variable pattern: wait through native(), predicate under the mutex.
struct Mailbox {
  Mutex mu;
  std::condition_variable cv;
  int value GUARDED_BY(mu) = 0;
};

TEST(MutexLock, WaitsOnAConditionVariableThroughNative) {
  Mailbox box;
  std::thread producer([&] {
    MutexLock lock(box.mu);
    box.value = 42;
    box.cv.notify_one();
  });
  int seen = 0;
  {
    MutexLock lock(box.mu);
    box.cv.wait(lock.native(), [&] {
      box.mu.assertHeld();
      return box.value != 0;
    });
    seen = box.value;
  }
  producer.join();
  EXPECT_EQ(seen, 42);
  EXPECT_TRUE(isFree(box.mu));
}

TEST(ReaderLock, ReadersShareAndExcludeAWriter) {
  SharedMutex mu;
  {
    ReaderLock reader(mu);
    EXPECT_TRUE(isFreeForAReader(mu));
    EXPECT_FALSE(isFree(mu));
  }
  EXPECT_TRUE(isFree(mu));
}

TEST(WriterLock, ExcludesReadersAndUnlockReleasesEarly) {
  SharedMutex mu;
  {
    WriterLock writer(mu);
    EXPECT_FALSE(isFreeForAReader(mu));
    writer.unlock();
    EXPECT_TRUE(isFree(mu));
    writer.lock();
    EXPECT_FALSE(isFree(mu));
  }
  EXPECT_TRUE(isFree(mu));
}

}  // namespace
}  // namespace seams

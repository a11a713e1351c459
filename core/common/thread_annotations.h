// Locking contracts the compiler checks.
//
// clang's thread-safety analysis (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html) reads
// these attributes and, under -Wthread-safety (the `thread-safety` preset, which CI builds with
// -Werror), reports every access to a GUARDED_BY member without its mutex held and every call to
// a REQUIRES function from a caller that does not hold the mutex. Under other compilers the
// macros expand to nothing. The names follow the clang documentation's mutex.h.
//
//   class Counter {
//    public:
//     void add() EXCLUDES(mu_) { MutexLock lock(mu_); bump(); }
//    private:
//     void bump() REQUIRES(mu_) { ++n_; }
//     Mutex mu_;
//     int n_ GUARDED_BY(mu_) = 0;
//   };
//
// std::mutex and std::shared_mutex carry no annotations in libstdc++, so guarded state uses Mutex
// and MutexLock, or SharedMutex with ReaderLock and WriterLock, below. Waiting on a
// std::condition_variable goes through MutexLock::native():
//
//     MutexLock lock(mu_);
//     cv_.wait(lock.native(), [&] { mu_.assertHeld(); return ready_; });
//
// The wait unlocks and relocks behind the analysis' back, which is sound: the mutex is held again
// whenever the predicate runs and when wait returns. A lambda is its own function to the
// analysis, hence assertHeld() in the predicate.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define SEAMS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SEAMS_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are capabilities (locks) the analysis tracks.
#define CAPABILITY(x) SEAMS_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime.
#define SCOPED_CAPABILITY SEAMS_THREAD_ANNOTATION(scoped_lockable)
// On a member: read or written only with the mutex held.
#define GUARDED_BY(x) SEAMS_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points to is read or written only with the mutex held.
#define PT_GUARDED_BY(x) SEAMS_THREAD_ANNOTATION(pt_guarded_by(x))
// On a function: the caller holds these mutexes.
#define REQUIRES(...) SEAMS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) SEAMS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// On a function: the caller does not hold these (the function takes them itself).
#define EXCLUDES(...) SEAMS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// On a function: it takes / releases these (no argument: the object itself).
#define ACQUIRE(...) SEAMS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SEAMS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) SEAMS_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) SEAMS_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) SEAMS_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) SEAMS_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
// On a function: when it returns, the capability is held (checked at run time, if at all).
#define ASSERT_CAPABILITY(x) SEAMS_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) SEAMS_THREAD_ANNOTATION(assert_shared_capability(x))
// On a function: it returns a reference to this capability.
#define RETURN_CAPABILITY(x) SEAMS_THREAD_ANNOTATION(lock_returned(x))
// On a function: the analysis skips its body. Say why next to every use.
#define NO_THREAD_SAFETY_ANALYSIS SEAMS_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace seams {

// A std::mutex the analysis can see. Not recursive; not movable.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // Tells the analysis the caller holds this mutex where it cannot see the lock taken, such as
  // inside a condition-variable predicate. Checks nothing at run time.
  void assertHeld() const ASSERT_CAPABILITY(this) {}

  // The std::mutex underneath, for MutexLock. Locking it directly bypasses the analysis.
  std::mutex& native() RETURN_CAPABILITY(this) { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope, like std::unique_lock. unlock()/lock() release and retake it
// early (the destructor releases only if held).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() ACQUIRE() { lock_.lock(); }
  void unlock() RELEASE() { lock_.unlock(); }

  // For std::condition_variable::wait* and Env::waitUntil (see the top of this file).
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A std::shared_mutex the analysis can see: GUARDED_BY members are read under a ReaderLock
// (or a WriterLock) and written under a WriterLock; REQUIRES_SHARED functions need either.
class CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mu_.unlock_shared(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  bool try_lock_shared() TRY_ACQUIRE_SHARED(true) { return mu_.try_lock_shared(); }

  void assertHeld() const ASSERT_CAPABILITY(this) {}
  void assertReaderHeld() const ASSERT_SHARED_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex exclusively for its scope; unlock()/lock() release and retake it early.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    mu_.unlock();
    held_ = false;
  }

 private:
  SharedMutex& mu_;
  bool held_ = true;
};

// Holds a SharedMutex shared for its scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace seams

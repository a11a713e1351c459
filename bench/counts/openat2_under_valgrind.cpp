// Valgrind 3.19 (Debian 12) does not know openat2 (syscall 437): under it, every Storage open
// fails with ENOSYS. seam-counts therefore interposes syscall(2) (the executable's definition wins
// over glibc's for every caller, as with malloc in alloc_counter.cpp): when running under valgrind,
// SYS_openat2 is answered with openat(2) using the same flags and mode plus O_NOFOLLOW. The
// RESOLVE_* confinement is not applied -- the paths are seam-counts' own, in its own temporary
// directory -- and what callgrind counts is unchanged in kind: it never counts the kernel's work,
// only the user-space instructions, which are Storage's and one syscall wrapper either way.
// Outside valgrind every call goes to glibc's syscall() untouched.
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <valgrind/valgrind.h>

#include <cstdarg>

namespace {

using SyscallFn = long (*)(long, ...);

SyscallFn realSyscall() {
  static SyscallFn fn = reinterpret_cast<SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  return fn;
}

}  // namespace

extern "C" long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& v : a) v = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_openat2 && RUNNING_ON_VALGRIND) {
    const auto* how = reinterpret_cast<const open_how*>(a[2]);
    return ::openat(static_cast<int>(a[0]), reinterpret_cast<const char*>(a[1]),
                    static_cast<int>(how->flags) | O_NOFOLLOW, static_cast<mode_t>(how->mode));
  }
  return realSyscall()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// sanitizer_probe MODE: a program with one deliberate defect per mode, built with the same
// sanitizer as the tests, so sanitizer_reports_test can show that a report made deep in a
// process tree reaches the test that started the tree.
//
//   clean                 exits 0
//   heap-use-after-free   reads freed memory (ASan)
//   leak                  drops the only pointer to an allocation and exits (LeakSanitizer)
//   signed-overflow       overflows an int (UBSan)
//   race                  two threads write one int unsynchronised (TSan)
//   segv                  sends itself SIGSEGV, as `seamctl fault NAME crash` does to a daemon
//   spawn MODE            runs `sanitizer_probe MODE` as its child and exits as it did, so the
//                         defect happens in a grandchild of the test
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>

namespace {

int heapUseAfterFree() {
  int* volatile p = new int[4]{1, 2, 3, 4};
  delete[] p;
  return p[2];
}

void* volatile g_leaked = nullptr;

int leak() {
  g_leaked = std::malloc(4096);
  std::memset(g_leaked, 1, 4096);
  g_leaked = nullptr;  // the only pointer is gone: LeakSanitizer reports it at exit
  return 0;
}

int signedOverflow() {
  volatile int big = std::numeric_limits<int>::max();
  const int more = big + 1;
  return more == 0 ? 1 : 0;
}

int race() {
  static int shared = 0;
  std::thread a([] {
    for (int i = 0; i < 1000; ++i) shared = shared + 1;
  });
  std::thread b([] {
    for (int i = 0; i < 1000; ++i) shared = shared + 1;
  });
  a.join();
  b.join();
  return shared > 0 ? 0 : 1;
}

int spawn(char* self, char* mode) {
  const pid_t child = ::fork();
  if (child < 0) return 2;
  if (child == 0) {
    char* argv[] = {self, mode, nullptr};
    ::execv(self, argv);
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return 2;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sanitizer_probe MODE\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  if (mode == "clean") return 0;
  if (mode == "heap-use-after-free") return heapUseAfterFree();
  if (mode == "leak") return leak();
  if (mode == "signed-overflow") return signedOverflow();
  if (mode == "race") return race();
  if (mode == "segv") {
    ::kill(::getpid(), SIGSEGV);
    return 3;
  }
  if (mode == "spawn" && argc == 3) return spawn(argv[0], argv[2]);
  std::fprintf(stderr, "sanitizer_probe: unknown mode '%s'\n", argv[1]);
  return 2;
}

// fuse_latency: per-operation latency of a cached 4 KiB open+read+close and of a stat of one
// file, measured with clock_gettime(CLOCK_MONOTONIC) around each operation; prints percentiles
// in microseconds. A measuring aid for bench_vs_passthrough.sh.
//
//   fuse_latency FILE [iterations]
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

long long nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void report(const char* what, std::vector<long long>& ns) {
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) { return ns[static_cast<size_t>(p * (ns.size() - 1))] / 1000.0; };
  std::printf("%-16s p50 %8.2f us  p90 %8.2f us  p99 %8.2f us  max %9.2f us\n", what, pct(0.5),
              pct(0.9), pct(0.99), ns.back() / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [iterations]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
  char buf[4096];
  std::vector<long long> open_read(n), stat_ns(n);
  for (int warm = 0; warm < 2000; ++warm) {  // warm the kernel's caches and the daemon
    int fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) != sizeof buf) {
      std::perror(path);
      return 1;
    }
    close(fd);
  }
  for (int i = 0; i < n; ++i) {
    const long long t0 = nowNs();
    int fd = open(path, O_RDONLY);
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    const long long t1 = nowNs();
    if (got != sizeof buf) return 1;
    open_read[i] = t1 - t0;
  }
  for (int i = 0; i < n; ++i) {
    struct stat st;
    const long long t0 = nowNs();
    if (stat(path, &st) != 0) return 1;
    stat_ns[i] = nowNs() - t0;
  }
  report("open+read+close", open_read);
  report("stat", stat_ns);
  return 0;
}

#include "bench/seam-bench/fs_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <random>
#include <vector>

#include "bench/seam-bench/dataset.h"

namespace seams::bench {

std::uint64_t fuseVersion(const std::string& path) {
  char buf[32];
  ssize_t n = ::getxattr(path.c_str(), "user.seams.version", buf, sizeof buf);
  if (n <= 0) return 0;
  std::uint64_t v = 0;
  std::from_chars(buf, buf + n, v);
  return v;
}

bool readSmall(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) ok = false;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return ok;
}

bool writeSmall(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  if (::close(fd) != 0) ok = false;
  return ok;
}

namespace {
bool readAll(const std::string& path, std::vector<char>& buf) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) ok = false;
    if (n <= 0) break;
  }
  ::close(fd);
  return ok;
}
bool statOne(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}
bool listDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  while (::readdir(d) != nullptr) {
  }
  ::closedir(d);
  return true;
}
}  // namespace

WorkerFactory fsWorker(const std::string& root, const std::string& op, int hot_files,
                       std::uint64_t seed) {
  return [root, op, hot_files, seed](int w) -> Op {
    auto rng = std::make_shared<std::mt19937_64>(seed * 7919 + static_cast<std::uint64_t>(w));
    auto buf = std::make_shared<std::vector<char>>(1 << 20);
    auto counter = std::make_shared<std::uint64_t>(0);
    auto payload = std::make_shared<std::string>(4096, 'w');
    auto hot = [=] { return root + hotPath(static_cast<int>((*rng)() % hot_files)); };
    auto stat = [=] { return statOne(hot()); };
    auto read4k = [=] { return readAll(hot(), *buf); };
    auto read1m = [=] {
      return readAll(root + bigPath(static_cast<int>((*rng)() % kBigFiles)), *buf);
    };
    auto readdir = [=] { return listDir(root + "/bench/hot"); };
    auto create = [=] {
      const std::string p =
          root + "/bench/wr/t" + std::to_string(w) + "_" + std::to_string((*counter)++ % 64);
      return writeSmall(p, *payload);
    };
    if (op == "stat") return stat;
    if (op == "read4k") return read4k;
    if (op == "read1m") return read1m;
    if (op == "readdir") return readdir;
    if (op == "create") return create;
    // mix: 60% stat, 25% read 4 KiB, 5% readdir, 10% create.
    return [=] {
      const auto r = (*rng)() % 100;
      if (r < 60) return stat();
      if (r < 85) return read4k();
      if (r < 90) return readdir();
      return create();
    };
  };
}

}  // namespace seams::bench

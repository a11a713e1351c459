#include "bench/seam-bench/fs_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
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

WorkerFactory fsWorker(const std::string& root, const std::string& op, FsWorkerOptions o) {
  return [root, op, o](int w) -> Op {
    const int hot_files = std::max(1, o.hot_files);
    auto rng = std::make_shared<std::mt19937_64>(o.seed * 7919 + static_cast<std::uint64_t>(w));
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
    const DatasetInfo* data = o.data;
    const std::shared_ptr<SizeClassTally> tally = o.tally;
    auto dataset = [=] {
      const std::size_t i = (*rng)() % data->data_paths.size();
      const std::int64_t t0 = nowNs();
      const bool ok = readAll(root + data->data_paths[i], *buf);
      if (tally) tally->record(data->data_sizes[i], static_cast<std::uint64_t>(nowNs() - t0), ok);
      return ok;
    };
    const bool has_data = data != nullptr && !data->data_paths.empty();
    auto byName = [=](const std::string& name) -> Op {
      if (name == "stat") return stat;
      if (name == "read4k") return read4k;
      if (name == "read1m") return read1m;
      if (name == "readdir") return readdir;
      if (name == "create") return create;
      if (name == "dataset" && has_data) return dataset;
      return [] { return false; };  // the workload's checks refuse this before any run
    };
    if (op != "mix") return byName(op);
    // mix: each operation one of the mix's, by weight (default 60% stat, 25% read 4 KiB, 5%
    // readdir, 10% create).
    return weightedMix(o.mix, byName, rng);
  };
}

}  // namespace seams::bench

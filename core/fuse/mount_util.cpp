#include "core/fuse/mount_util.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

namespace seams {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  return fields;
}

}  // namespace

std::vector<MountEntry> parseMountInfo(std::string_view text) {
  // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
  std::vector<MountEntry> entries;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto fields = splitSpaces(text.substr(start, end - start));
    start = end + 1;

    std::size_t dash = 0;
    for (std::size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 2 >= fields.size()) continue;
    const std::string_view dev = fields[2];
    const auto colon = dev.find(':');
    if (colon == std::string_view::npos) continue;
    MountEntry e;
    try {
      e.major = static_cast<unsigned>(std::stoul(std::string(dev.substr(0, colon))));
      e.minor = static_cast<unsigned>(std::stoul(std::string(dev.substr(colon + 1))));
    } catch (...) {
      continue;
    }
    e.mount_point = unescape(fields[4]);
    e.fs_type = std::string(fields[dash + 1]);
    e.source = unescape(fields[dash + 2]);
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<MountEntry> readMountTable() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return parseMountInfo(text.str());
}

std::vector<MountEntry> fuseMountsAt(const std::string& path) {
  std::vector<MountEntry> found;
  for (auto& e : readMountTable()) {
    if (e.isFuse() && e.mount_point == path) found.push_back(std::move(e));
  }
  return found;
}

Result<std::string> canonicalMountPoint(const std::string& path) {
  if (path.empty()) return Status(Errc::invalid_argument, "fuse.mountpoint: empty");
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    // "/" or a path ending in a dot component: resolve it whole.
    char buf[PATH_MAX];
    if (::realpath(p.c_str(), buf) == nullptr) return Status::fromErrno(errno, path);
    return std::string(buf);
  }
  char buf[PATH_MAX];
  if (::realpath(parent.c_str(), buf) == nullptr) return Status::fromErrno(errno, parent);
  std::string out(buf);
  if (out != "/") out += '/';
  out += name;
  return out;
}

Status checkMountDirectory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status(Errc::not_found,
                    "fuse.mountpoint: " + path + " does not exist (create the directory)");
    }
    return Status::fromErrno(err, "fuse.mountpoint: " + path);
  }
  if (S_ISDIR(st.st_mode)) return okStatus();
  const char* what = S_ISREG(st.st_mode)    ? "a regular file"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "a special file";
  return Status(Errc::not_a_directory,
                "fuse.mountpoint: " + path + " is " + what + ", not a directory");
}

namespace {

// stat(path) on a thread of its own: 0 or the errno, or nullopt if it did not return within
// `wait` (the daemon behind the mount hangs). The thread is detached then; it ends when the
// mount is aborted.
std::optional<int> statWithin(const std::string& path, std::chrono::milliseconds wait) {
  auto result = std::make_shared<std::promise<int>>();
  std::future<int> done = result->get_future();
  std::thread([path, result] {
    struct stat st {};
    result->set_value(::stat(path.c_str(), &st) == 0 ? 0 : errno);
  }).detach();
  if (done.wait_for(wait) != std::future_status::ready) return std::nullopt;
  return done.get();
}

}  // namespace

Status clearStaleMount(const std::string& path, std::chrono::milliseconds hang_timeout) {
  // Several dead mounts may be stacked (one per crash); each umount uncovers the next.
  for (int round = 0; round < 64; ++round) {
    if (fuseMountsAt(path).empty()) return okStatus();
    const std::optional<int> err = statWithin(path, hang_timeout);
    if (err && *err == 0) {
      return Status(Errc::conflict, path + ": a live FUSE filesystem is already mounted here");
    }
    if (err && *err != ENOTCONN && *err != ECONNABORTED) {
      return Status::fromErrno(*err, "stat " + path);
    }
    // Dead: detach it. Hung: MNT_FORCE aborts its connection first (which also releases the
    // stat thread above).
    const int flags = err ? MNT_DETACH : (MNT_FORCE | MNT_DETACH);
    if (::umount2(path.c_str(), flags) != 0) {
      return Status::fromErrno(errno, "umount2 " + path + " (stale FUSE mount)");
    }
    spdlog::warn("fuse: cleared a stale FUSE mount at {} ({}; left by a process that died)", path,
                 err ? "its daemon is gone" : "its daemon did not answer: aborted");
  }
  return Status(Errc::conflict, path + ": too many stale mounts stacked");
}

}  // namespace seams

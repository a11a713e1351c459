#include "split/launcher/daemon_spec.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/runtime/service_names.h"

namespace seams::split {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string oct = field.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

}  // namespace

std::vector<DaemonSpec> daemonSpecs(const Config& config, const std::string& bin_dir) {
  // Each daemon also serves its own control socket, "<runtime_dir>/seam-NAME.control.sock".
  auto make = [&](const std::string& name, std::vector<std::string> dependencies,
                  std::vector<std::string> sockets, std::string mountpoint) {
    std::string control = config.runtime_dir + "/seam-" + name + ".control.sock";
    sockets.push_back(control);
    return DaemonSpec{name,
                      bin_dir + "/seam-" + name,
                      std::move(dependencies),
                      std::move(sockets),
                      std::move(mountpoint),
                      std::move(control),
                      {}};
  };
  std::vector<DaemonSpec> specs;
  specs.push_back(make(kFsdDaemon, {}, {config.split.fsd_socket}, ""));
  specs.push_back(make(kAuthdDaemon, {}, {config.split.authd_socket}, ""));
  specs.push_back(make(kSyncdDaemon, {kFsdDaemon}, {}, ""));
  if (config.http.enabled) specs.push_back(make(kHttpdDaemon, {kFsdDaemon, kAuthdDaemon}, {}, ""));
  if (config.fuse.enabled) {
    specs.push_back(make(kFusedDaemon, {kFsdDaemon, kAuthdDaemon}, {}, config.fuse.mountpoint));
  }
  return specs;
}

Result<std::string> resolveBinDir(const Config& config) {
  if (!config.split.bin_dir.empty()) return config.split.bin_dir;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::fromErrno(ec.value(), "readlink /proc/self/exe");
  return self.parent_path().string();
}

bool isFuseMountIn(const std::string& mountinfo, const std::string& path) {
  // Each line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    if (!(fields >> id >> parent >> dev >> root >> mountpoint)) continue;
    if (unescapeMountField(mountpoint) != path) continue;
    std::string field;
    while (fields >> field && field != "-") {
    }
    std::string fstype;
    if (!(fields >> fstype)) continue;
    if (fstype == "fuse" || fstype.rfind("fuse.", 0) == 0) return true;
  }
  return false;
}

bool isFuseMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return isFuseMountIn(text.str(), path);
}

Status detachFuseMount(const std::string& path) {
  if (path.empty() || !isFuseMounted(path)) return okStatus();
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Status::fromErrno(errno, "umount2 " + path);
  }
  return okStatus();
}

}  // namespace seams::split

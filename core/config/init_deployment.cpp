#include "core/config/init_deployment.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/auth/sessions.h"
#include "core/auth/sodium_init.h"
#include "core/config/fuse_access.h"

namespace seams {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kPasswordBytes = 18;  // 144 bits, 24 base64 characters
constexpr std::uint32_t kFirstDemoUid = 60001;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, so a failing close (a delayed write error) is reported.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::fromErrno(errno, path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return okStatus();
}

enum class Mode { exclusive, replace, keep_existing };

// Writes `data` to `path` with permission bits `perm` (enforced with fchmod, so an existing
// file's looser mode does not survive). exclusive: already_exists if present; keep_existing:
// leaves a present file alone.
Status writeFile(const std::string& path, std::string_view data, mode_t perm, Mode mode) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  flags |= mode == Mode::replace ? O_TRUNC : O_EXCL;
  Fd fd(::open(path.c_str(), flags, perm));
  if (fd.get() < 0) {
    if (errno == EEXIST && mode == Mode::keep_existing) return okStatus();
    if (errno == EEXIST) return Status(Errc::already_exists, path + ": already exists");
    return Status::fromErrno(errno, path);
  }
  if (::fchmod(fd.get(), perm) != 0) return Status::fromErrno(errno, path);
  SEAMS_RETURN_IF_ERROR(writeAll(fd.get(), data, path));
  if (::fsync(fd.get()) != 0) return Status::fromErrno(errno, path);
  if (::close(fd.release()) != 0) return Status::fromErrno(errno, path);
  return okStatus();
}

Status makeDirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return Status::fromErrno(ec.value(), p.string());
  return okStatus();
}

// `base`/`rel`, each missing directory made 0700: the vault's backing tree is private (see
// storage.h); `base` itself is made 0700 too, whoever made it.
Status makePrivateDirs(const fs::path& base, const fs::path& rel) {
  SEAMS_RETURN_IF_ERROR(makeDirs(base));
  if (::chmod(base.c_str(), 0700) != 0)
    return Status::fromErrno(errno, "chmod 0700 " + base.string());
  fs::path p = base;
  for (const fs::path& part : rel) {
    p /= part;
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::fromErrno(errno, p.string());
  }
  return okStatus();
}

std::string randomPassword() {
  ensureSodium();  // hashPassword() reports a failed init; randombytes works regardless
  unsigned char bytes[kPasswordBytes];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(kPasswordBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  return out;
}

struct DemoFile {
  const char* path;  // beneath vault/
  const char* text;
};

constexpr DemoFile kDemoFiles[] = {
    {"README.md",
     "# Demo vault\n\n"
     "This directory is served by Seams through FUSE (the mountpoint in seams.toml) and over\n"
     "HTTP (GET /v1/files/README.md with a bearer token from POST /v1/login).\n\n"
     "Users (passwords in ../credentials):\n"
     "- admin: read, write, list and admin everywhere\n"
     "- alice: read, write and list everywhere\n"
     "- bob: read and list everywhere\n"},
    {"docs/welcome.txt",
     "Welcome to Seams.\nEvery file has a version; change me and watch it grow.\n"},
    {"docs/topology.md",
     "# One daemon or several?\n\n"
     "seamd runs every service as a thread under one watchdog; seam-split runs one daemon per\n"
     "service, talking over UNIX sockets. The bench measures what the boundary costs.\n"},
    {"projects/seams/notes.txt", "- startup\n- hot-path latency\n- drift\n- memory\n- faults\n"},
    {"projects/seams/todo.txt", "measure, then decide\n"},
    {"public/hello.txt", "hello, world\n"},
};

struct DemoUser {
  std::string name;
  std::uint32_t uid;
  AccessMask access;
  std::vector<std::string> groups;
};

}  // namespace

Status initDeployment(const InitOptions& options, std::ostream& out) {
  if (options.dir.empty()) return Status(Errc::invalid_argument, "init: no directory given");
  std::error_code ec;
  const fs::path dir = fs::absolute(fs::path(options.dir), ec).lexically_normal();
  if (ec) return Status::fromErrno(ec.value(), options.dir);
  const std::string config_path = (dir / "seams.toml").string();
  if (fs::exists(fs::symlink_status(config_path, ec))) {
    return Status(Errc::already_exists,
                  config_path +
                      ": already exists; refusing to overwrite a deployment (remove it "
                      "or choose another directory)");
  }

  // The demo users: admin is whoever runs init, alice and bob get uids FUSE tests can switch to.
  const std::uint32_t admin_uid = ::getuid();
  std::uint32_t next_uid = kFirstDemoUid;
  auto demoUid = [&] {
    if (next_uid == admin_uid) ++next_uid;
    return next_uid++;
  };
  const AccessMask rwl = mask(Access::read) | mask(Access::write) | mask(Access::list);
  std::vector<DemoUser> demo = {
      {"admin", admin_uid, static_cast<AccessMask>(rwl | mask(Access::admin)), {"admins"}},
      {"alice", demoUid(), rwl, {"staff"}},
      {"bob",
       demoUid(),
       static_cast<AccessMask>(mask(Access::read) | mask(Access::list)),
       {"staff"}},
  };

  Config config;
  config.vault_root = "vault";
  config.runtime_dir = "run";
  config.control_socket = "run/control.sock";
  config.http.listen = options.http_listen;
  config.fuse.mountpoint =
      options.mountpoint.empty() ? "mnt" : fs::absolute(options.mountpoint, ec).string();
  config.cache.coherence = options.coherence;
  config.split.codec = options.codec;
  config.split.fsd_socket = "run/fsd.sock";
  config.split.authd_socket = "run/authd.sock";
  config.faults.enabled = options.faults_enabled;
  // allow_other only where the mount would accept it (root, or user_allow_other in fuse.conf):
  // otherwise the deployment init writes would fail at its first start.
  config.fuse.allow_other = allowOtherCanWork();

  for (const DemoUser& u : demo) {
    config.users.push_back(UserConfig{u.name, "$argon2id$placeholder", u.uid, u.groups});
    Rule rule;
    rule.subject_kind = Rule::Subject::user;
    rule.subject = u.name;
    rule.prefix = VaultPath::root();
    rule.access = u.access;
    rule.effect = Rule::Effect::allow;
    config.rules.push_back(std::move(rule));
  }
  // The text must load before anything is hashed or written: a long DIR can push socket paths
  // past sockaddr_un's limit, and a bad listen address fails here, named as loadConfig names it.
  if (auto check = parseConfig(renderConfig(config), config_path, dir.string()); !check.ok()) {
    return check.status();
  }

  std::string credentials;
  for (UserConfig& user : config.users) {
    const std::string password = randomPassword();
    auto hash = hashPassword(password, options.pwhash_opslimit, options.pwhash_memlimit);
    if (!hash.ok()) return hash.status();
    user.password_hash = std::move(*hash);
    credentials += user.name + " " + password + "\n";
  }
  const std::string text = renderConfig(config);

  SEAMS_RETURN_IF_ERROR(makeDirs(dir));
  const fs::path vault = dir / "vault";
  for (const DemoFile& f : kDemoFiles) {
    SEAMS_RETURN_IF_ERROR(makePrivateDirs(vault, fs::path(f.path).parent_path()));
    SEAMS_RETURN_IF_ERROR(writeFile((vault / f.path).string(), f.text, 0600, Mode::keep_existing));
  }
  SEAMS_RETURN_IF_ERROR(makePrivateDirs(vault, "shared"));
  if (options.mountpoint.empty()) SEAMS_RETURN_IF_ERROR(makeDirs(dir / "mnt"));
  const std::string credentials_path = (dir / "credentials").string();
  SEAMS_RETURN_IF_ERROR(writeFile(credentials_path, credentials, 0600, Mode::replace));
  SEAMS_RETURN_IF_ERROR(writeFile(config_path, text, 0600, Mode::exclusive));

  out << "Wrote " << config_path << "\n"
      << "      " << (dir / "vault").string() << "/ (demo vault)\n"
      << "      " << credentials_path << " (mode 0600)\n\n"
      << "Users (name password):\n"
      << credentials << "\n"
      << "Run it with either deployment:\n"
      << "  seamd --config " << config_path << "\n"
      << "  seam-split --config " << config_path << "\n"
      << "then, from another shell (or after `&`), until it is ready:\n"
      << "  seamctl --config " << config_path << " wait\n";
  if (!config.fuse.allow_other) {
    out << "\nfuse.allow_other = false: only this user can use the mount (/etc/fuse.conf has no "
           "user_allow_other line; add one as root and set allow_other = true to let the demo "
           "users in).\n";
  }
  return okStatus();
}

}  // namespace seams

#include "core/process/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace seams {
namespace {

int pidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string keyOf(const std::string& kv) {
  return kv.substr(0, kv.find('='));
}

}  // namespace

std::string ExitStatus::toString() const {
  if (signaled) return std::string("killed by signal ") + std::to_string(code);
  return std::string("exited with code ") + std::to_string(code);
}

Result<ChildProcess> ChildProcess::spawn(const SpawnOptions& options) {
  // Everything the child needs is built before fork(): between fork and exec only
  // async-signal-safe calls are allowed (the parent has other threads).
  std::vector<std::string> argv_store;
  argv_store.push_back(options.program);
  argv_store.insert(argv_store.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    bool replaced = false;
    for (const auto& extra : options.extra_env) replaced |= keyOf(extra) == keyOf(kv);
    // Sockets passed to us were never meant for our children; only listen_fds are passed on.
    for (const char* key : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"}) {
      replaced |= keyOf(kv) == key;
    }
    if (!replaced) env_store.push_back(std::move(kv));
  }
  env_store.insert(env_store.end(), options.extra_env.begin(), options.extra_env.end());
  // LISTEN_PID must be the child's pid, known only after fork(): its digits are written into
  // this preallocated string there (no allocation between fork and exec).
  const std::size_t passed = options.listen_fds.size();
  std::size_t listen_pid_index = 0;
  if (passed > 0) {
    std::string names;
    for (const PassedSocket& p : options.listen_fds) {
      if (p.fd < 0 || p.name.empty() || p.name.find(':') != std::string::npos) {
        return Status(Errc::invalid_argument, "listen_fds: fd " + std::to_string(p.fd) +
                                                  " named '" + p.name +
                                                  "': needs an open fd and a name without ':'");
      }
      names += (names.empty() ? "" : ":") + p.name;
    }
    env_store.push_back("LISTEN_FDS=" + std::to_string(passed));
    env_store.push_back("LISTEN_FDNAMES=" + names);
    listen_pid_index = env_store.size();
    env_store.push_back("LISTEN_PID=" + std::string(20, '0'));
  }
  std::vector<int> moved(passed, -1);  // the child's scratch copies of listen_fds
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  UniqueFd out_fd, err_fd;
  if (!options.stdout_path.empty()) {
    out_fd.reset(
        ::open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!out_fd) return Status::fromErrno(errno, "open " + options.stdout_path);
  }
  if (!options.stderr_path.empty()) {
    err_fd.reset(
        ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!err_fd) return Status::fromErrno(errno, "open " + options.stderr_path);
  }
  // exec failures travel back through a CLOEXEC pipe: EOF means exec succeeded.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return Status::fromErrno(errno, "pipe2");
  UniqueFd status_read(status_pipe[0]), status_write(status_pipe[1]);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return Status::fromErrno(errno, "fork");
  if (pid == 0) {
    int err = 0;
    if (options.die_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) err = errno;
      if (::getppid() != parent) ::_exit(127);  // the parent already died before prctl
    }
    if (options.new_process_group && ::setpgid(0, 0) != 0) err = errno;
    if (out_fd && ::dup2(out_fd.get(), STDOUT_FILENO) < 0) err = errno;
    if (err_fd && ::dup2(err_fd.get(), STDERR_FILENO) < 0) err = errno;
    int status_fd = status_write.get();
    if (passed > 0) {
      // Sockets go to 3 .. 3+passed-1. Everything that may sit there now (the status pipe, a
      // source socket itself) is first copied above that range, then each copy is dup2()ed into
      // place (dup2 clears close-on-exec on the target; the copies keep it).
      const int first_free = SD_LISTEN_FDS_START + static_cast<int>(passed);
      status_fd = ::fcntl(status_fd, F_DUPFD_CLOEXEC, first_free);
      if (status_fd < 0) ::_exit(127);
      for (std::size_t i = 0; i < passed && err == 0; ++i) {
        moved[i] = ::fcntl(options.listen_fds[i].fd, F_DUPFD_CLOEXEC, first_free);
        if (moved[i] < 0) err = errno;
      }
      for (std::size_t i = 0; i < passed && err == 0; ++i) {
        if (::dup2(moved[i], SD_LISTEN_FDS_START + static_cast<int>(i)) < 0) err = errno;
      }
      // The pid's digits, then the string's end, in our copy of the environment.
      char* digits = env_store[listen_pid_index].data() + std::strlen("LISTEN_PID=");
      char reversed[20];
      int count = 0;
      for (pid_t self = ::getpid(); self > 0 && count < 20; self /= 10) {
        reversed[count++] = static_cast<char>('0' + self % 10);
      }
      for (int i = 0; i < count; ++i) digits[i] = reversed[count - 1 - i];
      digits[count] = '\0';
    }
    // Signals blocked or ignored by the parent's threads would be inherited: reset them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
    if (err == 0) {
      if (options.program.find('/') != std::string::npos) {
        ::execve(argv[0], argv.data(), envp.data());
      } else {
        ::execvpe(argv[0], argv.data(), envp.data());
      }
      err = errno;
    }
    [[maybe_unused]] ssize_t n = ::write(status_fd, &err, sizeof err);
    ::_exit(127);
  }
  status_write.reset();
  int child_err = 0;
  ssize_t n;
  do {
    n = ::read(status_read.get(), &child_err, sizeof child_err);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_err) {
    ::waitpid(pid, nullptr, 0);
    return Status::fromErrno(child_err, "exec " + options.program);
  }
  UniqueFd pidfd(pidfdOpen(pid));
  if (!pidfd) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Status::fromErrno(e, "pidfd_open");
  }
  return ChildProcess(pid, std::move(pidfd));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      exit_(std::move(other.exit_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    killAndReap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    exit_ = std::move(other.exit_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  killAndReap();
}

void ChildProcess::killAndReap() noexcept {
  if (pid_ > 0 && !exit_) {
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  pidfd_.reset();
}

bool ChildProcess::running() const {
  if (exit_ || pid_ <= 0) return false;
  pollfd p{pidfd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Result<ExitStatus> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_) return *exit_;
  if (pid_ <= 0) return Status(Errc::invalid_argument, "no child process");
  pollfd p{pidfd_.get(), POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::fromErrno(errno, "poll pidfd");
  if (n == 0) return Status(Errc::timeout, "pid " + std::to_string(pid_) + " still running");
  int wstatus = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &wstatus, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Status::fromErrno(errno, "waitpid");
  ExitStatus st;
  if (WIFSIGNALED(wstatus)) {
    st.signaled = true;
    st.code = WTERMSIG(wstatus);
  } else {
    st.code = WEXITSTATUS(wstatus);
  }
  exit_ = st;
  return st;
}

Status ChildProcess::signal(int sig) const {
  if (exit_ || pid_ <= 0) return Status();
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) != 0 && errno != ESRCH) {
    return Status::fromErrno(errno, "pidfd_send_signal");
  }
  return Status();
}

Result<ExitStatus> ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  if (Status s = signal(SIGTERM); !s.ok()) return s;
  Result<ExitStatus> r = wait(grace);
  if (r.ok() || r.code() != Errc::timeout) return r;
  if (Status s = signal(SIGKILL); !s.ok()) return s;
  return wait(std::chrono::seconds(30));
}

}  // namespace seams

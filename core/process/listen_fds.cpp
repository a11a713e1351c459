#include "core/process/listen_fds.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace seams {
namespace {

std::string familyName(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return "address family " + std::to_string(family);
  }
}

std::string typeName(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "a stream socket";
    case SOCK_DGRAM:
      return "a datagram socket";
    case SOCK_SEQPACKET:
      return "a seqpacket socket";
    default:
      return "a socket of type " + std::to_string(type);
  }
}

std::string fileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a socket";
}

Result<int> intOption(int fd, int option, const char* label) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) {
    return Status::fromErrno(errno, std::string("getsockopt ") + label);
  }
  return value;
}

}  // namespace

Status checkListeningSocket(int fd, const std::vector<int>& families, std::string_view what) {
  const std::string who(what);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status(Errc::invalid_argument, who + ": fd " + std::to_string(fd) + " is not open (" +
                                              std::strerror(errno) + ")");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status(Errc::invalid_argument, who + ": fd " + std::to_string(fd) + " is " +
                                              fileKind(st.st_mode) +
                                              ", not a listening stream socket");
  }
  Result<int> type = intOption(fd, SO_TYPE, "SO_TYPE");
  if (!type.ok()) return type.status();
  if (*type != SOCK_STREAM) {
    return Status(Errc::invalid_argument, who + ": fd " + std::to_string(fd) + " is " +
                                              typeName(*type) + ", not a stream socket");
  }
  Result<int> domain = intOption(fd, SO_DOMAIN, "SO_DOMAIN");
  if (!domain.ok()) return domain.status();
  if (std::find(families.begin(), families.end(), *domain) == families.end()) {
    std::string wanted;
    for (int f : families) wanted += (wanted.empty() ? "" : " or ") + familyName(f);
    return Status(Errc::invalid_argument, who + ": fd " + std::to_string(fd) + " is an " +
                                              familyName(*domain) + " socket; expected " + wanted);
  }
  Result<int> listening = intOption(fd, SO_ACCEPTCONN, "SO_ACCEPTCONN");
  if (!listening.ok()) return listening.status();
  if (*listening == 0) {
    return Status(Errc::invalid_argument,
                  who + ": fd " + std::to_string(fd) +
                      " is a stream socket nobody called listen() on (a connected or bound one)");
  }
  return okStatus();
}

std::string socketAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (addr.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&addr);
    return std::string(un->sun_path);
  }
  return "?";
}

Result<UniqueFd> listenTcp(std::string_view listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(Errc::invalid_argument, "expected HOST:PORT, got '" + std::string(listen) + "'");
  }
  std::string host(listen.substr(0, colon));
  const std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status(Errc::invalid_argument, "bad port in '" + std::string(listen) + "'");
  }
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) != 1) {
      return Status(Errc::invalid_argument, "'" + host + "' is not an IPv6 address");
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
      return Status(Errc::invalid_argument, "'" + host + "' is not an IP address");
    }
    len = sizeof(sockaddr_in);
  }
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::fromErrno(errno, "socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd.get(), SOMAXCONN) != 0) {
    return Status(Errc::unavailable,
                  "cannot listen on " + std::string(listen) + ": " + std::strerror(errno));
  }
  return fd;
}

Result<InheritedSockets> InheritedSockets::fromEnvironment() {
  char** names = nullptr;
  // unset_environment = 1: our children never see the variables. libsystemd also sets
  // FD_CLOEXEC on every passed fd, so they never inherit the sockets either.
  const int n = ::sd_listen_fds_with_names(1, &names);
  InheritedSockets out;
  if (n < 0) {
    return Status::fromErrno(-n, "LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    out.sockets_.emplace_back(names != nullptr && names[i] != nullptr ? names[i] : "unknown",
                              UniqueFd(fd));
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  // Every family we know how to serve on; take() narrows it to what the role needs.
  for (const auto& [name, fd] : out.sockets_) {
    SEAMS_RETURN_IF_ERROR(checkListeningSocket(fd.get(), {AF_INET, AF_INET6, AF_UNIX},
                                               "LISTEN_FDS socket '" + name + "'"));
  }
  return out;
}

std::vector<std::string> InheritedSockets::names() const {
  std::vector<std::string> out;
  for (const auto& entry : sockets_) out.push_back(entry.first);
  return out;
}

Result<UniqueFd> InheritedSockets::take(std::string_view name, const std::vector<int>& families) {
  auto matches = [name](const auto& entry) { return entry.first == name; };
  if (std::count_if(sockets_.begin(), sockets_.end(), matches) > 1) {
    return Status(Errc::invalid_argument,
                  "LISTEN_FDNAMES names more than one socket '" + std::string(name) + "'");
  }
  auto it = std::find_if(sockets_.begin(), sockets_.end(), matches);
  if (it == sockets_.end()) return UniqueFd();
  SEAMS_RETURN_IF_ERROR(
      checkListeningSocket(it->second.get(), families, "LISTEN_FDS socket '" + it->first + "'"));
  UniqueFd fd = std::move(it->second);
  sockets_.erase(it);
  return fd;
}

}  // namespace seams

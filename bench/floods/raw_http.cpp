#include "bench/floods/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace seams::floods {
namespace {

bool sockaddrFor(const std::string& host, std::uint16_t port, sockaddr_in* out) {
  std::memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons(port);
  return ::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &out->sin_addr) ==
         1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of header `name` (lower case) in a response head, or "".
std::string headerValue(std::string_view head, std::string_view name) {
  std::string lhead = lower(head);
  std::string key = "\r\n" + std::string(name) + ":";
  std::size_t at = lhead.find(key);
  if (at == std::string::npos) return {};
  std::size_t start = at + key.size();
  std::size_t end = head.find("\r\n", start);
  std::string_view v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

bool parseEndpoint(std::string_view text, Endpoint* out) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return false;
  }
  out->host = std::string(text.substr(0, colon));
  out->port = static_cast<std::uint16_t>(port);
  sockaddr_in sa;
  return sockaddrFor(out->host, out->port, &sa);
}

int connectTo(const Endpoint& server, const std::string& source,
              std::chrono::milliseconds timeout) {
  sockaddr_in to;
  if (!sockaddrFor(server.host, server.port, &to)) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in from;
    if (!sockaddrFor(source, 0, &from) ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

RawHttp::RawHttp(Endpoint server, std::string source, std::chrono::milliseconds timeout)
    : server_(std::move(server)), source_(std::move(source)), timeout_(timeout) {}

RawHttp::~RawHttp() {
  closeSocket();
}

void RawHttp::closeSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool RawHttp::ensureConnected() {
  if (fd_ >= 0) return true;
  fd_ = connectTo(server_, source_, timeout_);
  if (fd_ >= 0) ++connects_;
  return fd_ >= 0;
}

Reply RawHttp::request(std::string_view method, std::string_view target, std::string_view token,
                       std::string_view body) {
  Reply reply;
  if (!ensureConnected()) return reply;
  std::string out;
  out.reserve(256 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: seams\r\n");
  if (!token.empty()) out.append("Authorization: Bearer ").append(token).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    out.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  }
  out.append("\r\n").append(body);
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      closeSocket();
      return reply;
    }
    sent += static_cast<std::size_t>(n);
  }
  // Reads the head, then Content-Length bytes of body.
  std::size_t head_end = std::string::npos;
  auto fill = [&]() {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) {
      closeSocket();
      return reply;
    }
  }
  std::string_view head(buffer_.data(), head_end + 2);
  int status = 0;
  if (head.size() < 12 ||
      std::from_chars(head.data() + 9, head.data() + 12, status).ec != std::errc()) {
    closeSocket();
    return reply;
  }
  std::size_t length = 0;
  std::string cl = headerValue(head, "content-length");
  if (!cl.empty()) std::from_chars(cl.data(), cl.data() + cl.size(), length);
  bool close = lower(headerValue(head, "connection")) == "close";
  reply.retry_after = headerValue(head, "retry-after");
  std::size_t body_start = head_end + 4;
  bool head_only = method == "HEAD" || status == 204 || status == 304;
  std::size_t need = head_only ? 0 : length;
  while (buffer_.size() - body_start < need) {
    if (!fill()) {
      closeSocket();
      return reply;
    }
  }
  reply.status = status;
  reply.body = buffer_.substr(body_start, need);
  buffer_.erase(0, body_start + need);
  if (close) closeSocket();
  return reply;
}

std::string RawHttp::login(std::string_view user, std::string_view password, int* status) {
  std::string body =
      "{\"user\":\"" + std::string(user) + "\",\"password\":\"" + std::string(password) + "\"}";
  Reply r = request("POST", "/v1/login", {}, body);
  if (status != nullptr) *status = r.status;
  if (r.status != 200) return {};
  std::size_t at = r.body.find("\"token\":\"");
  if (at == std::string::npos) return {};
  at += 9;
  return r.body.substr(at, r.body.find('"', at) - at);
}

}  // namespace seams::floods

#include "ipc/proto/proto_server.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "core/common/thread_annotations.h"
#include "ipc/net/log_registry.h"
#include "ipc/proto/proto_codec.h"

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only

namespace {

// The writing half of a connection, shared with feed listeners so a late event never touches a
// freed object. mu_ serialises frames; `closed` makes later writes no-ops.
struct Writer {
  explicit Writer(int fd) : fd(fd) {}
  int fd;
  Mutex mu;
  bool closed GUARDED_BY(mu) = false;

  // False when the peer is gone or too slow; the connection is then shut down.
  bool send(const google::protobuf::MessageLite& frame) {
    std::string bytes;
    appendFrame(frame, &bytes);
    MutexLock lock(mu);
    if (closed) return false;
    if (!writeAll(fd, bytes).ok()) {
      closed = true;
      ::shutdown(fd, SHUT_RDWR);
      return false;
    }
    return true;
  }
};

}  // namespace

class ProtoServer::Impl {
 public:
  Impl(Vault* vault, Auth* auth, ServerOptions options)
      : dispatcher_(vault, auth),
        options_(std::move(options)),
        clients_(vault != nullptr
                     ? std::make_unique<ClientRegistry>(*vault, options_.max_open_handles)
                     : nullptr) {}

  ~Impl() { stop(); }

  Status start() {
    if (!options_.socket_path.empty()) {
      auto fd = listenUnix(options_.socket_path);
      if (!fd) return fd.status();
      listen_fd_ = std::move(*fd);
      wake_.reset(::eventfd(0, EFD_CLOEXEC));
      touchLogRegistry();
      accept_thread_ = std::thread([this] { acceptLoop(); });
    }
    return okStatus();
  }

  void stop() {
    if (wake_.valid()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    std::list<Conn> conns;
    {
      MutexLock lock(mu_);
      stopping_ = true;
      for (auto& c : conns_) ::shutdown(c.fd.get(), SHUT_RDWR);
      conns.splice(conns.end(), conns_);
    }
    for (auto& c : conns) c.thread.join();
    if (!options_.socket_path.empty() && listen_fd_.valid()) {
      ::unlink(options_.socket_path.c_str());
    }
    listen_fd_.reset();
  }

  Status adopt(UniqueFd fd) {
    auto creds = peerCredentials(fd.get());
    if (!creds) return creds.status();
    admit(std::move(fd), *creds);
    return okStatus();
  }

  ServerCounters counters() const {
    return {accepted_.load(), refused_.load(), closed_on_error_.load()};
  }

 private:
  struct Conn {
    UniqueFd fd;
    std::thread thread;
    bool done = false;
  };

  void acceptLoop() {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    for (;;) {
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (fds[1].revents & POLLIN)) return;
      if (!(fds[0].revents & POLLIN)) continue;
      UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
          spdlog::error("protobuf server {}: accept: {}", options_.socket_path,
                        std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // EMFILE: let fds free up
        }
        continue;
      }
      auto creds = peerCredentials(fd.get());
      if (!creds) {
        refuse(creds.status().toString());
        continue;
      }
      admit(std::move(fd), *creds);
    }
  }

  void refuse(const std::string& why) {
    refused_.fetch_add(1);
    spdlog::warn("protobuf server {}: refused a connection: {}", options_.socket_path, why);
  }

  void admit(UniqueFd fd, PeerCredentials creds) {
    if (!peerUidAllowed(creds.uid)) {
      return refuse(fmt::format("uid {} (pid {}) is neither ours nor root", creds.uid, creds.pid));
    }
    timeval tv{};
    tv.tv_sec = options_.write_timeout.count() / 1000;
    tv.tv_usec = (options_.write_timeout.count() % 1000) * 1000;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    MutexLock lock(mu_);
    if (stopping_) return;
    reapLocked();
    accepted_.fetch_add(1);
    auto& conn = conns_.emplace_back();
    conn.fd = std::move(fd);
    std::string peer = fmt::format("uid {} pid {}", creds.uid, creds.pid);
    conn.thread = std::thread([this, c = &conn, peer, pid = creds.pid] { serve(*c, peer, pid); });
  }

  // Joins connection threads that have finished.
  void reapLocked() REQUIRES(mu_) {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->done) {
        it->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void serve(Conn& conn, const std::string& peer, int pid) {
    int fd = conn.fd.get();
    auto writer = std::make_shared<Writer>(fd);
    // This connection's view of the vault: its client's handles only, released when the
    // client's last connection ends.
    std::unique_ptr<ConnectionVault> vault;
    if (clients_ != nullptr) {
      vault = std::make_unique<ConnectionVault>(*dispatcher_.vault(), clients_->join(pid));
    }
    ProtoDispatcher dispatcher(vault.get(), dispatcher_.auth());
    std::map<std::uint64_t, std::unique_ptr<Subscription>> feeds;
    FrameDecoder decoder(options_.max_message_bytes);
    std::string buf(64 * 1024, '\0');
    pb::Request request;
    pb::ServerFrame reply;
    std::string closing;  // why we close, when it is our decision
    bool bad = false;
    while (closing.empty()) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      decoder.append(buf.data(), static_cast<std::size_t>(n));
      std::string_view frame;
      std::string error;
      for (;;) {
        auto next = decoder.next(&frame, &error);
        if (next == FrameDecoder::Next::need_more) break;
        if (next == FrameDecoder::Next::error) {
          closing = error;
          bad = true;
          break;
        }
        if (!parseFrame(frame, &request).ok()) {
          closing = "frame is not a valid Request";
          bad = true;
          break;
        }
        if (request.id() == 0) {
          closing = "request id 0";
          bad = true;
          break;
        }
        reply.Clear();
        auto* response = reply.mutable_response();
        if (ProtoDispatcher::isFeedControl(request)) {
          feedControl(request, response, writer, feeds);
        } else {
          dispatcher.handle(request, response);
        }
        if (!writer->send(reply)) {
          closing = "peer stopped reading (write failed or timed out)";
          break;
        }
      }
    }
    if (bad) {
      closed_on_error_.fetch_add(1);
      spdlog::warn("protobuf server {}: closing connection from {}: {}", options_.socket_path, peer,
                   closing);
    } else if (!closing.empty()) {
      spdlog::info("protobuf server {}: closing connection from {}: {}", options_.socket_path, peer,
                   closing);
    }
    feeds.clear();  // waits for listener calls in flight
    vault.reset();  // the client's last connection releases every handle it still holds
    {
      MutexLock lock(writer->mu);
      writer->closed = true;
      ::shutdown(fd, SHUT_RDWR);
    }
    MutexLock lock(mu_);
    conn.done = true;
  }

  void feedControl(const pb::Request& request, pb::Response* response,
                   const std::shared_ptr<Writer>& writer,
                   std::map<std::uint64_t, std::unique_ptr<Subscription>>& feeds) {
    response->set_id(request.id());
    std::uint64_t id = request.id();
    std::weak_ptr<Writer> weak = writer;
    switch (request.call_case()) {
      case pb::Request::kVaultSubscribe:
        if (dispatcher_.vault() == nullptr) {
          return setError(Status(Errc::not_supported, "no Vault on this socket"),
                          response->mutable_error());
        }
        feeds[id] = dispatcher_.vault()->subscribe([weak, id](const ChangeEvent& ev) {
          pb::ServerFrame frame;
          frame.mutable_event()->set_subscription(id);
          toWire(ev, frame.mutable_event()->mutable_change());
          if (auto w = weak.lock()) w->send(frame);
        });
        return;
      case pb::Request::kAuthSubscribe:
        if (dispatcher_.auth() == nullptr) {
          return setError(Status(Errc::not_supported, "no Auth on this socket"),
                          response->mutable_error());
        }
        feeds[id] = dispatcher_.auth()->subscribe([weak, id](const AuthEvent& ev) {
          pb::ServerFrame frame;
          frame.mutable_event()->set_subscription(id);
          toWire(ev, frame.mutable_event()->mutable_auth());
          if (auto w = weak.lock()) w->send(frame);
        });
        return;
      case pb::Request::kUnsubscribe:
        if (feeds.erase(request.unsubscribe().subscription()) == 0) {
          setError(Status(Errc::not_found, "no such subscription"), response->mutable_error());
        }
        return;
      default:
        return;
    }
  }

  ProtoDispatcher dispatcher_;
  ServerOptions options_;
  std::unique_ptr<ClientRegistry> clients_;  // null without a vault; after options_ (uses it)
  UniqueFd listen_fd_;
  UniqueFd wake_;
  std::thread accept_thread_;
  std::atomic<std::uint64_t> accepted_{0}, refused_{0}, closed_on_error_{0};

  Mutex mu_;
  std::list<Conn> conns_ GUARDED_BY(mu_);  // stable addresses: each thread holds its Conn&
  bool stopping_ GUARDED_BY(mu_) = false;
};

ProtoServer::ProtoServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProtoServer::~ProtoServer() = default;

Result<std::unique_ptr<ProtoServer>> ProtoServer::serve(Vault* vault, Auth* auth,
                                                        ServerOptions options) {
  auto impl = std::make_unique<Impl>(vault, auth, std::move(options));
  SEAMS_RETURN_IF_ERROR(impl->start());
  return std::make_unique<ProtoServer>(std::move(impl));
}

Status ProtoServer::adopt(UniqueFd fd) {
  return impl_->adopt(std::move(fd));
}
ServerCounters ProtoServer::counters() const {
  return impl_->counters();
}

}  // namespace seams::ipc

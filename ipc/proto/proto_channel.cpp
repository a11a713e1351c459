#include "ipc/proto/proto_channel.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/common/thread_annotations.h"
#include "ipc/transport/loopback.h"
#include "ipc/transport/per_thread.h"
#include "ipc/transport/reconnect.h"

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only
using Clock = std::chrono::steady_clock;

Result<pb::Response> ProtoChannel::call(pb::Request& request, Route route) {
  std::vector<pb::Request> one;
  one.push_back(std::move(request));
  auto out = callMany(one, route);
  request = std::move(one[0]);
  return std::move(out[0]);
}

namespace {

// ---- loopback ------------------------------------------------------------------------------

class LoopbackChannel final : public ProtoChannel {
 public:
  // Loopback is one connection: the same per-connection view of the vault a server gives.
  LoopbackChannel(Vault* vault, Auth* auth)
      : peer_(vault, auth), dispatcher_(peer_.vault(), auth) {}

  std::vector<Result<pb::Response>> callMany(std::vector<pb::Request>& requests, Route) override {
    std::vector<Result<pb::Response>> out;
    out.reserve(requests.size());
    for (auto& r : requests) out.push_back(one(r));
    return out;
  }

  std::uint64_t addFeed(pb::Request start, EventFn fn, std::function<void()>) override {
    std::lock_guard lock(mu_);
    std::uint64_t key = ++next_key_;
    auto deliver = [fn = std::move(fn)](const pb::Event& ev) {
      // Through the codec, as it would cross a socket.
      std::string bytes;
      appendFrame(ev, &bytes);
      FrameDecoder decoder;
      decoder.append(bytes.data(), bytes.size());
      std::string_view frame;
      std::string error;
      pb::Event decoded;
      if (decoder.next(&frame, &error) == FrameDecoder::Next::frame &&
          parseFrame(frame, &decoded).ok()) {
        fn(decoded);
      }
    };
    if (start.has_vault_subscribe() && dispatcher_.vault() != nullptr) {
      feeds_[key] = dispatcher_.vault()->subscribe([deliver, key](const ChangeEvent& e) {
        pb::Event ev;
        ev.set_subscription(key);
        toWire(e, ev.mutable_change());
        deliver(ev);
      });
    } else if (start.has_auth_subscribe() && dispatcher_.auth() != nullptr) {
      feeds_[key] = dispatcher_.auth()->subscribe([deliver, key](const AuthEvent& e) {
        pb::Event ev;
        ev.set_subscription(key);
        toWire(e, ev.mutable_auth());
        deliver(ev);
      });
    }
    return key;
  }

  void removeFeed(std::uint64_t key) override {
    std::unique_ptr<Subscription> sub;
    {
      std::lock_guard lock(mu_);
      auto it = feeds_.find(key);
      if (it == feeds_.end()) return;
      sub = std::move(it->second);
      feeds_.erase(it);
    }
    sub.reset();  // waits for listener calls in flight, outside mu_
  }

 private:
  Result<pb::Response> one(pb::Request& request) {
    request.set_id(1);
    std::string wire;
    request.SerializeToString(&wire);
    pb::Request decoded;
    SEAMS_RETURN_IF_ERROR(parseFrame(wire, &decoded));
    pb::Response response;
    dispatcher_.handle(decoded, &response);
    wire.clear();
    response.SerializeToString(&wire);
    pb::Response back;
    SEAMS_RETURN_IF_ERROR(parseFrame(wire, &back));
    return back;
  }

  LoopbackPeer peer_;
  ProtoDispatcher dispatcher_;
  std::mutex mu_;  // guards feeds_, next_key_
  std::map<std::uint64_t, std::unique_ptr<Subscription>> feeds_;
  std::uint64_t next_key_ = 0;
};

// ---- per-thread call connections -------------------------------------------------------------
//
// With a socket path (no custom connector) every calling thread gets its own blocking
// connection per channel: it writes its request and reads the answer itself, so a call costs
// what a raw ping-pong costs plus the codec -- no hand-off to an I/O thread and back. Who owns
// it and how it ends: ipc/transport/per_thread.h.

struct CallConn {
  UniqueFd fd;
  std::shared_ptr<SocketShutdown> shutdown;  // shared with the channel (per_thread.h)
  std::unique_ptr<FrameDecoder> decoder;     // remade with each connection
  std::uint64_t next_id = 0;

  void drop() {
    if (shutdown) shutdown->forget();
    shutdown = nullptr;
    fd.reset();
  }
  ~CallConn() { drop(); }
};

thread_local ThreadConnectionTable<CallConn> t_call_conns;  // NOLINT: one table per thread

// ---- socket --------------------------------------------------------------------------------

// Lock order: dispatch_mu_ -> mu_ -> write_mu_.
class SocketChannel final : public ProtoChannel {
 public:
  explicit SocketChannel(ClientOptions options)
      : options_(std::move(options)),
        per_thread_(options_.perThread()),
        gate_(options_),
        backoff_({.initial = options_.backoff_initial, .max = options_.backoff_max}),
        io_([this] { ioLoop(); }) {}

  ~SocketChannel() override {
    // Other threads' call connections are theirs to destroy: end them at the server now.
    per_thread_stub_.close();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      state_cv_.notify_all();
      std::lock_guard wlock(write_mu_);
      if (write_fd_ >= 0) ::shutdown(write_fd_, SHUT_RDWR);
    }
    io_.join();
  }

  std::vector<Result<pb::Response>> callMany(std::vector<pb::Request>& requests,
                                             Route route) override {
    // While a feed is not (re)subscribed at the server, calls take the feed's connection, behind
    // its subscribe request: a call that succeeded never raised an event the feed then missed
    // without a resync. Once every feed is acknowledged, any connection will do.
    if (per_thread_ && route == Route::any && !feeds_unsettled_.load(std::memory_order_acquire))
      return callOnThreadConnection(requests);
    const auto deadline = Clock::now() + options_.call_timeout;
    std::vector<Pending> pending(requests.size());
    std::vector<Result<pb::Response>> out;
    out.reserve(requests.size());
    std::uint64_t generation = 0;
    std::string frames;
    {
      std::unique_lock lock(mu_);
      Status ready = awaitConnection(lock, deadline);
      if (!ready.ok()) {
        for (std::size_t i = 0; i < requests.size(); ++i) out.emplace_back(ready);
        return out;
      }
      generation = generation_;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        requests[i].set_id(++next_id_);
        pending_[requests[i].id()] = &pending[i];
      }
    }
    for (auto& r : requests) appendFrame(r, &frames);
    Status written = write(generation, frames);
    std::unique_lock lock(mu_);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      Pending& p = pending[i];
      if (!written.ok()) {
        out.emplace_back(written);
      } else if (!p.cv.wait_until(lock, deadline, [&] { return p.done; })) {
        out.emplace_back(timedOut());
      } else if (!p.failure.ok()) {
        out.emplace_back(p.failure);
      } else {
        out.emplace_back(std::move(p.response));
      }
      pending_.erase(requests[i].id());
    }
    return out;
  }

  std::uint64_t addFeed(pb::Request start, EventFn fn, std::function<void()> resync) override {
    std::uint64_t key;
    std::string frame;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      key = ++next_feed_;
      Feed& feed = feeds_[key];
      feed.start = std::move(start);
      feed.fn = std::move(fn);
      feed.resync = std::move(resync);
      if (connected_) {
        frame = subscribeFrameLocked(key, feed);
        generation = generation_;
      } else {
        state_cv_.notify_all();  // the I/O thread connects while feeds exist
      }
      publishLocked();
    }
    if (!frame.empty()) (void)write(generation, frame);
    return key;
  }

  void removeFeed(std::uint64_t key) override {
    std::lock_guard dispatch(dispatch_mu_);
    std::string frame;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      auto it = feeds_.find(key);
      if (it == feeds_.end()) return;
      if (connected_ && it->second.wire_id != 0) {
        pb::Request unsubscribe;
        unsubscribe.set_id(++next_id_);
        unsubscribe.mutable_unsubscribe()->set_subscription(it->second.wire_id);
        appendFrame(unsubscribe, &frame);
        generation = generation_;
        wire_to_feed_.erase(it->second.wire_id);
      }
      feeds_.erase(it);
      publishLocked();
    }
    if (!frame.empty()) (void)write(generation, frame);
  }

 private:
  struct Pending {
    std::condition_variable cv;
    bool done = false;
    pb::Response response;
    Status failure;
  };
  struct Feed {
    pb::Request start;
    EventFn fn;
    std::function<void()> resync;
    std::uint64_t wire_id = 0;  // the subscribe request's id on the current connection
    bool acked = false;         // the server answered that subscribe request
    bool needs_resync = false;
  };

  // Tells callers whether every feed is subscribed on a live connection. REQUIRES: mu_ held.
  void publishLocked() {
    bool settled = connected_ && std::all_of(feeds_.begin(), feeds_.end(),
                                             [](const auto& f) { return f.second.acked; });
    feeds_unsettled_.store(!feeds_.empty() && !settled, std::memory_order_release);
  }

  // ---- calls on the calling thread's own connection ----

  CallConn& threadConnection() {
    if (CallConn* c = t_call_conns.find(per_thread_stub_)) return *c;
    return t_call_conns.add(per_thread_stub_, std::make_unique<CallConn>());
  }

  static std::vector<Result<pb::Response>> failAll(std::size_t n, const Status& st) {
    std::vector<Result<pb::Response>> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.emplace_back(st);
    return out;
  }

  // An idle call connection has nothing to read: readable or hung up means the peer closed it
  // (restarted, or dropped us) while this thread was not calling.
  static bool idleConnectionLost(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    int n = ::poll(&p, 1, 0);
    return n != 0;
  }

  // Connects `c` (the shared backoff decides whether we may try now).
  Status connectCallConnection(CallConn& c) {
    auto fd = gate_.dial(options_);
    if (!fd) return fd.status();
    // The first read of a call blocks in the kernel (no poll) for at most this long; the
    // deadline check below keeps the whole call within call_timeout.
    timeval tv{};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(recvTimeout()).count();
    tv.tv_sec = static_cast<time_t>(us / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c.shutdown = per_thread_stub_.track(fd->get());
    c.fd = std::move(*fd);
    c.decoder = std::make_unique<FrameDecoder>(options_.max_message_bytes);
    return okStatus();
  }

  std::chrono::microseconds recvTimeout() const {
    auto t =
        std::chrono::duration_cast<std::chrono::microseconds>(options_.call_timeout) - kRecvSlack;
    return std::max(t, std::chrono::microseconds(1000));
  }

  Status timedOut() const { return callTimedOut(options_); }

  // Writes all of `bytes` before `deadline`.
  Status sendBefore(int fd, std::string_view bytes, Clock::time_point deadline) const {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Status(Errc::unavailable,
                      fmt::format("{}: write: {}", options_.socket_path, std::strerror(errno)));
      }
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return timedOut();
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    }
    return okStatus();
  }

  // Reads more bytes into c.decoder before `deadline`.
  Status recvBefore(CallConn& c, Clock::time_point deadline) const {
    thread_local std::string buf(64 * 1024, '\0');
    for (;;) {
      auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return timedOut();
      int flags = 0;
      if (left < recvTimeout()) {
        // Less time left than the socket's own receive timeout: wait here instead.
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(left);
        pollfd p{c.fd.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(ms.count()));
        if (r == 0) return timedOut();
        flags = MSG_DONTWAIT;
      }
      ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), flags);
      if (n > 0) {
        c.decoder->append(buf.data(), static_cast<std::size_t>(n));
        return okStatus();
      }
      if (n == 0)
        return Status(Errc::unavailable, options_.socket_path + ": peer closed the connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (flags == 0) return timedOut();  // SO_RCVTIMEO passed
        continue;
      }
      return Status(Errc::unavailable,
                    fmt::format("{}: read: {}", options_.socket_path, std::strerror(errno)));
    }
  }

  std::vector<Result<pb::Response>> callOnThreadConnection(std::vector<pb::Request>& requests) {
    const auto deadline = Clock::now() + options_.call_timeout;
    CallConn& c = threadConnection();
    if (c.fd.valid() && idleConnectionLost(c.fd.get())) c.drop();
    if (!c.fd.valid()) {
      Status st = connectCallConnection(c);
      if (!st.ok()) return failAll(requests.size(), st);
    }
    std::string frames;
    std::unordered_map<std::uint64_t, std::size_t> index;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      requests[i].set_id(++c.next_id);
      index.emplace(requests[i].id(), i);
      appendFrame(requests[i], &frames);
    }
    std::vector<std::optional<Result<pb::Response>>> answers(requests.size());
    std::size_t missing = requests.size();
    Status failure = sendBefore(c.fd.get(), frames, deadline);
    pb::ServerFrame frame_msg;
    while (failure.ok() && missing > 0) {
      std::string_view frame;
      std::string error;
      auto next = c.decoder->next(&frame, &error);
      if (next == FrameDecoder::Next::need_more) {
        failure = recvBefore(c, deadline);
        continue;
      }
      if (next == FrameDecoder::Next::error || !parseFrame(frame, &frame_msg).ok()) {
        if (error.empty()) error = "frame is not a valid ServerFrame";
        spdlog::warn("protobuf client {}: closing connection: bad frame from server: {}",
                     options_.socket_path, error);
        failure =
            Status(Errc::unavailable, options_.socket_path + ": bad frame from server: " + error);
        break;
      }
      if (!frame_msg.has_response()) continue;  // call connections carry no feeds
      auto it = index.find(frame_msg.response().id());
      if (it == index.end() || answers[it->second]) continue;
      answers[it->second].emplace(std::move(*frame_msg.mutable_response()));
      --missing;
    }
    // A connection that failed or timed out may still deliver a late answer: never reuse it.
    if (!failure.ok()) c.drop();
    std::vector<Result<pb::Response>> out;
    out.reserve(requests.size());
    for (auto& a : answers) {
      if (a)
        out.push_back(std::move(*a));
      else
        out.emplace_back(failure);
    }
    return out;
  }

  // Waits (bounded) until connected. REQUIRES: lock holds mu_.
  Status awaitConnection(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
    if (connected_) return okStatus();
    auto now = Clock::now();
    if (now < next_attempt_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
      return Status(Errc::unavailable, fmt::format("{} (next reconnect attempt in {} ms)",
                                                   last_error_.toString(), ms.count()));
    }
    std::uint64_t seen = attempts_;
    want_connect_ = true;
    state_cv_.notify_all();
    state_cv_.wait_until(lock, deadline,
                         [&] { return connected_ || attempts_ != seen || stopping_; });
    if (connected_) return okStatus();
    if (attempts_ == seen) {
      return Status(Errc::unavailable, options_.socket_path + ": connect did not finish in time");
    }
    return Status(Errc::unavailable, last_error_.toString());
  }

  Status write(std::uint64_t generation, const std::string& bytes) {
    std::lock_guard lock(write_mu_);
    if (write_fd_ < 0 || write_generation_ != generation) {
      return Status(Errc::unavailable, options_.socket_path + ": connection lost");
    }
    Status st = writeAll(write_fd_, bytes);
    if (!st.ok()) ::shutdown(write_fd_, SHUT_RDWR);  // the I/O thread notices and cleans up
    return st;
  }

  // REQUIRES: mu_ held and connected_.
  std::string subscribeFrameLocked(std::uint64_t key, Feed& feed) {
    feed.wire_id = ++next_id_;
    feed.acked = false;
    feed.start.set_id(feed.wire_id);
    wire_to_feed_[feed.wire_id] = key;
    std::string frame;
    appendFrame(feed.start, &frame);
    return frame;
  }

  void ioLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      bool reason = want_connect_ || !feeds_.empty();
      if (!reason) {
        state_cv_.wait(lock);
        continue;
      }
      if (Clock::now() < next_attempt_) {
        state_cv_.wait_until(lock, next_attempt_);
        continue;
      }
      lock.unlock();
      auto fd = dial(options_);
      lock.lock();
      ++attempts_;
      want_connect_ = false;
      if (!fd) {
        last_error_ = fd.status();
        next_attempt_ = Clock::now() + backoff_.next();
        state_cv_.notify_all();
        continue;
      }
      if (stopping_) break;
      backoff_.reset();
      {
        std::lock_guard wlock(write_mu_);
        write_fd_ = fd->get();
        write_generation_ = ++generation_;
      }
      connected_ = true;
      std::string subscribe_frames;
      std::vector<std::function<void()>> resyncs;
      for (auto& [key, feed] : feeds_) {
        subscribe_frames += subscribeFrameLocked(key, feed);
        if (feed.needs_resync) {
          resyncs.push_back(feed.resync);
          feed.needs_resync = false;
        }
      }
      // Feeds first: a call made once we are connected must find its events subscribed.
      if (!subscribe_frames.empty()) (void)write(generation_, subscribe_frames);
      publishLocked();
      state_cv_.notify_all();
      lock.unlock();

      if (!resyncs.empty()) {
        std::lock_guard dispatch(dispatch_mu_);
        for (auto& r : resyncs) r();
      }
      std::string why = readLoop(fd->get());

      lock.lock();
      {
        std::lock_guard wlock(write_mu_);
        write_fd_ = -1;
      }
      fd->reset();
      connected_ = false;
      wire_to_feed_.clear();
      for (auto& [key, feed] : feeds_) {
        feed.wire_id = 0;
        feed.acked = false;
        feed.needs_resync = true;
      }
      publishLocked();
      for (auto& [id, p] : pending_) {
        p->failure = Status(Errc::unavailable, options_.socket_path + ": " + why);
        p->done = true;
        p->cv.notify_all();
      }
      last_error_ = Status(Errc::unavailable, options_.socket_path + ": " + why);
      next_attempt_ = Clock::now();  // the first reconnect is immediate; failures back off
      if (!stopping_)
        spdlog::warn("protobuf client {}: connection lost: {}", options_.socket_path, why);
    }
  }

  // Reads frames until the connection ends; returns why.
  std::string readLoop(int fd) {
    FrameDecoder decoder(options_.max_message_bytes);
    std::string buf(64 * 1024, '\0');
    pb::ServerFrame frame_msg;
    for (;;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n == 0) return "peer closed the connection";
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::string("read: ") + std::strerror(errno);
      }
      decoder.append(buf.data(), static_cast<std::size_t>(n));
      std::string_view frame;
      std::string error;
      for (;;) {
        auto next = decoder.next(&frame, &error);
        if (next == FrameDecoder::Next::need_more) break;
        if (next == FrameDecoder::Next::error || !parseFrame(frame, &frame_msg).ok()) {
          if (error.empty()) error = "frame is not a valid ServerFrame";
          spdlog::warn("protobuf client {}: closing connection: bad frame from server: {}",
                       options_.socket_path, error);
          return "bad frame from server: " + error;
        }
        if (frame_msg.has_response()) {
          deliverResponse(frame_msg.mutable_response());
        } else if (frame_msg.has_event()) {
          deliverEvent(frame_msg.event());
        }
      }
    }
  }

  void deliverResponse(pb::Response* response) {
    std::lock_guard lock(mu_);
    auto it = pending_.find(response->id());
    if (it == pending_.end()) {
      // A call that timed out, or a feed's subscribe/unsubscribe answer.
      auto w = wire_to_feed_.find(response->id());
      if (w == wire_to_feed_.end()) return;
      if (response->has_error()) {
        spdlog::warn("protobuf client {}: subscribe failed: {}", options_.socket_path,
                     errorOf(*response).toString());
      }
      if (auto f = feeds_.find(w->second); f != feeds_.end()) f->second.acked = true;
      publishLocked();
      return;
    }
    Pending* p = it->second;
    p->response = std::move(*response);
    p->done = true;
    p->cv.notify_all();
  }

  void deliverEvent(const pb::Event& event) {
    std::lock_guard dispatch(dispatch_mu_);
    const EventFn* fn = nullptr;
    {
      std::lock_guard lock(mu_);
      auto w = wire_to_feed_.find(event.subscription());
      if (w == wire_to_feed_.end()) return;
      auto f = feeds_.find(w->second);
      if (f == feeds_.end()) return;
      fn = &f->second.fn;  // stable while dispatch_mu_ is held (removeFeed takes it)
    }
    (*fn)(event);
  }

  static constexpr std::chrono::microseconds kRecvSlack{1000};

  const ClientOptions options_;
  const bool per_thread_;          // calls on per-thread connections (a socket path, no connector)
  PerThreadStub per_thread_stub_;  // this channel's id, alive token and call connections' fds
  ReconnectGate gate_;             // the call connections' shared reconnect state

  // True while some feed exists and is not acknowledged on a live connection; written under mu_.
  std::atomic<bool> feeds_unsettled_{false};

  std::mutex dispatch_mu_;  // held while a listener runs

  std::mutex mu_;  // guards everything down to write_mu_
  std::condition_variable state_cv_;
  bool stopping_ = false;
  bool want_connect_ = false;
  bool connected_ = false;
  std::uint64_t attempts_ = 0;
  std::uint64_t generation_ = 0;
  Status last_error_{Errc::unavailable, "not connected yet"};
  Clock::time_point next_attempt_{};
  Backoff backoff_;
  std::unordered_map<std::uint64_t, Pending*> pending_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Feed> feeds_;
  std::uint64_t next_feed_ = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> wire_to_feed_;

  std::mutex write_mu_;  // serialises frames; guards write_fd_, write_generation_
  int write_fd_ = -1;    // owned by the I/O thread's UniqueFd
  std::uint64_t write_generation_ = 0;

  std::thread io_;  // last: starts after everything above is constructed
};

}  // namespace

std::unique_ptr<ProtoChannel> makeSocketChannel(ClientOptions options) {
  return std::make_unique<SocketChannel>(std::move(options));
}

std::unique_ptr<ProtoChannel> makeLoopbackChannel(Vault* vault, Auth* auth) {
  return std::make_unique<LoopbackChannel>(vault, auth);
}

}  // namespace seams::ipc

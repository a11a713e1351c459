#include "ipc/proto/proto_channel.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only
using Clock = std::chrono::steady_clock;

Result<pb::Response> ProtoChannel::call(pb::Request& request) {
  std::vector<pb::Request> one;
  one.push_back(std::move(request));
  auto out = callMany(one);
  request = std::move(one[0]);
  return std::move(out[0]);
}

namespace {

// ---- loopback ------------------------------------------------------------------------------

class LoopbackChannel final : public ProtoChannel {
 public:
  LoopbackChannel(Vault* vault, Auth* auth) : dispatcher_(vault, auth) {}

  std::vector<Result<pb::Response>> callMany(std::vector<pb::Request>& requests) override {
    std::vector<Result<pb::Response>> out;
    out.reserve(requests.size());
    for (auto& r : requests) out.push_back(one(r));
    return out;
  }

  std::uint64_t addFeed(pb::Request start, EventFn fn, std::function<void()>) override {
    std::lock_guard lock(mu_);
    std::uint64_t key = ++next_key_;
    auto deliver = [fn = std::move(fn), key](const pb::Event& ev) {
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

  ProtoDispatcher dispatcher_;
  std::mutex mu_;  // guards feeds_, next_key_
  std::map<std::uint64_t, std::unique_ptr<Subscription>> feeds_;
  std::uint64_t next_key_ = 0;
};

// ---- socket --------------------------------------------------------------------------------

// Lock order: dispatch_mu_ -> mu_ -> write_mu_.
class SocketChannel final : public ProtoChannel {
 public:
  explicit SocketChannel(ProtoClientOptions options)
      : options_(std::move(options)),
        backoff_(options_.backoff_initial, options_.backoff_max),
        io_([this] { ioLoop(); }) {}

  ~SocketChannel() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      state_cv_.notify_all();
      std::lock_guard wlock(write_mu_);
      if (write_fd_ >= 0) ::shutdown(write_fd_, SHUT_RDWR);
    }
    io_.join();
  }

  std::vector<Result<pb::Response>> callMany(std::vector<pb::Request>& requests) override {
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
        out.emplace_back(Status(Errc::unavailable,
                                fmt::format("{}: no answer within {} ms", options_.socket_path,
                                            options_.call_timeout.count())));
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
    bool needs_resync = false;
  };

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
      auto fd = options_.connector ? options_.connector() : connectUnix(options_.socket_path);
      if (fd) {
        if (auto peer = checkServerPeer(fd->get()); !peer.ok()) fd = Result<UniqueFd>(peer);
      }
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
        feed.needs_resync = true;
      }
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
    FrameDecoder decoder(options_.max_frame_bytes);
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
      if (response->has_error() && wire_to_feed_.count(response->id()) != 0) {
        spdlog::warn("protobuf client {}: subscribe failed: {}", options_.socket_path,
                     errorOf(*response).toString());
      }
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

  const ProtoClientOptions options_;
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

std::unique_ptr<ProtoChannel> makeSocketChannel(ProtoClientOptions options) {
  return std::make_unique<SocketChannel>(std::move(options));
}

std::unique_ptr<ProtoChannel> makeLoopbackChannel(Vault* vault, Auth* auth) {
  return std::make_unique<LoopbackChannel>(vault, auth);
}

}  // namespace seams::ipc

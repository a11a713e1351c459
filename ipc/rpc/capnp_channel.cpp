#include "ipc/rpc/capnp_channel.h"

#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <kj/async-io.h>
#include <kj/time.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <unordered_map>
#include <vector>

#include "core/common/thread_annotations.h"
#include "ipc/net/log_registry.h"
#include "ipc/rpc/capnp_codec.h"
#include "ipc/rpc/read_buffered_stream.h"

namespace seams::ipc {

Status statusFromKj(const kj::Exception& e) {
  std::string what = e.getDescription().cStr();
  switch (e.getType()) {
    case kj::Exception::Type::DISCONNECTED:
      return Status(Errc::unavailable, "peer disconnected: " + what);
    case kj::Exception::Type::OVERLOADED:
      return Status(Errc::unavailable, "peer overloaded: " + what);
    case kj::Exception::Type::UNIMPLEMENTED:
      return Status(Errc::not_supported, what);
    default:
      return Status(Errc::internal, what);
  }
}

namespace {

struct Connection {
  Connection(kj::Own<kj::AsyncIoStream> s, capnp::ReaderOptions options)
      : stream(bufferReadsForCapnp09(kj::mv(s))),
        network(*stream, capnp::rpc::twoparty::Side::CLIENT, options),
        rpc(capnp::makeRpcClient(network)) {
    capnp::word scratch[4];
    memset(scratch, 0, sizeof(scratch));
    capnp::MallocMessageBuilder message(scratch);
    auto vat = message.getRoot<capnp::rpc::twoparty::VatId>();
    vat.setSide(capnp::rpc::twoparty::Side::SERVER);
    bootstrap = rpc.bootstrap(vat);
  }

  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  capnp::Capability::Client bootstrap{nullptr};
};

}  // namespace

// The loop thread's state: the connection, the reconnect schedule and the feeds.
class CapnpChannel::Loop : private kj::TaskSet::ErrorHandler {
 public:
  Loop(kj::AsyncIoContext& io, const ClientOptions& options, std::atomic<bool>& unsettled)
      : io_(io),
        options_(options),
        backoff_({.initial = options.backoff_initial, .max = options.backoff_max}),
        next_attempt_(io.provider->getTimer().now()),
        unsettled_(unsettled) {}

  ~Loop() {
    for (auto* f : feeds_) f->detach();
    conn_ = nullptr;
  }

  kj::Promise<capnp::Capability::Client> bootstrap() {
    KJ_IF_MAYBE (c, conn_) {
      return (*c)->bootstrap;
    }
    if (connecting_ == nullptr) {
      auto now = io_.provider->getTimer().now();
      if (now < next_attempt_) {
        auto wait_ms = (next_attempt_ - now) / kj::MILLISECONDS;
        return KJ_EXCEPTION(DISCONNECTED, "peer unavailable; next reconnect attempt in ms", wait_ms,
                            last_error_);
      }
      connect();
    }
    return KJ_ASSERT_NONNULL(connecting_).addBranch().then([this]() -> capnp::Capability::Client {
      KJ_IF_MAYBE (c, conn_) {
        return (*c)->bootstrap;
      }
      kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "peer unavailable", last_error_));
    });
  }

  kj::Promise<void> timeout() {
    return io_.provider->getTimer().afterDelay(options_.call_timeout.count() * kj::MILLISECONDS);
  }

  void addFeed(Feed* f) {
    feeds_.push_back(f);
    KJ_IF_MAYBE (c, conn_) {
      attachFeed(f, **c);
    } else {
      ensureReconnecting();
    }
    publish();
  }

  void track(kj::Promise<void> p) { tasks_.add(kj::mv(p)); }

  void removeFeed(Feed* f) {
    feeds_.erase(std::remove(feeds_.begin(), feeds_.end(), f), feeds_.end());
    f->detach();
    publish();
  }

 private:
  void connect() {
    auto attempt = kj::evalNow([this]() -> kj::Promise<void> {
      auto fd = dial(options_);
      if (!fd) {
        kj::throwFatalException(
            KJ_EXCEPTION(DISCONNECTED, "connect failed", fd.status().toString()));
      }
      auto stream = io_.lowLevelProvider->wrapSocketFd(
          fd->release(), kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                             kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
      auto conn = kj::heap<Connection>(kj::mv(stream),
                                       capnpcodec::readerOptions(options_.max_message_bytes));
      Connection* raw = conn.get();
      conn_ = kj::mv(conn);
      backoff_.reset();
      ++generation_;
      pending_subscribes_ = 0;
      tasks_.add(raw->network.onDisconnect().then([this, raw] { lost(raw); }));
      for (auto* f : feeds_) {
        attachFeed(f, *raw);
        if (generation_ > 1) f->resync();
      }
      publish();
      return kj::READY_NOW;
    });
    connecting_ = attempt
                      .catch_([this](kj::Exception&& e) {
                        last_error_ = e.getDescription().cStr();
                        next_attempt_ = io_.provider->getTimer().now() +
                                        backoff_.next().count() * kj::NANOSECONDS;
                        ensureReconnecting();
                      })
                      .then([this] { connecting_done_ = true; })
                      .fork();
    connecting_done_ = false;
    // Drop the finished fork lazily (not from inside its own continuation).
    tasks_.add(KJ_ASSERT_NONNULL(connecting_).addBranch().then([this] {
      return kj::evalLater([this] {
        if (connecting_done_) connecting_ = nullptr;
      });
    }));
  }

  void lost(Connection* raw) {
    KJ_IF_MAYBE (c, conn_) {
      if (c->get() != raw) return;
    } else {
      return;
    }
    spdlog::warn("capnp client {}: connection lost; reconnecting", options_.socket_path);
    for (auto* f : feeds_) f->detach();
    unsettled_.store(!feeds_.empty(), std::memory_order_release);
    // Destroy the connection outside its own disconnect continuation.
    tasks_.add(kj::evalLater([this, raw] {
      KJ_IF_MAYBE (c, conn_) {
        if (c->get() == raw) conn_ = nullptr;
      }
      publish();
      next_attempt_ = io_.provider->getTimer().now();
      ensureReconnecting();
    }));
  }

  // While feeds exist, keeps trying to reconnect on the backoff schedule.
  void ensureReconnecting() {
    if (feeds_.empty() || reconnect_scheduled_) return;
    reconnect_scheduled_ = true;
    tasks_.add(io_.provider->getTimer().atTime(next_attempt_).then([this] {
      reconnect_scheduled_ = false;
      if (feeds_.empty() || conn_ != nullptr) return kj::Promise<void>(kj::READY_NOW);
      return bootstrap().ignoreResult().catch_([](kj::Exception&&) {});
    }));
  }

  // Subscribes `f` on `conn`; the feed counts as pending until the server acknowledges (or
  // refuses) it.
  void attachFeed(Feed* f, Connection& conn) {
    ++pending_subscribes_;
    auto generation = generation_;
    tasks_.add(f->attach(conn.bootstrap)
                   .catch_([](kj::Exception&&) {})  // refused: counts as answered
                   .then([this, generation] { subscribed(generation); }));
  }

  void subscribed(std::uint64_t generation) {
    if (generation == generation_ && pending_subscribes_ > 0) --pending_subscribes_;
    publish();
  }

  // Tells callers whether every feed is subscribed on a live connection (CapnpChannel::call).
  void publish() {
    bool live = conn_ != nullptr && pending_subscribes_ == 0;
    unsettled_.store(!feeds_.empty() && !live, std::memory_order_release);
  }

  void taskFailed(kj::Exception&& e) override {
    spdlog::debug("capnp client {}: {}", options_.socket_path, e.getDescription().cStr());
  }

  kj::AsyncIoContext& io_;
  const ClientOptions& options_;
  Backoff backoff_;
  kj::TimePoint next_attempt_;
  std::string last_error_;
  kj::Maybe<kj::Own<Connection>> conn_;
  kj::Maybe<kj::ForkedPromise<void>> connecting_;
  bool connecting_done_ = true;
  bool reconnect_scheduled_ = false;
  std::uint64_t generation_ = 0;
  std::size_t pending_subscribes_ = 0;  // on the current connection, not yet acknowledged
  std::atomic<bool>& unsettled_;        // CapnpChannel::feeds_unsettled_
  std::vector<Feed*> feeds_;
  kj::TaskSet tasks_{*this};  // last: destroyed first, cancelling work that uses the rest
};

// ---- per-thread links ------------------------------------------------------------------------

class CapnpChannel::ThreadLink {
 public:
  ~ThreadLink() { drop(); }

  // Ends the connection (on the owning thread, like every use of a link).
  void drop() {
    if (shutdown_) shutdown_->forget();  // the KJ stream closes the fd
    shutdown_ = nullptr;
    conn_ = nullptr;
  }

  // A connection whose peer hung up while this thread was not calling is no use.
  void dropIfPeerHungUp() {
    if (conn_.get() == nullptr || !shutdown_) return;
    pollfd p{raw_fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) drop();
  }

  kj::Own<Connection> conn_;  // null when not connected
  std::shared_ptr<SocketShutdown> shutdown_;
  int raw_fd_ = -1;
};

namespace {

// One KJ event loop per calling thread (a thread can have only one), shared by all channels the
// thread calls; owned by a thread_local, destroyed at thread exit: links first, then the loop.
struct ThreadKj {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  ThreadConnectionTable<CapnpChannel::ThreadLink> links;
  ~ThreadKj() { links.clear(); }
};

thread_local std::unique_ptr<ThreadKj> t_kj;  // NOLINT: one per thread is the design
thread_local bool t_own_loop = false;         // NOLINT: this thread runs a KJ loop of its own

}  // namespace

void CapnpChannel::threadRunsItsOwnLoop() {
  t_own_loop = true;
}

CapnpChannel::ThreadLink* CapnpChannel::threadLink() {
  if (!per_thread_ || t_own_loop) return nullptr;
  if (!t_kj) {
    try {
      t_kj = std::make_unique<ThreadKj>();
    } catch (const kj::Exception& e) {
      // Someone else's KJ loop lives on this thread (e.g. a control client): hop instead.
      spdlog::debug("capnp client {}: no per-thread loop on this thread: {}", options_.socket_path,
                    e.getDescription().cStr());
      t_own_loop = true;
      return nullptr;
    }
  }
  if (ThreadLink* link = t_kj->links.find(per_thread_stub_)) return link;
  return &t_kj->links.add(per_thread_stub_, std::make_unique<ThreadLink>());
}

kj::WaitScope& CapnpChannel::linkWaitScope(ThreadLink&) {
  return t_kj->io.waitScope;
}

kj::Promise<void> CapnpChannel::linkTimeout(ThreadLink&) {
  // Not afterDelay(): a per-thread loop sleeps between calls, so its timer's now() is as old as
  // the thread's last call. The timer follows this clock, so a deadline read from it is exact.
  return t_kj->io.provider->getTimer().atTime(kj::systemPreciseMonotonicClock().now() +
                                              options_.call_timeout.count() * kj::MILLISECONDS);
}

Result<capnp::Capability::Client> CapnpChannel::connectLink(ThreadLink& link) {
  link.dropIfPeerHungUp();
  if (link.conn_.get() != nullptr) return link.conn_->bootstrap;
  auto fd = gate_.dial(options_);
  if (!fd) return fd.status();
  link.shutdown_ = per_thread_stub_.track(fd->get());
  link.raw_fd_ = fd->get();
  auto stream = t_kj->io.lowLevelProvider->wrapSocketFd(
      fd->release(),
      kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP | kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
  link.conn_ =
      kj::heap<Connection>(kj::mv(stream), capnpcodec::readerOptions(options_.max_message_bytes));
  return link.conn_->bootstrap;
}

void CapnpChannel::linkCallEnded(ThreadLink& link, bool disconnected) {
  if (disconnected) link.drop();
}

// ---- the channel -----------------------------------------------------------------------------

CapnpChannel::CapnpChannel(ClientOptions options)
    : options_(std::move(options)), per_thread_(options_.perThread()), gate_(options_) {
  std::promise<void> ready;
  auto done = ready.get_future();
  touchLogRegistry();
  thread_ = std::thread([this, &ready] { run(&ready); });
  done.wait();
}

CapnpChannel::~CapnpChannel() {
  // Other threads' links cannot be destroyed here (KJ objects die on their own thread): end
  // their connections, and let those threads drop the links (the alive token has expired).
  per_thread_stub_.close();
  inbox_.runSync([this] { stop_->fulfill(); });
  thread_.join();
}

void CapnpChannel::run(std::promise<void>* ready) {
  threadRunsItsOwnLoop();
  auto io = kj::setupAsyncIo();
  auto paf = kj::newPromiseAndFulfiller<void>();
  {
    Loop loop(io, options_, feeds_unsettled_);
    loop_ = &loop;
    stop_ = kj::mv(paf.fulfiller);
    auto efd = io.lowLevelProvider->wrapInputFd(inbox_.fd());
    loop.track(inbox_.pump(*efd));
    ready->set_value();
    paf.promise.wait(io.waitScope);
    inbox_.close();
    loop_ = nullptr;
  }
  stop_ = nullptr;
}

kj::Promise<capnp::Capability::Client> CapnpChannel::bootstrap() {
  return loop_->bootstrap();
}

kj::Promise<void> CapnpChannel::callTimeout() {
  return loop_->timeout();
}

void CapnpChannel::track(kj::Promise<void> promise) {
  loop_->track(kj::mv(promise));
}

Status CapnpChannel::timeoutStatus() const {
  return callTimedOut(options_);
}

void CapnpChannel::addFeed(Feed* feed) {
  runOnLoop([&] { loop_->addFeed(feed); });
}

void CapnpChannel::removeFeed(Feed* feed) {
  runOnLoop([&] { loop_->removeFeed(feed); });
}

void CapnpChannel::runOnLoop(const std::function<void()>& fn) {
  inbox_.runSync(fn);
}

}  // namespace seams::ipc

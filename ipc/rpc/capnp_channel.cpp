#include "ipc/rpc/capnp_channel.h"

#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <kj/async-io.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <vector>

#include "ipc/rpc/capnp_codec.h"

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
      : stream(kj::mv(s)),
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
  Loop(kj::AsyncIoContext& io, const CapnpClientOptions& options)
      : io_(io),
        options_(options),
        backoff_(options.backoff_initial, options.backoff_max),
        next_attempt_(io.provider->getTimer().now()) {}

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
      f->attach((*c)->bootstrap, tasks_);
    } else {
      ensureReconnecting();
    }
  }

  void track(kj::Promise<void> p) { tasks_.add(kj::mv(p)); }

  void removeFeed(Feed* f) {
    feeds_.erase(std::remove(feeds_.begin(), feeds_.end(), f), feeds_.end());
    f->detach();
  }

 private:
  void connect() {
    auto attempt = kj::evalNow([this]() -> kj::Promise<void> {
      auto fd = options_.connector ? options_.connector() : connectUnix(options_.socket_path);
      if (!fd) {
        kj::throwFatalException(
            KJ_EXCEPTION(DISCONNECTED, "connect failed", fd.status().toString()));
      }
      if (auto peer = checkServerPeer(fd->get()); !peer.ok()) {
        kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "refused server", peer.toString()));
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
      tasks_.add(raw->network.onDisconnect().then([this, raw] { lost(raw); }));
      for (auto* f : feeds_) {
        f->attach(raw->bootstrap, tasks_);
        if (generation_ > 1) f->resync();
      }
      return kj::READY_NOW;
    });
    connecting_ = attempt
                      .catch_([this](kj::Exception&& e) {
                        last_error_ = e.getDescription().cStr();
                        next_attempt_ = io_.provider->getTimer().now() +
                                        backoff_.next().count() * kj::MILLISECONDS;
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
    // Destroy the connection outside its own disconnect continuation.
    tasks_.add(kj::evalLater([this, raw] {
      KJ_IF_MAYBE (c, conn_) {
        if (c->get() == raw) conn_ = nullptr;
      }
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

  void taskFailed(kj::Exception&& e) override {
    spdlog::debug("capnp client {}: {}", options_.socket_path, e.getDescription().cStr());
  }

  kj::AsyncIoContext& io_;
  const CapnpClientOptions& options_;
  Backoff backoff_;
  kj::TimePoint next_attempt_;
  std::string last_error_;
  kj::Maybe<kj::Own<Connection>> conn_;
  kj::Maybe<kj::ForkedPromise<void>> connecting_;
  bool connecting_done_ = true;
  bool reconnect_scheduled_ = false;
  std::uint64_t generation_ = 0;
  std::vector<Feed*> feeds_;
  kj::TaskSet tasks_{*this};  // last: destroyed first, cancelling work that uses the rest
};

CapnpChannel::CapnpChannel(CapnpClientOptions options) : options_(std::move(options)) {
  std::promise<void> ready;
  auto done = ready.get_future();
  thread_ = std::thread([this, &ready] { run(&ready); });
  done.wait();
}

CapnpChannel::~CapnpChannel() {
  inbox_.runSync([this] { stop_->fulfill(); });
  thread_.join();
}

void CapnpChannel::run(std::promise<void>* ready) {
  auto io = kj::setupAsyncIo();
  auto paf = kj::newPromiseAndFulfiller<void>();
  {
    Loop loop(io, options_);
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
  return Status(Errc::unavailable, fmt::format("{}: no answer within {} ms", options_.socket_path,
                                               options_.call_timeout.count()));
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

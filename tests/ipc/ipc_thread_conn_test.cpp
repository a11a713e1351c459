// Calls from many threads over a real socket, for every codec: the protobuf stubs give every
// calling thread its own connection (proto_channel.cpp), so these pin down the lifetimes that
// design must get right: threads that end, stubs destroyed while threads still hold their
// connections, and a peer that restarts under all of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tests/ipc/ipc_test_env.h"
#include "tests/support/grpc_under_tsan.h"

namespace seams::testing {
namespace {

using namespace std::chrono_literals;

VaultPath path(const std::string& p) {
  return VaultPath::parse(p).value();
}

enum class Codec { capnp, protobuf, grpc };

// A thread that stays alive between tasks, so a test can decide when it ends.
class Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() { stop(); }

  // Runs `fn` on the worker thread and waits for it.
  void run(std::function<void()> fn) {
    std::unique_lock lock(mu_);
    task_ = std::move(fn);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !task_; });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || task_; });
      if (task_) {
        auto fn = std::move(task_);
        lock.unlock();
        fn();
        lock.lock();
        task_ = nullptr;
        cv_.notify_all();
        continue;
      }
      if (stopping_) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::thread thread_;          // last: starts after the fields above
};

class IpcThreadConnections : public ::testing::TestWithParam<Codec> {
 protected:
  IpcThreadConnections() {
    EXPECT_TRUE(world_.vault().mkdir(path("/t"), 0755).ok());
    for (int i = 0; i < 4; ++i)
      EXPECT_TRUE(world_.vault().put(path("/t/f" + std::to_string(i)), content(i)).ok());
    startServer();
  }
  ~IpcThreadConnections() override { stopServer(); }

  static std::string content(int i) { return std::string(100 + i, static_cast<char>('a' + i)); }
  std::string socket() const { return world_.runtimeDir() + "/fsd.sock"; }

  void startServer() {
    if (GetParam() == Codec::capnp)
      capnp_ = ipc::CapnpServer::serve(world_.vault(), {socket()}).value();
    else if (GetParam() == Codec::grpc)
      grpc_ = ipc::GrpcServer::serve(&world_.vault(), nullptr, {socket()}).value();
    else
      proto_ = ipc::ProtoServer::serve(&world_.vault(), nullptr, {socket()}).value();
  }
  void stopServer() {
    capnp_.reset();
    proto_.reset();
    grpc_.reset();
  }

  std::unique_ptr<Vault> makeStub() {
    if (GetParam() == Codec::capnp)
      return std::make_unique<ipc::CapnpVaultClient>(ipc::ClientOptions{socket(), 10s});
    if (GetParam() == Codec::grpc)
      return std::make_unique<ipc::GrpcVaultClient>(ipc::ClientOptions{socket(), 10s});
    return std::make_unique<ipc::ProtoVaultClient>(ipc::ClientOptions{socket(), 10s});
  }

  // True when stub.read() of file i answers its content.
  static bool readsRight(Vault& stub, int i) {
    auto r = stub.read(path("/t/f" + std::to_string(i)), 0, 4096);
    return r.ok() && r->data == content(i);
  }

  // Polls (a real socket and a reconnect are involved) until the stub answers on this thread.
  static bool answersWithin(Vault& stub, int i, std::chrono::seconds bound) {
    auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      if (readsRight(stub, i)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  LocalWorld world_;
  std::unique_ptr<ipc::CapnpServer> capnp_;
  std::unique_ptr<ipc::ProtoServer> proto_;
  std::unique_ptr<ipc::GrpcServer> grpc_;
};

TEST_P(IpcThreadConnections, SixteenThreadsCallingAtOnceEachGetTheirOwnAnswers) {
  auto stub = makeStub();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        if (!readsRight(*stub, (t + i) % 4)) ++wrong;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(IpcThreadConnections, ThreadsThatEndLeaveTheStubWorkingForEveryoneElse) {
  auto stub = makeStub();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        if (!readsRight(*stub, t)) ++wrong;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_TRUE(readsRight(*stub, round));
  }
}

TEST_P(IpcThreadConnections, AStubDestroyedWhileThreadsHoldConnectionsLeavesThoseThreadsFine) {
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < 4; ++t) workers.push_back(std::make_unique<Worker>());
  for (int round = 0; round < 3; ++round) {
    auto stub = makeStub();
    for (int t = 0; t < 4; ++t) {
      bool ok = false;
      workers[t]->run([&] { ok = readsRight(*stub, t); });
      EXPECT_TRUE(ok) << "round " << round << " worker " << t;
    }
    stub.reset();  // the workers live on, with connections of a stub that is gone
  }
  workers[0]->stop();  // a thread ends after the stubs it called
  auto stub = makeStub();
  bool ok = false;
  workers[1]->run([&] { ok = readsRight(*stub, 1); });
  EXPECT_TRUE(ok);
}

TEST_P(IpcThreadConnections, AfterThePeerRestartsEveryThreadsCallsRecover) {
  auto stub = makeStub();
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < 4; ++t) {
    workers.push_back(std::make_unique<Worker>());
    bool ok = false;
    workers[t]->run([&] { ok = readsRight(*stub, t); });
    ASSERT_TRUE(ok);
  }
  stopServer();
  for (int t = 0; t < 4; ++t) {
    std::optional<Errc> code;
    workers[t]->run([&] { code = stub->stat(path("/t")).code(); });
    EXPECT_EQ(code, Errc::unavailable);
  }
  startServer();
  for (int t = 0; t < 4; ++t) {
    bool ok = false;
    workers[t]->run([&] { ok = answersWithin(*stub, t, 20s); });
    EXPECT_TRUE(ok) << "worker " << t;
  }
  workers.clear();
  stub.reset();
}

TEST_P(IpcThreadConnections, ACallMadeRightAfterSubscribingFromAnyThreadRaisesAnEventTheFeedSees) {
  auto stub = makeStub();
  Worker other;
  for (int i = 0; i < 20; ++i) {
    EventLog<ChangeEvent> log;
    auto sub = stub->subscribe([&](const ChangeEvent& e) { log.add(e); });
    auto p = path("/t/n" + std::to_string(i));
    bool ok = false;
    other.run([&] { ok = stub->put(p, "x").ok(); });  // another thread's own connection
    ASSERT_TRUE(ok);
    ASSERT_TRUE(log.waitFor([&](auto& ev) {
      return std::any_of(ev.begin(), ev.end(), [&](const ChangeEvent& e) { return e.path == p; });
    })) << "iteration "
        << i;
    sub.reset();
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, IpcThreadConnections,
                         ::testing::Values(Codec::capnp,
                                           Codec::protobuf SEAMS_WITH_GRPC(Codec::grpc)),
                         [](const auto& info) {
                           return info.param == Codec::capnp      ? "Capnp"
                                  : info.param == Codec::protobuf ? "Protobuf"
                                                                  : "Grpc";
                         });

}  // namespace
}  // namespace seams::testing

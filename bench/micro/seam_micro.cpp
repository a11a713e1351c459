// seam-micro: what one call costs on each rung of the ladder, in one process.
//
//   direct     the local object (LocalVault / LocalAuth)
//   loopback   the client stub through its codec, serialised and parsed, no socket
//   socket     the client stub over a UNIX socket to a server thread in this process, the
//              calling thread on a connection of its own (the default)
//   socket_shared  the same stub with per_thread_connections off: calls share one connection
//              through the stub's loop / I/O thread (the design before the per-thread links)
//   grpc_*     the gRPC stubs: loopback is gRPC's in-process channel (serialised, no HTTP/2,
//              but a hop to a server thread); socket is one HTTP/2 connection per stub
//   floor      a raw UNIX-socket ping-pong moving the same payload (no codec, no dispatch)
//
// Benchmarks (names are the ladder coordinates):
//   ladder/<op>/<rung>          op: stat, read4k, read64k, authorize
//   sweep/<rung>/<bytes>        read of 64 B .. 1 MiB over each socket codec, and the floor
//   chain/<codec>/<shape>       validate+check one after another vs pipelined vs authorize
//   batch/<codec>/<shape>       8 stats one after another vs all 8 in flight at once
//   threads/<codec>/<model>     threading models at 1/2/4 calling threads: the stubs' own
//                               per-thread connections, the shared connection (loop / I/O
//                               thread hop), and for capnp the hop through kj::Executor
//   hot/<op>                    the core's hot operations: cache lookup, permission decision,
//                               token validation
//   login/unknown_user_vs_wrong_password   200 of each at the INTERACTIVE Argon2id cost,
//                               alternated: the user-enumeration timing check (~40 s)
// Counters: p50_us (median call latency), p99_us, and cpu_us: CPU time of the whole process
// per call (client, loop and server threads together), the honest CPU cost of a boundary.
//
// The machine (bench/machine/): /dev/cpu_dma_latency is held at 0 for the whole run, so idle
// vCPUs poll instead of halting and a call's figure is not a wake-up's (--no-pm-qos turns it
// off); --pin[=CPU] runs every thread (callers, loops, servers) on one CPU, for the software cost
// without cross-CPU wake-ups; --ladder-iterations=N makes every ladder/ benchmark exactly N calls
// per repetition (scripts/ladder.py counts syscalls per call that way). Pinning and PM QoS are
// recorded in the output's context ("pm_qos", "pinned"),
// which --benchmark_format=json writes into its "context" object.
#include <benchmark/benchmark.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/machine/codec_versions.h"
#include "bench/machine/cpu_pin.h"
#include "bench/machine/pm_qos.h"
#include "core/auth/local_auth.h"
#include "core/auth/permissions.h"
#include "core/auth/sessions.h"
#include "core/cache/fs_cache.h"
#include "core/common/clock.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "ipc/grpc/grpc_client.h"
#include "ipc/grpc/grpc_server.h"
#include "ipc/net/unix_socket.h"
#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/capnp_server.h"
#include "ipc/rpc/vault.capnp.h"

namespace seams::bench {
namespace {

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

std::int64_t nowNs(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Per-call latencies of one benchmark run; reports p50/p99 and whole-process CPU per call.
class Recorder {
 public:
  explicit Recorder(benchmark::State& state) : state_(state) {
    samples_.reserve(1 << 16);
    cpu0_ = nowNs(CLOCK_PROCESS_CPUTIME_ID);
  }
  ~Recorder() {
    auto cpu = nowNs(CLOCK_PROCESS_CPUTIME_ID) - cpu0_;
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    auto at = [&](double q) {
      return samples_[std::min(samples_.size() - 1, static_cast<std::size_t>(q * samples_.size()))];
    };
    state_.counters["p50_us"] = at(0.50) / 1e3;
    state_.counters["p99_us"] = at(0.99) / 1e3;
    if (state_.threads() == 1) {
      state_.counters["cpu_us"] = static_cast<double>(cpu) / samples_.size() / 1e3;
    }
  }
  template <typename F>
  void run(F&& f) {
    for (auto _ : state_) {
      auto t0 = nowNs();
      f();
      samples_.push_back(nowNs() - t0);
    }
  }

 private:
  benchmark::State& state_;
  std::vector<std::int64_t> samples_;
  std::int64_t cpu0_;
};

// A raw UNIX-socket echo: the client sends a 64-byte request naming a response size, the server
// thread answers that many bytes. The floor for any one-request-one-response protocol.
class RawEchoServer {
 public:
  explicit RawEchoServer(const std::string& path) : path_(path) {
    listen_ = ipc::listenUnix(path).value();
    accept_ = std::thread([this] {
      for (;;) {
        int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        workers_.emplace_back([fd] { serve(fd); });
      }
    });
  }
  ~RawEchoServer() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    accept_.join();
    for (auto& w : workers_) w.detach();  // each ends when its client closes
  }

  static void serve(int fd) {
    ipc::UniqueFd own(fd);
    char request[64];
    std::string response;
    for (;;) {
      if (!ipc::readExact(fd, request, sizeof(request)).ok()) return;
      std::uint32_t size;
      std::memcpy(&size, request, sizeof(size));
      response.resize(size, 'r');
      if (!ipc::writeAll(fd, response).ok()) return;
    }
  }

 private:
  std::string path_;
  ipc::UniqueFd listen_;
  std::thread accept_;
  std::vector<std::thread> workers_;
};

class RawEchoClient {
 public:
  explicit RawEchoClient(const std::string& path) : fd_(ipc::connectUnix(path).value()) {}
  void call(std::uint32_t response_bytes) {
    char request[64] = {};
    std::memcpy(request, &response_bytes, sizeof(response_bytes));
    (void)ipc::writeAll(fd_.get(), std::string_view(request, sizeof(request)));
    buf_.resize(response_bytes);
    (void)ipc::readExact(fd_.get(), buf_.data(), response_bytes);
  }

 private:
  ipc::UniqueFd fd_;
  std::string buf_;
};

constexpr std::uint32_t kSweep[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};

// Everything the benchmarks share, built once.
struct Env {
  Env() {
    spdlog::set_level(spdlog::level::warn);
    dir = std::filesystem::temp_directory_path() / ("seam-micro-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "vault");
    storage = Storage::open((dir / "vault").string()).value();
    cache = std::make_unique<FsCache>(FsCache::Options{}, clock);
    vault = std::make_unique<LocalVault>(*storage, *cache);
    AuthConfig config;
    std::string hash =
        hashPassword("pw", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN).value();
    auth = LocalAuth::create(
               {UserConfig{"alice", hash, 1000, {"staff"}}},
               {Rule{Rule::Subject::group, "staff", P("/"), kAllAccess, Rule::Effect::allow}},
               config, clock)
               .value();
    token = auth->login("alice", "pw").value().token;

    (void)vault->put(P("/stat.txt"), "small");
    (void)vault->put(P("/f4k"), std::string(4096, 'a'));
    (void)vault->put(P("/f64k"), std::string(65536, 'b'));
    for (auto n : kSweep) (void)vault->put(P("/s" + std::to_string(n)), std::string(n, 'c'));
    for (int i = 0; i < 8; ++i) (void)vault->put(P("/b" + std::to_string(i)), "x");

    std::string run = (dir / "run").string();
    capnp_vault_sock = run + "/fsd-capnp.sock";
    capnp_vault_server = ipc::CapnpServer::serve(*vault, {capnp_vault_sock}).value();
    capnp_auth_server = ipc::CapnpServer::serve(*auth, {run + "/authd-capnp.sock"}).value();
    proto_server = ipc::ProtoServer::serve(vault.get(), auth.get(), {run + "/proto.sock"}).value();
    grpc_server = ipc::GrpcServer::serve(vault.get(), auth.get(), {run + "/grpc.sock"}).value();
    raw_server = std::make_unique<RawEchoServer>(run + "/raw.sock");
    raw_sock = run + "/raw.sock";

    capnp_vault = std::make_unique<ipc::CapnpVaultClient>(ipc::ClientOptions{capnp_vault_sock});
    capnp_auth =
        std::make_unique<ipc::CapnpAuthClient>(ipc::ClientOptions{run + "/authd-capnp.sock"});
    proto_vault = std::make_unique<ipc::ProtoVaultClient>(ipc::ClientOptions{run + "/proto.sock"});
    proto_auth = std::make_unique<ipc::ProtoAuthClient>(ipc::ClientOptions{run + "/proto.sock"});
    ipc::ClientOptions capnp_shared{capnp_vault_sock};
    capnp_shared.per_thread_connections = false;
    capnp_vault_shared = std::make_unique<ipc::CapnpVaultClient>(capnp_shared);
    capnp_shared.socket_path = run + "/authd-capnp.sock";
    capnp_auth_shared = std::make_unique<ipc::CapnpAuthClient>(capnp_shared);
    ipc::ClientOptions proto_shared{run + "/proto.sock"};
    proto_shared.per_thread_connections = false;
    proto_vault_shared = std::make_unique<ipc::ProtoVaultClient>(proto_shared);
    proto_auth_shared = std::make_unique<ipc::ProtoAuthClient>(proto_shared);
    capnp_vault_loop = std::make_unique<ipc::CapnpVaultClient>(*vault);
    capnp_auth_loop = std::make_unique<ipc::CapnpAuthClient>(*auth);
    proto_vault_loop = std::make_unique<ipc::ProtoVaultClient>(*vault);
    proto_auth_loop = std::make_unique<ipc::ProtoAuthClient>(*auth);
    grpc_vault = std::make_unique<ipc::GrpcVaultClient>(ipc::ClientOptions{run + "/grpc.sock"});
    grpc_auth = std::make_unique<ipc::GrpcAuthClient>(ipc::ClientOptions{run + "/grpc.sock"});
    grpc_vault_loop = std::make_unique<ipc::GrpcVaultClient>(*vault);
    grpc_auth_loop = std::make_unique<ipc::GrpcAuthClient>(*auth);
  }

  std::filesystem::path dir;
  SystemClock clock;
  std::unique_ptr<Storage> storage;
  std::unique_ptr<FsCache> cache;
  std::unique_ptr<LocalVault> vault;
  std::unique_ptr<LocalAuth> auth;
  std::string token;
  std::string capnp_vault_sock, raw_sock;
  std::unique_ptr<ipc::CapnpServer> capnp_vault_server, capnp_auth_server;
  std::unique_ptr<ipc::ProtoServer> proto_server;
  std::unique_ptr<RawEchoServer> raw_server;
  std::unique_ptr<ipc::CapnpVaultClient> capnp_vault, capnp_vault_loop, capnp_vault_shared;
  std::unique_ptr<ipc::CapnpAuthClient> capnp_auth, capnp_auth_loop, capnp_auth_shared;
  std::unique_ptr<ipc::ProtoVaultClient> proto_vault, proto_vault_loop, proto_vault_shared;
  std::unique_ptr<ipc::ProtoAuthClient> proto_auth, proto_auth_loop, proto_auth_shared;
  std::unique_ptr<ipc::GrpcServer> grpc_server;
  std::unique_ptr<ipc::GrpcVaultClient> grpc_vault, grpc_vault_loop;
  std::unique_ptr<ipc::GrpcAuthClient> grpc_auth, grpc_auth_loop;
};

Env& env() {
  static Env* e = new Env();  // lives for the process: servers' threads must outlive benchmarks
  return *e;
}

// ---- the ladder -------------------------------------------------------------------------------

enum class Op { stat, read4k, read64k, authorize };
enum class Rung {
  direct,
  capnp_loopback,
  proto_loopback,
  capnp_socket,
  proto_socket,
  capnp_socket_shared,
  proto_socket_shared,
  grpc_loopback,
  grpc_socket,
  floor
};

std::uint32_t floorBytes(Op op) {
  switch (op) {
    case Op::read4k:
      return 4096;
    case Op::read64k:
      return 65536;
    default:
      return 64;
  }
}

void ladder(benchmark::State& state, Op op, Rung rung) {
  Env& e = env();
  Vault* vault = nullptr;
  Auth* auth = nullptr;
  switch (rung) {
    case Rung::direct:
      vault = e.vault.get();
      auth = e.auth.get();
      break;
    case Rung::capnp_loopback:
      vault = e.capnp_vault_loop.get();
      auth = e.capnp_auth_loop.get();
      break;
    case Rung::proto_loopback:
      vault = e.proto_vault_loop.get();
      auth = e.proto_auth_loop.get();
      break;
    case Rung::capnp_socket:
      vault = e.capnp_vault.get();
      auth = e.capnp_auth.get();
      break;
    case Rung::proto_socket:
      vault = e.proto_vault.get();
      auth = e.proto_auth.get();
      break;
    case Rung::capnp_socket_shared:
      vault = e.capnp_vault_shared.get();
      auth = e.capnp_auth_shared.get();
      break;
    case Rung::proto_socket_shared:
      vault = e.proto_vault_shared.get();
      auth = e.proto_auth_shared.get();
      break;
    case Rung::grpc_loopback:
      vault = e.grpc_vault_loop.get();
      auth = e.grpc_auth_loop.get();
      break;
    case Rung::grpc_socket:
      vault = e.grpc_vault.get();
      auth = e.grpc_auth.get();
      break;
    case Rung::floor:
      break;
  }
  const VaultPath stat_path = P("/stat.txt"), f4k = P("/f4k"), f64k = P("/f64k"),
                  doc = P("/docs/x");
  std::unique_ptr<RawEchoClient> raw;
  if (rung == Rung::floor) raw = std::make_unique<RawEchoClient>(e.raw_sock);
  Recorder rec(state);
  bool ok = true;
  rec.run([&] {
    if (raw) return raw->call(floorBytes(op));
    switch (op) {
      case Op::stat:
        ok &= vault->stat(stat_path).ok();
        break;
      case Op::read4k:
        ok &= vault->read(f4k, 0, 4096).ok();
        break;
      case Op::read64k:
        ok &= vault->read(f64k, 0, 65536).ok();
        break;
      case Op::authorize:
        ok &= auth->authorize(e.token, doc, Access::read).ok();
        break;
    }
  });
  if (!ok) state.SkipWithError("a call failed");
}

// ---- payload sweep ----------------------------------------------------------------------------

void sweep(benchmark::State& state, Rung rung) {
  Env& e = env();
  auto bytes = static_cast<std::uint32_t>(state.range(0));
  auto p = P("/s" + std::to_string(bytes));
  std::unique_ptr<RawEchoClient> raw;
  if (rung == Rung::floor) raw = std::make_unique<RawEchoClient>(e.raw_sock);
  Vault* vault =
      rung == Rung::capnp_socket          ? static_cast<Vault*>(e.capnp_vault.get())
      : rung == Rung::proto_socket        ? static_cast<Vault*>(e.proto_vault.get())
      : rung == Rung::capnp_socket_shared ? static_cast<Vault*>(e.capnp_vault_shared.get())
      : rung == Rung::proto_socket_shared ? static_cast<Vault*>(e.proto_vault_shared.get())
      : rung == Rung::capnp_loopback      ? static_cast<Vault*>(e.capnp_vault_loop.get())
      : rung == Rung::proto_loopback      ? static_cast<Vault*>(e.proto_vault_loop.get())
      : rung == Rung::grpc_socket         ? static_cast<Vault*>(e.grpc_vault.get())
      : rung == Rung::grpc_loopback       ? static_cast<Vault*>(e.grpc_vault_loop.get())
                                          : static_cast<Vault*>(e.vault.get());
  Recorder rec(state);
  bool ok = true;
  rec.run([&] {
    if (raw) return raw->call(bytes);
    ok &= vault->read(p, 0, bytes).ok();
  });
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * bytes);
  if (!ok) state.SkipWithError("a call failed");
}

// ---- chains and batches -----------------------------------------------------------------------

void chainSequential(benchmark::State& state, Auth& auth) {
  Env& e = env();
  auto doc = P("/docs/x");
  Recorder rec(state);
  rec.run([&] {
    auto who = auth.validate(e.token);
    if (who.ok()) benchmark::DoNotOptimize(auth.check(*who, doc, Access::read).ok());
  });
}

void chainAuthorize(benchmark::State& state, Auth& auth) {
  Env& e = env();
  auto doc = P("/docs/x");
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(auth.authorize(e.token, doc, Access::read).ok()); });
}

void chainPipelined(benchmark::State& state) {
  Env& e = env();
  auto doc = P("/docs/x");
  Recorder rec(state);
  rec.run([&] {
    benchmark::DoNotOptimize(e.capnp_auth->authorizePipelined(e.token, doc, Access::read).ok());
  });
}

std::vector<VaultPath> batchPaths() {
  std::vector<VaultPath> out;
  for (int i = 0; i < 8; ++i) out.push_back(P("/b" + std::to_string(i)));
  return out;
}

void batchSequential(benchmark::State& state, Vault& vault) {
  auto paths = batchPaths();
  Recorder rec(state);
  rec.run([&] {
    for (auto& p : paths) benchmark::DoNotOptimize(vault.stat(p).ok());
  });
}

template <typename Stub>
void batchInFlight(benchmark::State& state, Stub& stub) {
  auto paths = batchPaths();
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(stub.statMany(paths).size()); });
}

// ---- threading models for capnp ---------------------------------------------------------------

// A stub's stat() from each benchmark thread: per-thread connections (the default) or the
// shared connection behind the stub's loop / I/O thread.
void threadsStub(benchmark::State& state, Vault& vault) {
  auto p = P("/stat.txt");
  Recorder rec(state);
  bool ok = true;
  rec.run([&] { ok &= vault.stat(p).ok(); });
  if (!ok) state.SkipWithError("a call failed");
}

// The same loop-thread model with kj::Executor::executeSync() as the hop instead of the stubs'
// LoopInbox: one KJ loop thread owning one connection.
class ExecutorLoop {
 public:
  explicit ExecutorLoop(const std::string& socket) {
    std::promise<void> ready;
    thread_ = std::thread([&] {
      auto io = kj::setupAsyncIo();
      auto fd = ipc::connectUnix(socket).value();
      auto stream = io.lowLevelProvider->wrapSocketFd(fd.release(),
                                                      kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
      capnp::TwoPartyClient client(*stream);
      wire::Vault::Client vault = client.bootstrap().castAs<wire::Vault>();
      vault_ = &vault;
      auto paf = kj::newPromiseAndFulfiller<void>();
      stop_ = kj::mv(paf.fulfiller);
      executor_ = &kj::getCurrentThreadExecutor();
      ready.set_value();
      paf.promise.wait(io.waitScope);
    });
    ready.get_future().wait();
  }
  bool stat() {
    return executor_->executeSync([this] {
      auto req = vault_->statRequest();
      req.setPath("/stat.txt");
      return req.send().then(
          [](capnp::Response<wire::Vault::StatResults>&& r) { return !r.hasError(); });
    });
  }

 private:
  std::thread thread_;
  const kj::Executor* executor_ = nullptr;
  wire::Vault::Client* vault_ = nullptr;
  kj::Own<kj::PromiseFulfiller<void>> stop_;
};

void threadsExecutorLoop(benchmark::State& state) {
  static ExecutorLoop* loop = new ExecutorLoop(env().capnp_vault_sock);  // lives for the process
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(loop->stat()); });
}

// ---- the core's hot operations -------------------------------------------------------------

void hotCacheLookup(benchmark::State& state) {
  SystemClock clock;
  FsCache cache(FsCache::Options{}, clock);
  auto p = P("/a/b/c.txt");
  auto ticket = cache.beginFill(p);
  cache.putAttr(p, FileAttr{FileType::file, 10, 7, 0, 0644, 1}, ticket);
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(cache.getAttr(p).has_value()); });
}

void hotPermissionDecision(benchmark::State& state) {
  PermissionTable table;
  (void)table.add(Rule{Rule::Subject::group, "staff", P("/docs"), kAllAccess, Rule::Effect::allow});
  (void)table.add(
      Rule{Rule::Subject::user, "bob", P("/docs/private"), mask(Access::read), Rule::Effect::deny});
  Principal who{"alice", {"staff"}};
  auto p = P("/docs/a/b.txt");
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(table.allowed(who, p, Access::read)); });
}

void hotTokenValidation(benchmark::State& state) {
  Env& e = env();
  Recorder rec(state);
  rec.run([&] { benchmark::DoNotOptimize(e.auth->validate(e.token).ok()); });
}

// The login timing check: an unknown user must cost what a known user's wrong password costs, or
// timing tells which users exist. Both at the INTERACTIVE cost `seamctl init` uses, alternated
// call by call so drift of the machine hits both alike; each state iteration is one pair.
// Counters: p50 of each and their ratio.
void loginTiming(benchmark::State& state) {
  ManualClock clock;
  UserConfig alice;
  alice.name = "alice";
  alice.password_hash = hashPassword("correct horse").value();  // INTERACTIVE
  auto store = SessionStore::create({alice}, AuthConfig{}, clock).value();
  std::vector<std::int64_t> unknown, wrong;
  for (auto _ : state) {
    std::int64_t t0 = nowNs();
    benchmark::DoNotOptimize(store->login("mallory", "battery staple").ok());
    std::int64_t t1 = nowNs();
    benchmark::DoNotOptimize(store->login("alice", "battery staple").ok());
    std::int64_t t2 = nowNs();
    unknown.push_back(t1 - t0);
    wrong.push_back(t2 - t1);
  }
  auto median = [](std::vector<std::int64_t> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : double(v[v.size() / 2]) / 1e3;
  };
  const double u = median(unknown), w = median(wrong);
  state.counters["unknown_user_p50_us"] = u;
  state.counters["wrong_password_p50_us"] = w;
  state.counters["unknown_over_wrong"] = w > 0 ? u / w : 0;
}

struct Named {
  const char* name;
  Rung rung;
};
constexpr Named kRungs[] = {{"direct", Rung::direct},
                            {"capnp_loopback", Rung::capnp_loopback},
                            {"protobuf_loopback", Rung::proto_loopback},
                            {"capnp_socket", Rung::capnp_socket},
                            {"protobuf_socket", Rung::proto_socket},
                            {"capnp_socket_shared", Rung::capnp_socket_shared},
                            {"protobuf_socket_shared", Rung::proto_socket_shared},
                            {"grpc_loopback", Rung::grpc_loopback},
                            {"grpc_socket", Rung::grpc_socket},
                            {"floor_raw_socket", Rung::floor}};

// ladder_iterations > 0: every ladder/ benchmark makes exactly that many calls per repetition
// (--ladder-iterations), so a run's syscall count divides into calls and runs are of known length.
void registerAll(std::int64_t ladder_iterations) {
  const std::pair<const char*, Op> ops[] = {{"stat", Op::stat},
                                            {"read4k", Op::read4k},
                                            {"read64k", Op::read64k},
                                            {"authorize", Op::authorize}};
  for (auto [op_name, op] : ops) {
    for (auto r : kRungs) {
      auto* b = benchmark::RegisterBenchmark(
          (std::string("ladder/") + op_name + "/" + r.name).c_str(),
          [op = op, rung = r.rung](benchmark::State& s) { ladder(s, op, rung); });
      if (ladder_iterations > 0) b->Iterations(ladder_iterations);
    }
  }
  for (auto r : kRungs) {
    auto* b =
        benchmark::RegisterBenchmark((std::string("sweep/") + r.name).c_str(),
                                     [rung = r.rung](benchmark::State& s) { sweep(s, rung); });
    for (auto n : kSweep) b->Arg(n);
  }
  benchmark::RegisterBenchmark("chain/capnp/validate_then_check",
                               [](benchmark::State& s) { chainSequential(s, *env().capnp_auth); });
  benchmark::RegisterBenchmark("chain/capnp/pipelined_session_check", chainPipelined);
  benchmark::RegisterBenchmark("chain/capnp/authorize",
                               [](benchmark::State& s) { chainAuthorize(s, *env().capnp_auth); });
  benchmark::RegisterBenchmark("chain/protobuf/validate_then_check",
                               [](benchmark::State& s) { chainSequential(s, *env().proto_auth); });
  benchmark::RegisterBenchmark("chain/protobuf/authorize",
                               [](benchmark::State& s) { chainAuthorize(s, *env().proto_auth); });
  benchmark::RegisterBenchmark("batch/capnp/8_sequential",
                               [](benchmark::State& s) { batchSequential(s, *env().capnp_vault); });
  benchmark::RegisterBenchmark("batch/capnp/8_in_flight",
                               [](benchmark::State& s) { batchInFlight(s, *env().capnp_vault); });
  benchmark::RegisterBenchmark("batch/protobuf/8_sequential",
                               [](benchmark::State& s) { batchSequential(s, *env().proto_vault); });
  benchmark::RegisterBenchmark("batch/protobuf/8_in_flight",
                               [](benchmark::State& s) { batchInFlight(s, *env().proto_vault); });
  for (int t : {1, 2, 4}) {
    benchmark::RegisterBenchmark("threads/capnp/per_thread_connection",
                                 [](benchmark::State& s) { threadsStub(s, *env().capnp_vault); })
        ->Threads(t)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        "threads/capnp/shared_loop_thread",
        [](benchmark::State& s) { threadsStub(s, *env().capnp_vault_shared); })
        ->Threads(t)
        ->UseRealTime();
    benchmark::RegisterBenchmark("threads/protobuf/per_thread_connection",
                                 [](benchmark::State& s) { threadsStub(s, *env().proto_vault); })
        ->Threads(t)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        "threads/protobuf/shared_io_thread",
        [](benchmark::State& s) { threadsStub(s, *env().proto_vault_shared); })
        ->Threads(t)
        ->UseRealTime();
    benchmark::RegisterBenchmark("threads/capnp/kj_executor_loop_thread", threadsExecutorLoop)
        ->Threads(t)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("hot/cache_lookup", hotCacheLookup);
  benchmark::RegisterBenchmark("hot/permission_decision", hotPermissionDecision);
  benchmark::RegisterBenchmark("hot/token_validation", hotTokenValidation);
  // 200 of each, as the startup issue asks (about 40 s: each pair is two Argon2id checks).
  benchmark::RegisterBenchmark("login/unknown_user_vs_wrong_password", loginTiming)
      ->Iterations(200)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace seams::bench

namespace {

// Our own flags, taken out of argv before Google Benchmark sees the rest.
struct MachineFlags {
  bool pm_qos = true;
  int pin_cpu = -1;                    // -1: not pinned
  std::int64_t ladder_iterations = 0;  // 0: Google Benchmark picks the count (--benchmark_min_time)
  std::string error;
};

MachineFlags takeMachineFlags(int& argc, char** argv) {
  MachineFlags f;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-pm-qos") {
      f.pm_qos = false;
    } else if (arg == "--pin") {
      f.pin_cpu = seams::bench::defaultPinCpu();
    } else if (arg.rfind("--pin=", 0) == 0) {
      const std::string v(arg.substr(6));
      char* end = nullptr;
      const long cpu = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || cpu < 0) {
        f.error = "--pin=CPU needs a CPU number, not '" + v + "'";
      } else {
        f.pin_cpu = static_cast<int>(cpu);
      }
    } else if (arg.rfind("--ladder-iterations=", 0) == 0) {
      // Google Benchmark 1.7 (Debian 12) has no --benchmark_min_time=<N>x: a fixed count is ours.
      const std::string v(arg.substr(20));
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n <= 0) {
        f.error = "--ladder-iterations=N needs a positive count, not '" + v + "'";
      } else {
        f.ladder_iterations = n;
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const MachineFlags flags = takeMachineFlags(argc, argv);
  if (!flags.error.empty()) {
    std::cerr << "seam-micro: " << flags.error << "\n";
    return 2;
  }
  // Pinned before any server or loop thread exists, so every one inherits the CPU.
  if (flags.pin_cpu >= 0) {
    if (seams::Status st = seams::bench::pinProcessTo(flags.pin_cpu); !st.ok()) {
      std::cerr << "seam-micro: --pin: " << st.message() << "\n";
      return 2;
    }
  }
  seams::bench::registerAll(flags.ladder_iterations);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The hold covers every benchmark and is withdrawn when they end, however they end.
  const int rc = seams::bench::whileHoldingPmQos(
      {.enabled = flags.pm_qos}, [&](const seams::bench::PmQosHold& hold) {
        std::cerr << "seam-micro: PM QoS (" << seams::bench::kCpuDmaLatencyPath
                  << "): " << hold.why() << "\n";
        benchmark::AddCustomContext("pm_qos", hold.why());
        benchmark::AddCustomContext("pm_qos_held", hold.held() ? "true" : "false");
        benchmark::AddCustomContext(
            "pinned", flags.pin_cpu >= 0 ? "CPU " + std::to_string(flags.pin_cpu) : "no");
        benchmark::AddCustomContext("codecs", seams::bench::codecVersionsLine());
        benchmark::RunSpecifiedBenchmarks();
        return 0;
      });
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(seams::bench::env().dir, ec);
  // _Exit skips stdio's flush at exit: without these, piped output (a CI log, `| tee`) is lost.
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(rc);  // servers and their threads are not torn down one by one
}

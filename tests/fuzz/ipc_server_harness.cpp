// fuzzCapnpServer, fuzzProtoServer: the bytes of one connection into the real IPC servers
// (ipc/rpc/capnp_server.h, ipc/proto/proto_server.h), adopted over a socketpair exactly as an
// accepted connection is: the framing and size limits, the message traversal, the RPC layer or
// the frame loop, the dispatch to the adapter, the codec and the local object (MemoryVault,
// MemoryAuth). Invariants: the server ends the connection once the client has finished (no hang)
// and keeps serving new connections after any input (the next input would time out otherwise);
// protobuf: every frame it sends back is a valid ServerFrame.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "ipc/proto/proto_codec.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_server.h"
#include "tests/fuzz/exchange.h"
#include "tests/fuzz/harness.h"
#include "tests/fuzz/memory_auth.h"
#include "tests/fuzz/memory_vault.h"

namespace seams::fuzz {
namespace {

// 1 MiB per message or frame: large enough for every call, small enough that a claimed size in
// a fuzzed header is refused rather than allocated.
constexpr std::size_t kMaxMessage = 1u << 20;
constexpr auto kTimeout = std::chrono::seconds(10);

struct Servers {
  MemoryVault vault;
  MemoryAuth auth;
  std::unique_ptr<ipc::CapnpServer> capnp_vault;
  std::unique_ptr<ipc::CapnpServer> capnp_auth;
  std::unique_ptr<ipc::ProtoServer> proto;
  Status started;

  Servers() {
    spdlog::set_level(spdlog::level::off);  // a refused frame is logged: expected here, and slow
    auto cv = ipc::CapnpServer::serve(vault, {"", kMaxMessage});
    auto ca = ipc::CapnpServer::serve(auth, {"", kMaxMessage});
    auto p = ipc::ProtoServer::serve(&vault, &auth, {"", kMaxMessage, std::chrono::seconds(5)});
    if (!cv.ok()) started = cv.status();
    if (!ca.ok()) started = ca.status();
    if (!p.ok()) started = p.status();
    if (!started.ok()) return;
    capnp_vault = std::move(*cv);
    capnp_auth = std::move(*ca);
    proto = std::move(*p);
    // The servers stop before static destructors run. spdlog's registry (made above by
    // set_level) is destroyed at exit, and a server thread still ending the last input's
    // connection logged through its freed logger (ASan, CI validation 2026-12-07; TSan saw the
    // same in fuzz_replay_test). atexit handlers registered after a static was constructed run
    // before its destructor.
    std::atexit(&Servers::stopAll);
  }

  static void stopAll();
};

Servers& servers() {
  static Servers* s = new Servers();  // lives until exit; its servers stop at exit (stopAll)
  return *s;
}

void Servers::stopAll() {
  Servers& s = servers();
  s.capnp_vault.reset();  // joins the server's loop thread
  s.capnp_auth.reset();
  s.proto.reset();
}

std::size_t threadCount() {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// The protobuf server serves a connection on a thread of its own, which closes the socket before
// it unwinds (and frees the connection's writer). Waits until that thread has ended, so nothing of
// one input is still alive during the next, or during libFuzzer's leak check, which caught such a
// thread mid-unwind and reported its writer as leaked (CI, 2026-12-07).
void awaitThreads(std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (threadCount() > count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

template <typename Server>
Result<std::string> oneConnection(Server& server, std::string_view input) {
  UniqueFd ours, theirs;
  SEAMS_RETURN_IF_ERROR(socketPair(&ours, &theirs));
  SEAMS_RETURN_IF_ERROR(server.adopt(ipc::UniqueFd(theirs.release())));
  return exchange(std::move(ours), input, kTimeout);
}

}  // namespace

Status fuzzCapnpServer(std::string_view input) {
  Servers& s = servers();
  if (!s.started.ok()) return Status(Errc::internal, "capnp servers: " + s.started.message());
  if (input.empty()) return okStatus();
  s.vault.reset();
  s.auth.reset();
  ipc::CapnpServer& server = (input[0] & 1) ? *s.capnp_auth : *s.capnp_vault;
  Result<std::string> out = oneConnection(server, input.substr(1));
  if (!out.ok()) return Status(Errc::internal, "capnp server: " + out.status().message());
  return okStatus();
}

Status fuzzProtoServer(std::string_view input) {
  namespace pc = ipc::protocodec;
  Servers& s = servers();
  if (!s.started.ok()) return Status(Errc::internal, "protobuf server: " + s.started.message());
  s.vault.reset();
  s.auth.reset();
  const std::size_t threads = threadCount();
  Result<std::string> out = oneConnection(*s.proto, input);
  awaitThreads(threads);
  if (!out.ok()) return Status(Errc::internal, "protobuf server: " + out.status().message());
  pc::FrameDecoder decoder(kMaxMessage);
  decoder.append(out->data(), out->size());
  for (;;) {
    std::string_view frame;
    std::string error;
    auto next = decoder.next(&frame, &error);
    if (next == pc::FrameDecoder::Next::need_more) break;
    if (next == pc::FrameDecoder::Next::error) {
      return Status(Errc::internal, "protobuf server sent a bad frame: " + error);
    }
    pc::pb::ServerFrame reply;
    if (!pc::parseFrame(frame, &reply).ok()) {
      return Status(Errc::internal, "protobuf server sent a frame that is not a ServerFrame");
    }
  }
  return okStatus();
}

}  // namespace seams::fuzz

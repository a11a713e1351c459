// Failure semantics of every codec over real UNIX sockets: dead and hung peers, reconnects,
// feeds across a reconnect, malformed / oversized / truncated frames, peers of another uid.

// Before gRPC's headers (abseil defines the same legacy annotation names; see grpc_client.cpp).
// clang-format off
#include "core/common/thread_annotations.h"
// clang-format on

#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "ipc/grpc/seams_grpc.grpc.pb.h"
#include "ipc/net/unix_socket.h"
#include "ipc/proto/proto_codec.h"
#include "ipc/rpc/vault.capnp.h"
#include "tests/ipc/ipc_test_env.h"
#include "tests/support/grpc_under_tsan.h"

#ifndef SEAMS_IPC_TEST_PEER
#error "SEAMS_IPC_TEST_PEER must name the ipc_test_peer binary"
#endif

namespace seams::testing {
namespace {

using namespace std::chrono_literals;

enum class Codec { capnp, protobuf, grpc };

std::string codecName(Codec c) {
  return c == Codec::capnp ? "Capnp" : c == Codec::protobuf ? "Protobuf" : "Grpc";
}

std::unique_ptr<Vault> makeStub(Codec c, const std::string& socket,
                                std::chrono::milliseconds timeout) {
  if (c == Codec::capnp) {
    ipc::ClientOptions o{socket, timeout, 10ms, 100ms};
    return std::make_unique<ipc::CapnpVaultClient>(o);
  }
  if (c == Codec::grpc) {
    ipc::ClientOptions o{socket, timeout, 10ms, 100ms};
    return std::make_unique<ipc::GrpcVaultClient>(o);
  }
  ipc::ClientOptions o{socket, timeout, 10ms, 100ms};
  return std::make_unique<ipc::ProtoVaultClient>(o);
}

// A peer in its own process (tests/ipc/ipc_test_peer.cpp), so it can really be killed.
class PeerProcess {
 public:
  PeerProcess(Codec c, const std::string& socket, const std::string& root) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      const char* codec = c == Codec::capnp ? "capnp" : c == Codec::protobuf ? "protobuf" : "grpc";
      ::execl(SEAMS_IPC_TEST_PEER, SEAMS_IPC_TEST_PEER, codec, socket.c_str(), root.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_.reset(out[0]);
  }
  ~PeerProcess() { kill(); }

  // Waits (bounded: a real process) for a line the peer prints.
  bool waitFor(const std::string& line) {
    std::string buf;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_.get(), &c, 1) != 1) return false;
      if (c != '\n') {
        buf += c;
        continue;
      }
      if (buf == line) return true;
      buf.clear();
    }
    return false;
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  ipc::UniqueFd out_;
};

// Polls (bounded) until the stub answers again: reconnecting involves a real peer process.
bool answersWithin(Vault& stub, std::chrono::seconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stub.stat(VaultPath::root()).ok()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class IpcFailure : public ::testing::TestWithParam<Codec> {
 protected:
  std::string socket() const { return dir_.str() + "/run/fsd.sock"; }
  std::string root() const { return dir_.str() + "/vault"; }

  TempDir dir_;
};

TEST_P(IpcFailure, PeerKilledMidCallAnswersUnavailableAndTheStubReconnectsWhenItIsBack) {
  auto peer = std::make_unique<PeerProcess>(GetParam(), socket(), root());
  ASSERT_TRUE(peer->waitFor("ready"));
  // A long call timeout: the call must end because the peer died, not because time ran out.
  auto stub = makeStub(GetParam(), socket(), 60s);
  ASSERT_TRUE(stub->stat(VaultPath::root()).ok());

  Result<FileAttr> in_flight(Errc::internal, "not run");
  std::thread caller([&] { in_flight = stub->stat(path("/hang")); });
  ASSERT_TRUE(peer->waitFor("hanging"));
  peer->kill();
  caller.join();
  EXPECT_EQ(in_flight.code(), Errc::unavailable) << in_flight.status().toString();
  EXPECT_EQ(in_flight.status().message().find("no answer within"), std::string::npos);

  EXPECT_EQ(stub->stat(VaultPath::root()).code(), Errc::unavailable);
  peer = std::make_unique<PeerProcess>(GetParam(), socket(), root());
  ASSERT_TRUE(peer->waitFor("ready"));
  EXPECT_TRUE(answersWithin(*stub, 20s));
}

TEST_P(IpcFailure, HungPeerAnswersUnavailableWhenTheCallTimeoutPasses) {
  PeerProcess peer(GetParam(), socket(), root());
  ASSERT_TRUE(peer.waitFor("ready"));
  auto stub = makeStub(GetParam(), socket(), 300ms);
  auto r = stub->stat(path("/hang"));
  EXPECT_EQ(r.code(), Errc::unavailable);
  EXPECT_NE(r.status().message().find("no answer within"), std::string::npos)
      << r.status().toString();
}

TEST_P(IpcFailure, NoPeerFailsFastAndTheStubConnectsOnceThePeerStarts) {
  auto stub = makeStub(GetParam(), socket(), 60s);
  auto r = stub->stat(VaultPath::root());
  EXPECT_EQ(r.code(), Errc::unavailable);
  EXPECT_EQ(r.status().message().find("no answer within"), std::string::npos);
  PeerProcess peer(GetParam(), socket(), root());
  ASSERT_TRUE(peer.waitFor("ready"));
  EXPECT_TRUE(answersWithin(*stub, 20s));
}

TEST_P(IpcFailure, AFeedIsRestoredAfterAReconnectAndSaysItMayHaveMissedEvents) {
  auto peer = std::make_unique<PeerProcess>(GetParam(), socket(), root());
  ASSERT_TRUE(peer->waitFor("ready"));
  auto stub = makeStub(GetParam(), socket(), 10s);
  EventLog<ChangeEvent> log;
  auto sub = stub->subscribe([&](const ChangeEvent& e) { log.add(e); });
  ASSERT_TRUE(stub->stat(VaultPath::root()).ok());
  ASSERT_TRUE(stub->put(path("/x"), "1").ok());
  ASSERT_TRUE(log.waitFor([](auto& ev) { return ev.size() == 1; }));

  peer->kill();
  peer = std::make_unique<PeerProcess>(GetParam(), socket(), root());
  ASSERT_TRUE(peer->waitFor("ready"));
  // The stub reconnects by itself while a feed is subscribed, then reports a resync. (It may
  // reach the dying peer's socket once more first: each reconnect reports a resync.)
  ASSERT_TRUE(answersWithin(*stub, 20s));
  ASSERT_TRUE(log.waitFor([](auto& ev) {
    return ev.size() >= 2 && ev[1].version == 0 && ev[1].path == VaultPath::root();
  }));
  auto put_y = stub->put(path("/y"), "2");
  ASSERT_TRUE(put_y.ok()) << put_y.status().toString();
  ASSERT_TRUE(log.waitFor([](auto& ev) { return ev.back().path == path("/y"); }));
  sub.reset();
}

// ---- hostile input against an in-process server -----------------------------------------------

class IpcHostileInput : public ::testing::TestWithParam<Codec> {
 protected:
  IpcHostileInput() {
    std::string sock = world_.runtimeDir() + "/fsd.sock";
    if (GetParam() == Codec::capnp) {
      capnp_ = ipc::CapnpServer::serve(world_.vault(), {sock, 1u << 20}).value();
    } else if (GetParam() == Codec::grpc) {
      grpc_ = ipc::GrpcServer::serve(&world_.vault(), nullptr, {sock, 1u << 20}).value();
    } else {
      proto_ = ipc::ProtoServer::serve(&world_.vault(), nullptr, {sock, 1u << 20}).value();
    }
    stub_ = makeStub(GetParam(), sock, 10s);
    socket_ = sock;
  }
  ~IpcHostileInput() override { stub_.reset(); }

  ipc::ServerCounters counters() const {
    return capnp_ ? capnp_->counters() : grpc_ ? grpc_->counters() : proto_->counters();
  }

  // Sends raw bytes on a fresh connection (optionally half-closing), and reports whether the
  // server then closed the connection without answering.
  bool serverClosesAfter(const std::string& bytes, bool half_close) {
    auto fd = ipc::connectUnix(socket_);
    if (!fd) return false;
    timeval tv{10, 0};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!ipc::writeAll(fd->get(), bytes).ok()) return true;  // already closed
    if (half_close) ::shutdown(fd->get(), SHUT_WR);
    char buf[256];
    for (;;) {
      ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;  // timed out: still open
      // capnp may answer with an Abort message before closing: keep reading.
    }
  }

  LocalWorld world_;
  std::string socket_;
  std::unique_ptr<ipc::CapnpServer> capnp_;
  std::unique_ptr<ipc::ProtoServer> proto_;
  std::unique_ptr<ipc::GrpcServer> grpc_;
  std::unique_ptr<Vault> stub_;
};

std::string le32(std::uint32_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 4);
}

TEST_P(IpcHostileInput, MalformedOversizedAndTruncatedFramesCloseOnlyThatConnection) {
  ASSERT_TRUE(world_.vault().put(path("/ok"), "fine").ok());
  ASSERT_TRUE(stub_->stat(path("/ok")).ok());

  std::string garbage, oversized, truncated;
  if (GetParam() == Codec::capnp) {
    // One segment of 4 words whose root pointer points far outside the segment.
    garbage = le32(0) + le32(4) + std::string(32, '\xff');
    // One segment claiming 2^28 words (2 GiB): refused from the segment table alone.
    oversized = le32(0) + le32(1u << 28);
    truncated = le32(0) + le32(64) + std::string(100, '\0');
  } else if (GetParam() == Codec::grpc) {
    // gRPC parses HTTP/2 itself: not the client preface; the preface and then a SETTINGS frame
    // announcing 16 MiB - 1 (over HTTP/2's 16 KiB default frame size); half a preface.
    const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    oversized = preface + std::string("\xff\xff\xff\x04\x00\x00\x00\x00\x00", 9);
    truncated = preface.substr(0, 10);
  } else {
    garbage = std::string("\x0a", 1) + std::string(10, '\xff');    // 10 bytes that do not parse
    oversized = "\x80\x80\x80\x80\x04";                            // a 1 GiB length prefix
    truncated = std::string("\x40", 1) + std::string(10, '\x08');  // 64 announced, 10 sent
  }
  EXPECT_TRUE(serverClosesAfter(garbage, false));
  EXPECT_TRUE(serverClosesAfter(oversized, false));
  EXPECT_TRUE(serverClosesAfter(truncated, true));
  // gRPC closes such connections inside the library, without telling the server adapter.
  if (GetParam() != Codec::grpc) {
    EXPECT_GE(counters().closed_on_error, 2u);
  }

  // The stub's own connection was never touched.
  auto again = stub_->stat(path("/ok"));
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_EQ(*again, world_.vault().stat(path("/ok")).value());
}

// The IPC entry point follows the same naming rule as HTTP and FUSE (VaultPath): a path that
// is not UTF-8, sent by a peer that bypasses the stubs (which cannot even build one), is
// refused with invalid_argument, and nothing is stored.
TEST_P(IpcHostileInput, PathsThatAreNotUtf8AreRefusedAndNothingIsStored) {
  const std::string bad = "/bad\xff\xfe.txt";
  std::uint32_t code = 0;
  std::string message;
  if (GetParam() == Codec::capnp) {
    // A raw client of the wire interface, on a thread of its own (one KJ loop per thread).
    std::thread([&] {
      auto io = kj::setupAsyncIo();
      auto addr = io.provider->getNetwork().parseAddress("unix:" + socket_).wait(io.waitScope);
      auto conn = addr->connect().wait(io.waitScope);
      capnp::TwoPartyClient client(*conn);
      auto vault = client.bootstrap().castAs<wire::Vault>();
      auto req = vault.putRequest();
      req.setPath(bad.c_str());
      req.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>("x"), 1));
      auto res = req.send().wait(io.waitScope);
      code = res.getError().getCode();
      message = res.getError().getMessage();
    }).join();
  } else if (GetParam() == Codec::grpc) {
    // A raw gRPC client: the server's cookie, then the generated stub on that socket.
    namespace pb = ::seams::wire::pb;
    auto fd = ipc::connectUnix(socket_);
    ASSERT_TRUE(fd.ok());
    std::string cookie(ipc::kGrpcCookieBytes, '\0');
    ASSERT_TRUE(ipc::readExact(fd->get(), cookie.data(), cookie.size()).ok());
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
    auto channel = ::grpc::CreateInsecureChannelFromFd("raw", fd->release());
    auto raw = wire::grpc::Vault::NewStub(channel);
    ::grpc::ClientContext ctx;
    ctx.AddMetadata(ipc::kGrpcCookieKey, cookie);
    pb::PutArg arg;
    arg.set_path(bad);
    arg.set_data("x");
    pb::Response res;
    auto st = raw->Put(&ctx, arg, &res);
    ASSERT_TRUE(st.ok()) << st.error_message();
    code = res.error().code();
    message = res.error().message();
    // Without the cookie the server cannot tell whose connection it is: refused, not served.
    ::grpc::ClientContext anonymous;
    pb::PathArg root;
    root.set_path("/");
    pb::Response refused;
    ASSERT_TRUE(raw->Stat(&anonymous, root, &refused).ok());
    EXPECT_EQ(refused.error().code(), static_cast<std::uint32_t>(Errc::unavailable));
  } else {
    namespace pb = ::seams::wire::pb;
    pb::Request req;
    req.set_id(7);
    req.mutable_put()->set_path(bad);
    req.mutable_put()->set_data("x");
    std::string frame;
    ipc::protocodec::appendFrame(req, &frame);
    auto fd = ipc::connectUnix(socket_);
    ASSERT_TRUE(fd);
    timeval tv{10, 0};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ASSERT_TRUE(ipc::writeAll(fd->get(), frame).ok());
    ipc::protocodec::FrameDecoder decoder;
    std::string_view got;
    std::string error;
    for (;;) {
      auto next = decoder.next(&got, &error);
      if (next == ipc::protocodec::FrameDecoder::Next::frame) break;
      ASSERT_NE(next, ipc::protocodec::FrameDecoder::Next::error) << error;
      char buf[512];
      ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "the server closed without answering";
      decoder.append(buf, static_cast<std::size_t>(n));
    }
    pb::ServerFrame answer;
    ASSERT_TRUE(ipc::protocodec::parseFrame(got, &answer).ok());
    ASSERT_TRUE(answer.has_response());
    EXPECT_EQ(answer.response().id(), 7u);
    code = answer.response().error().code();
    message = answer.response().error().message();
  }
  EXPECT_EQ(code, static_cast<std::uint32_t>(Errc::invalid_argument)) << message;
  EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
  for (const auto& e : std::filesystem::directory_iterator(world_.dir().path() / "vault")) {
    EXPECT_NE(e.path().filename().string(), bad.substr(1));
  }
  EXPECT_TRUE(stub_->stat(VaultPath::root()).ok());  // the server serves on
}

TEST_P(IpcHostileInput, SocketsLiveInAPrivateRuntimeDirectory) {
  struct stat dir {
  }, sock{};
  ASSERT_EQ(::stat(world_.runtimeDir().c_str(), &dir), 0);
  ASSERT_EQ(::stat(socket_.c_str(), &sock), 0);
  EXPECT_EQ(dir.st_mode & 07777, 0700u);
  EXPECT_EQ(sock.st_mode & 07777, 0600u);
}

TEST_P(IpcHostileInput, AConnectionFromAnotherUidIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another uid";
  // Open the directory up, as a misconfigured deployment might: the uid check must still hold.
  ASSERT_EQ(::chmod(world_.dir().str().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(world_.runtimeDir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
  auto refused_before = counters().refused;

  pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_.c_str(), socket_.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) ::_exit(4);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    ssize_t n = ::recv(fd, &c, 1, 0);
    ::_exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: setuid failed, 4: connect failed, 1: not closed";
  EXPECT_EQ(counters().refused, refused_before + 1);
  EXPECT_TRUE(stub_->stat(VaultPath::root()).ok());
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, IpcFailure,
                         ::testing::Values(Codec::capnp,
                                           Codec::protobuf SEAMS_WITH_GRPC(Codec::grpc)),
                         [](const auto& info) { return codecName(info.param); });
INSTANTIATE_TEST_SUITE_P(AllCodecs, IpcHostileInput,
                         ::testing::Values(Codec::capnp,
                                           Codec::protobuf SEAMS_WITH_GRPC(Codec::grpc)),
                         [](const auto& info) { return codecName(info.param); });

}  // namespace
}  // namespace seams::testing

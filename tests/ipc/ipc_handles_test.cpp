// Handle-based I/O (Vault::open and the calls by handle) through every transport of both codecs,
// against MemoryVault's real open-file semantics: every call round-trips, errors keep their code,
// a handle belongs to the client process that opened it (any of its connections -- every stub
// of this test process is one client -- but not another process: ipc_test_peer children), the
// per-client bound answers too_many_open, and the server releases what a client still holds
// when its last connection closes -- also when the client process is killed with handles open.
#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_codec.h"
#include "ipc/proto/proto_server.h"
#include "ipc/rpc/capnp_client.h"
#include "ipc/rpc/capnp_server.h"
#include "ipc/rpc/vault.capnp.h"
#include "tests/core/storage/temp_dir.h"
#include "tests/fuzz/memory_vault.h"
#include "tests/ipc/ipc_test_env.h"
#include "tests/support/grpc_under_tsan.h"

#ifndef SEAMS_IPC_TEST_PEER
#error "SEAMS_IPC_TEST_PEER must name the ipc_test_peer binary"
#endif

namespace seams::testing {
namespace {

using namespace std::chrono_literals;
using fuzz::MemoryVault;

constexpr std::size_t kBound = 3;  // the servers' max_open_handles in these tests
constexpr std::uint32_t kRW = OpenMode::kRead | OpenMode::kWrite;

bool isLoopback(Transport t) {
  return t == Transport::capnp_loopback || t == Transport::proto_loopback ||
         t == Transport::grpc_loopback;
}

// Waits (bounded: a server thread does the work) until the vault holds `n` open handles.
bool openCountBecomes(MemoryVault& vault, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (vault.openCount() == n) return true;
    std::this_thread::sleep_for(5ms);
  }
  return vault.openCount() == n;
}

// A server of one codec over a MemoryVault, and stubs reaching it through one transport.
class HandleWorld {
 public:
  explicit HandleWorld(Transport t) : transport_(t) {
    socket_ = dir_.str() + "/run/fsd.sock";
    if (isLoopback(t)) return;
    bool pair =
        t == Transport::capnp_pair || t == Transport::proto_pair || t == Transport::grpc_pair;
    if (t == Transport::grpc_pair || t == Transport::grpc_socket) {
      ipc::ServerOptions o;
      o.socket_path = pair ? "" : socket_;
      o.max_open_handles = kBound;
      grpc_ = ipc::GrpcServer::serve(&vault_, nullptr, o).value();
    } else if (isCapnp(t)) {
      ipc::ServerOptions o;
      o.socket_path = pair ? "" : socket_;
      o.max_open_handles = kBound;
      capnp_ = ipc::CapnpServer::serve(vault_, o).value();
    } else {
      ipc::ServerOptions o;
      o.socket_path = pair ? "" : socket_;
      o.max_open_handles = kBound;
      proto_ = ipc::ProtoServer::serve(&vault_, nullptr, o).value();
    }
  }

  // A new stub: connections of its own; over a server, the same client as every other stub of
  // this process (one pid). In loopback, a client of its own.
  std::unique_ptr<Vault> stub() {
    switch (transport_) {
      case Transport::capnp_loopback:
        return std::make_unique<ipc::CapnpVaultClient>(vault_);
      case Transport::proto_loopback:
        return std::make_unique<ipc::ProtoVaultClient>(vault_);
      case Transport::grpc_loopback:
        return std::make_unique<ipc::GrpcVaultClient>(vault_);
      case Transport::grpc_pair:
      case Transport::grpc_socket: {
        ipc::ClientOptions o{socket_, 10s};
        if (transport_ == Transport::grpc_pair) o.connector = PairConnector::make(*grpc_);
        return std::make_unique<ipc::GrpcVaultClient>(o);
      }
      case Transport::capnp_pair:
      case Transport::capnp_socket: {
        ipc::ClientOptions o{socket_, 10s};
        if (transport_ == Transport::capnp_pair) o.connector = PairConnector::make(*capnp_);
        return std::make_unique<ipc::CapnpVaultClient>(o);
      }
      case Transport::proto_pair:
      case Transport::proto_socket: {
        ipc::ClientOptions o{socket_, 10s};
        if (transport_ == Transport::proto_pair) o.connector = PairConnector::make(*proto_);
        return std::make_unique<ipc::ProtoVaultClient>(o);
      }
    }
    return nullptr;
  }

  MemoryVault& vault() { return vault_; }
  // How many handles one client may hold: the servers' option, or in loopback the vault's own
  // limit (reached before the default per-client bound).
  std::size_t bound() const { return isLoopback(transport_) ? MemoryVault::kMaxOpen : kBound; }

 private:
  Transport transport_;
  TempDir dir_;
  std::string socket_;
  MemoryVault vault_;  // declared before the servers: it outlives them
  std::unique_ptr<ipc::CapnpServer> capnp_;
  std::unique_ptr<ipc::ProtoServer> proto_;
  std::unique_ptr<ipc::GrpcServer> grpc_;
};

class IpcHandles : public ::testing::TestWithParam<Transport> {
 protected:
  IpcHandles() : world_(GetParam()), stub_(world_.stub()) {}
  ~IpcHandles() override { stub_.reset(); }

  Vault& stub() { return *stub_; }
  MemoryVault& vault() { return world_.vault(); }

  HandleWorld world_;
  std::unique_ptr<Vault> stub_;
};

TEST_P(IpcHandles, EveryHandleCallRoundTripsAndLeavesTheStateTheVaultSees) {
  ASSERT_TRUE(vault().put(path("/docs/f.txt"), "hello, handles").ok());

  auto opened = stub().open(path("/docs/f.txt"), kRW);
  ASSERT_TRUE(opened.ok()) << opened.status().toString();
  EXPECT_EQ(opened->attr, vault().stat(path("/docs/f.txt")).value());
  const HandleId h = opened->handle;
  EXPECT_EQ(vault().openCount(), 1u);

  auto read = stub().readHandle(h, 7, 100);
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(read->data, "handles");
  EXPECT_EQ(read->file_size, 14u);
  EXPECT_EQ(read->version, opened->attr.version);
  EXPECT_EQ(stub().readHandle(h, 14, 10)->data, "");

  auto written = stub().writeHandle(h, 0, std::string("HELLO\0!", 7));
  ASSERT_TRUE(written.ok()) << written.status().toString();
  EXPECT_GT(written->version, opened->attr.version);
  EXPECT_EQ(*written, vault().stat(path("/docs/f.txt")).value());
  EXPECT_EQ(vault().read(path("/docs/f.txt"), 0, 100)->data, std::string("HELLO\0!handles", 14));

  auto stat = stub().statHandle(h);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(*stat, vault().stat(path("/docs/f.txt")).value());
  EXPECT_EQ(stat->nlink, 1u);

  auto truncated = stub().truncateHandle(h, 3);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->size, 3u);
  EXPECT_EQ(vault().read(path("/docs/f.txt"), 0, 100)->data, "HEL");

  EXPECT_TRUE(stub().fsyncHandle(h).ok());
  EXPECT_TRUE(stub().release(h).ok());
  EXPECT_EQ(vault().openCount(), 0u);
  EXPECT_EQ(stub().statHandle(h).status().code(), Errc::bad_handle);
}

TEST_P(IpcHandles, OpenWithTruncateEmptiesTheFileAndAnswersItsNewAttributes) {
  ASSERT_TRUE(vault().put(path("/docs/t.txt"), "something").ok());
  auto opened = stub().open(path("/docs/t.txt"), OpenMode::kWrite | OpenMode::kTruncate);
  ASSERT_TRUE(opened.ok()) << opened.status().toString();
  EXPECT_EQ(opened->attr.size, 0u);
  EXPECT_EQ(opened->attr, vault().stat(path("/docs/t.txt")).value());
  EXPECT_TRUE(stub().release(opened->handle).ok());
}

TEST_P(IpcHandles, AnOpenFileKeepsItsContentAfterUnlinkAndAfterARenameOntoItsName) {
  ASSERT_TRUE(vault().put(path("/docs/old.txt"), "old content").ok());
  ASSERT_TRUE(vault().put(path("/docs/new.txt"), "new content").ok());
  auto kept = stub().open(path("/docs/old.txt"), OpenMode::kRead);
  auto gone = stub().open(path("/docs/new.txt"), kRW);
  ASSERT_TRUE(kept.ok() && gone.ok());

  // Renamed onto: the handle keeps the file it opened.
  ASSERT_TRUE(stub().rename(path("/docs/new.txt"), path("/docs/old.txt")).ok());
  EXPECT_EQ(stub().readHandle(kept->handle, 0, 100)->data, "old content");
  EXPECT_EQ(stub().statHandle(kept->handle)->nlink, 0u);
  EXPECT_EQ(stub().read(path("/docs/old.txt"), 0, 100)->data, "new content");

  // Unlinked: reads and writes still work on the orphan; the name is gone.
  ASSERT_TRUE(stub().unlink(path("/docs/old.txt")).ok());
  ASSERT_TRUE(stub().writeHandle(gone->handle, 0, "NEW").ok());
  EXPECT_EQ(stub().readHandle(gone->handle, 0, 100)->data, "NEW content");
  EXPECT_EQ(stub().statHandle(gone->handle)->nlink, 0u);
  EXPECT_EQ(stub().stat(path("/docs/old.txt")).status().code(), Errc::not_found);

  EXPECT_TRUE(stub().release(kept->handle).ok());
  EXPECT_TRUE(stub().release(gone->handle).ok());
  EXPECT_EQ(vault().openCount(), 0u);
}

TEST_P(IpcHandles, ErrorsKeepTheirCodeAcrossTheWire) {
  ASSERT_TRUE(vault().put(path("/docs/e.txt"), "data").ok());
  EXPECT_EQ(stub().open(path("/docs/missing"), kRW).status().code(), Errc::not_found);
  EXPECT_EQ(stub().open(path("/docs"), OpenMode::kRead).status().code(), Errc::is_a_directory);
  EXPECT_EQ(stub().open(path("/docs/e.txt"), 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(stub().open(path("/docs/e.txt"), 1u << 12).status().code(), Errc::invalid_argument);

  auto ro = stub().open(path("/docs/e.txt"), OpenMode::kRead);
  auto wo = stub().open(path("/docs/e.txt"), OpenMode::kWrite);
  ASSERT_TRUE(ro.ok() && wo.ok());
  EXPECT_EQ(stub().writeHandle(ro->handle, 0, "x").status().code(), Errc::permission_denied);
  EXPECT_EQ(stub().truncateHandle(ro->handle, 0).status().code(), Errc::permission_denied);
  EXPECT_EQ(stub().readHandle(wo->handle, 0, 1).status().code(), Errc::permission_denied);
  EXPECT_EQ(stub().readHandle(ro->handle, 5, 1).status().code(), Errc::range_not_satisfiable);

  const HandleId forged = ro->handle + wo->handle + 1000;
  EXPECT_EQ(stub().readHandle(forged, 0, 1).status().code(), Errc::bad_handle);
  EXPECT_EQ(stub().writeHandle(forged, 0, "x").status().code(), Errc::bad_handle);
  EXPECT_EQ(stub().statHandle(forged).status().code(), Errc::bad_handle);
  EXPECT_EQ(stub().truncateHandle(forged, 0).status().code(), Errc::bad_handle);
  EXPECT_EQ(stub().fsyncHandle(forged).code(), Errc::bad_handle);
  EXPECT_EQ(stub().release(forged).code(), Errc::bad_handle);

  EXPECT_TRUE(stub().release(ro->handle).ok());
  EXPECT_EQ(stub().release(ro->handle).code(), Errc::bad_handle);  // released once only
  EXPECT_TRUE(stub().release(wo->handle).ok());
  EXPECT_EQ(vault().openCount(), 0u);
}

TEST_P(IpcHandles, AClientAtItsBoundGetsTooManyOpenUntilItReleasesOne) {
  const std::size_t bound = world_.bound();
  std::vector<HandleId> held;
  for (std::size_t i = 0; i < bound; ++i) {
    auto opened = stub().open(path("/docs/a.txt"), OpenMode::kRead);
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.status().toString();
    held.push_back(opened->handle);
  }
  auto refused = stub().open(path("/docs/a.txt"), OpenMode::kRead);
  EXPECT_EQ(refused.status().code(), Errc::too_many_open);
  EXPECT_EQ(toErrno(refused.status().code()), EMFILE);
  EXPECT_EQ(vault().openCount(), bound);  // refused before reaching the vault

  if (!isLoopback(GetParam())) {
    // The bound is per client: another stub of this process is the same client (another
    // process still opens: IpcHandlesOtherProcess).
    auto other = world_.stub();
    EXPECT_EQ(other->open(path("/docs/a.txt"), OpenMode::kRead).status().code(),
              Errc::too_many_open);
    EXPECT_EQ(vault().openCount(), bound);
  }

  ASSERT_TRUE(stub().release(held.back()).ok());
  held.pop_back();
  auto again = stub().open(path("/docs/a.txt"), OpenMode::kRead);
  ASSERT_TRUE(again.ok()) << again.status().toString();
  held.push_back(again->handle);
  for (HandleId h : held) EXPECT_TRUE(stub().release(h).ok());
  EXPECT_EQ(vault().openCount(), 0u);
}

// Over a server, every stub of one process is one client (SO_PEERCRED pid).
class IpcHandlesOverAServer : public IpcHandles {};
// In-process (loopback), each stub is a client of its own.
class IpcHandlesLoopback : public IpcHandles {};

TEST_P(IpcHandlesOverAServer, AnotherStubOfTheSameProcessIsTheSameClient) {
  auto mine = stub().open(path("/docs/a.txt"), kRW);
  ASSERT_TRUE(mine.ok());
  auto other = world_.stub();  // other connections, same pid
  EXPECT_EQ(other->readHandle(mine->handle, 0, 5)->data, "hello");
  EXPECT_TRUE(other->writeHandle(mine->handle, 0, "J").ok());
  EXPECT_EQ(stub().readHandle(mine->handle, 0, 5)->data, "Jello");
  EXPECT_TRUE(other->release(mine->handle).ok());
  EXPECT_EQ(stub().release(mine->handle).code(), Errc::bad_handle);  // released once only
  EXPECT_EQ(vault().openCount(), 0u);
}

TEST_P(IpcHandlesLoopback, AnotherLoopbackStubsHandleIsBadHandleAndStaysOpenForItsOwner) {
  // Over a server the other client must be another process: IpcHandlesOtherProcess.
  auto mine = stub().open(path("/docs/a.txt"), kRW);
  ASSERT_TRUE(mine.ok());
  auto other = world_.stub();
  EXPECT_EQ(other->readHandle(mine->handle, 0, 5).status().code(), Errc::bad_handle);
  EXPECT_EQ(other->writeHandle(mine->handle, 0, "x").status().code(), Errc::bad_handle);
  EXPECT_EQ(other->statHandle(mine->handle).status().code(), Errc::bad_handle);
  EXPECT_EQ(other->truncateHandle(mine->handle, 0).status().code(), Errc::bad_handle);
  EXPECT_EQ(other->fsyncHandle(mine->handle).code(), Errc::bad_handle);
  EXPECT_EQ(other->release(mine->handle).code(), Errc::bad_handle);
  EXPECT_EQ(vault().read(path("/docs/a.txt"), 0, 100)->data, "hello");  // not written

  EXPECT_EQ(stub().readHandle(mine->handle, 0, 5)->data, "hello");
  EXPECT_TRUE(stub().release(mine->handle).ok());
}

TEST_P(IpcHandles, AHandleOpenedOnOneThreadIsUsableFromAnyThreadOfTheSameStub) {
  // Stubs call on per-thread connections, each thread's ending with the thread; every one of
  // them is the client that opened the handle, and it stays open while the stub lives.
  HandleId h = 0;
  std::thread([&] {
    auto opened = stub().open(path("/docs/a.txt"), kRW);
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    h = opened->handle;
  }).join();
  ASSERT_NE(h, 0u);
  for (int i = 0; i < 3; ++i) {
    std::thread([&, i] {
      auto w = stub().writeHandle(h, static_cast<std::uint64_t>(i), "X");
      EXPECT_TRUE(w.ok()) << w.status().toString();
      auto r = stub().readHandle(h, 0, 5);
      EXPECT_TRUE(r.ok()) << r.status().toString();
    }).join();
  }
  EXPECT_EQ(stub().readHandle(h, 0, 5)->data, "XXXlo");
  EXPECT_TRUE(stub().release(h).ok());
}

TEST_P(IpcHandles, AClientKeepsItsHandlesUntilItsLastConnectionCloses) {
  std::vector<HandleId> mine;
  for (int i = 0; i < 2; ++i) {
    auto opened = stub().open(path("/docs/a.txt"), OpenMode::kRead);
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    mine.push_back(opened->handle);
  }
  auto other = world_.stub();
  auto theirs = other->open(path("/docs/a.txt"), OpenMode::kRead);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(vault().openCount(), 3u);

  stub_.reset();  // closes its connections with two handles open
  if (isLoopback(GetParam())) {
    // A client of its own: its handles go with it, the other's stay.
    EXPECT_TRUE(openCountBecomes(vault(), 1)) << vault().openCount();
  } else {
    // The same client still has the other stub's connections: nothing is released, and the
    // handles opened through the closed stub still work through the other one.
    std::this_thread::sleep_for(50ms);  // a release, if wrongly made, would have happened now
    EXPECT_EQ(vault().openCount(), 3u);
    for (HandleId h : mine) EXPECT_EQ(other->readHandle(h, 0, 5)->data, "hello");
  }
  EXPECT_EQ(other->readHandle(theirs->handle, 0, 5)->data, "hello");
  other.reset();  // the client's last connection
  EXPECT_TRUE(openCountBecomes(vault(), 0)) << vault().openCount();
}

INSTANTIATE_TEST_SUITE_P(
    AllTransports, IpcHandles,
    ::testing::Values(Transport::capnp_loopback, Transport::capnp_pair, Transport::capnp_socket,
                      Transport::proto_loopback, Transport::proto_pair,
                      Transport::proto_socket SEAMS_WITH_GRPC(Transport::grpc_loopback,
                                                              Transport::grpc_pair,
                                                              Transport::grpc_socket)),
    [](const auto& info) { return transportName(info.param); });
INSTANTIATE_TEST_SUITE_P(
    ServerTransports, IpcHandlesOverAServer,
    ::testing::Values(Transport::capnp_pair, Transport::capnp_socket, Transport::proto_pair,
                      Transport::proto_socket SEAMS_WITH_GRPC(Transport::grpc_pair,
                                                              Transport::grpc_socket)),
    [](const auto& info) { return transportName(info.param); });
INSTANTIATE_TEST_SUITE_P(
    Loopback, IpcHandlesLoopback,
    ::testing::Values(Transport::capnp_loopback,
                      Transport::proto_loopback SEAMS_WITH_GRPC(Transport::grpc_loopback)),
    [](const auto& info) { return transportName(info.param); });

// ---- peers of different ages ----------------------------------------------------------------

// An owner built before the handle calls: its Vault implements none of the new methods (here:
// none at all), so each answers UNIMPLEMENTED.
class OldCapnpVault final : public wire::Vault::Server {};

TEST(IpcHandlesOlderOwner, ACapnpOwnerWithoutTheHandleCallsAnswersNotSupported) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  ipc::UniqueFd server_end(fds[0]);
  auto client_end = std::make_shared<ipc::UniqueFd>(fds[1]);
  // The old owner: a plain capnp RPC server on its own thread, until the stub hangs up. The stub
  // starts only once this thread's KJ setup is done: libkj (not built with TSan) initialises
  // shared statics in setupAsyncIo(), which TSan reports when two threads do it at once.
  std::promise<void> ready;
  auto set_up = ready.get_future();
  std::thread owner([fd = server_end.release(), &ready] {
    auto io = kj::setupAsyncIo();
    auto stream =
        io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::SERVER);
    auto rpc = capnp::makeRpcServer(network, kj::heap<OldCapnpVault>());
    ready.set_value();
    network.onDisconnect().wait(io.waitScope);
  });
  set_up.wait();
  {
    ipc::ClientOptions o{"", 10s};
    o.connector = [client_end]() -> Result<ipc::UniqueFd> {
      if (!client_end->valid()) return Status(Errc::unavailable, "socketpair already used");
      return std::move(*client_end);
    };
    ipc::CapnpVaultClient stub(o);
    EXPECT_EQ(stub.open(path("/docs/a.txt"), OpenMode::kRead).status().code(), Errc::not_supported);
    EXPECT_EQ(stub.readHandle(1, 0, 1).status().code(), Errc::not_supported);
    EXPECT_EQ(stub.release(1).code(), Errc::not_supported);
  }
  owner.join();
}

TEST(IpcHandlesOlderOwner,
     AProtobufCallTheServerDoesNotKnowAnswersNotSupportedAndTheConnectionStays) {
  // What an older owner does with `open` (25) is what this one does with a call number it does
  // not know (39, still free in the Vault group): the oneof is unset.
  MemoryVault vault;
  auto server = ipc::ProtoServer::serve(&vault, nullptr, {}).value();
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  ASSERT_TRUE(server->adopt(ipc::UniqueFd(fds[0])).ok());
  ipc::UniqueFd conn(fds[1]);
  namespace pc = ipc::protocodec;
  auto exchange = [&](const std::string& request) -> pc::pb::ServerFrame {
    std::string frame(1, static_cast<char>(request.size()));  // one-byte varint: < 128 bytes
    frame += request;
    EXPECT_EQ(::write(conn.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
    pc::FrameDecoder decoder;
    pc::pb::ServerFrame out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(conn.get(), buf, sizeof(buf));
      if (n <= 0) return out;
      decoder.append(buf, static_cast<std::size_t>(n));
      std::string_view f;
      std::string error;
      if (decoder.next(&f, &error) == pc::FrameDecoder::Next::frame) {
        EXPECT_TRUE(pc::parseFrame(f, &out).ok());
        return out;
      }
    }
  };
  // id = 7 (field 1, varint), then field 39 as an empty message (tag (39 << 3) | 2 = 0xBA 0x02).
  auto unknown = exchange(std::string("\x08\x07\xBA\x02\x00", 5));
  ASSERT_TRUE(unknown.has_response());
  EXPECT_EQ(unknown.response().id(), 7u);
  EXPECT_EQ(pc::errorOf(unknown.response()).code(), Errc::not_supported);

  pc::pb::Request open;
  open.set_id(8);
  open.mutable_open()->set_path("/docs/a.txt");
  open.mutable_open()->set_mode(OpenMode::kRead);
  auto opened = exchange(open.SerializeAsString());
  ASSERT_TRUE(opened.has_response());
  EXPECT_FALSE(opened.response().has_error());
  EXPECT_TRUE(opened.response().has_opened());
  EXPECT_EQ(vault.openCount(), 1u);
  conn.reset();  // and the handle goes with the connection
  EXPECT_TRUE(openCountBecomes(vault, 0)) << vault.openCount();
}

// ---- a client process killed with its handles open -------------------------------------------

enum class Codec { capnp, protobuf, grpc };

std::string codecName(Codec c) {
  return c == Codec::capnp ? "Capnp" : c == Codec::protobuf ? "Protobuf" : "Grpc";
}

// tests/ipc/ipc_test_peer.cpp in client mode: opens `count` handles, prints "opened", and with
// `try_handle` then prints "tried E1 E2" (the errnos of readHandle and release of that id); waits.
class ClientProcess {
 public:
  ClientProcess(Codec c, const std::string& socket, int count,
                std::optional<HandleId> try_handle = std::nullopt) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      const char* mode = c == Codec::capnp      ? "client-capnp"
                         : c == Codec::protobuf ? "client-protobuf"
                                                : "client-grpc";
      std::string n = std::to_string(count);
      std::string h = try_handle ? std::to_string(*try_handle) : "";
      ::execl(SEAMS_IPC_TEST_PEER, SEAMS_IPC_TEST_PEER, mode, socket.c_str(), n.c_str(),
              try_handle ? h.c_str() : static_cast<char*>(nullptr), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_.reset(out[0]);
  }
  ~ClientProcess() { kill(); }

  // The next line the client prints (bounded: a real process).
  std::string nextLine() {
    std::string buf;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char ch;
      if (::read(out_.get(), &ch, 1) != 1) return buf;
      if (ch == '\n') return buf;
      buf += ch;
    }
    return buf;
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

class IpcHandlesClientDeath : public ::testing::TestWithParam<Codec> {};

TEST_P(IpcHandlesClientDeath, AClientKilledWithHandlesOpenLeaksNoneAtTheOwner) {
  TempDir dir;
  const std::string socket = dir.str() + "/run/fsd.sock";
  MemoryVault vault;
  std::unique_ptr<ipc::CapnpServer> capnp;
  std::unique_ptr<ipc::ProtoServer> proto;
  std::unique_ptr<ipc::GrpcServer> grpc;
  if (GetParam() == Codec::capnp) {
    capnp = ipc::CapnpServer::serve(vault, {socket}).value();
  } else if (GetParam() == Codec::grpc) {
    grpc = ipc::GrpcServer::serve(&vault, nullptr, {socket}).value();
  } else {
    proto = ipc::ProtoServer::serve(&vault, nullptr, {socket}).value();
  }
  // A survivor with a handle of its own, which the death must not touch.
  std::unique_ptr<Vault> survivor;
  if (GetParam() == Codec::capnp) {
    survivor = std::make_unique<ipc::CapnpVaultClient>(ipc::ClientOptions{socket, 10s});
  } else if (GetParam() == Codec::grpc) {
    survivor = std::make_unique<ipc::GrpcVaultClient>(ipc::ClientOptions{socket, 10s});
  } else {
    survivor = std::make_unique<ipc::ProtoVaultClient>(ipc::ClientOptions{socket, 10s});
  }
  auto kept = survivor->open(path("/docs/a.txt"), OpenMode::kRead);
  ASSERT_TRUE(kept.ok()) << kept.status().toString();

  ClientProcess client(GetParam(), socket, 5);
  ASSERT_EQ(client.nextLine(), "opened 5");
  EXPECT_EQ(vault.openCount(), 6u);
  client.kill();  // SIGKILL: no release, no clean close

  EXPECT_TRUE(openCountBecomes(vault, 1)) << vault.openCount();
  EXPECT_EQ(survivor->readHandle(kept->handle, 0, 5)->data, "hello");
  EXPECT_TRUE(survivor->release(kept->handle).ok());
  EXPECT_EQ(vault.openCount(), 0u);
  survivor.reset();
}

// Another process is another client: it cannot use this one's ids, and it has a bound of its own.
class IpcHandlesOtherProcess : public ::testing::TestWithParam<Codec> {};

TEST_P(IpcHandlesOtherProcess, AnotherProcessGetsBadHandleForOurIdsAndHasABoundOfItsOwn) {
  TempDir dir;
  const std::string socket = dir.str() + "/run/fsd.sock";
  MemoryVault vault;
  std::unique_ptr<ipc::CapnpServer> capnp;
  std::unique_ptr<ipc::ProtoServer> proto;
  std::unique_ptr<ipc::GrpcServer> grpc;
  std::unique_ptr<Vault> stub;
  if (GetParam() == Codec::grpc) {
    ipc::ServerOptions o{socket};
    o.max_open_handles = kBound;
    grpc = ipc::GrpcServer::serve(&vault, nullptr, o).value();
    stub = std::make_unique<ipc::GrpcVaultClient>(ipc::ClientOptions{socket, 10s});
  } else if (GetParam() == Codec::capnp) {
    ipc::ServerOptions o{socket};
    o.max_open_handles = kBound;
    capnp = ipc::CapnpServer::serve(vault, o).value();
    stub = std::make_unique<ipc::CapnpVaultClient>(ipc::ClientOptions{socket, 10s});
  } else {
    ipc::ServerOptions o{socket};
    o.max_open_handles = kBound;
    proto = ipc::ProtoServer::serve(&vault, nullptr, o).value();
    stub = std::make_unique<ipc::ProtoVaultClient>(ipc::ClientOptions{socket, 10s});
  }
  std::vector<HandleId> mine;
  for (std::size_t i = 0; i < kBound; ++i) {
    auto opened = stub->open(path("/docs/a.txt"), OpenMode::kRead);
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    mine.push_back(opened->handle);
  }
  EXPECT_EQ(stub->open(path("/docs/a.txt"), OpenMode::kRead).status().code(), Errc::too_many_open);

  ClientProcess client(GetParam(), socket, static_cast<int>(kBound), mine[0]);
  ASSERT_EQ(client.nextLine(), "opened " + std::to_string(kBound));  // a bound of its own
  EXPECT_EQ(client.nextLine(), "tried " + std::to_string(EBADF) + " " + std::to_string(EBADF));
  EXPECT_EQ(vault.openCount(), 2 * kBound);
  EXPECT_EQ(stub->readHandle(mine[0], 0, 5)->data, "hello");  // its release did not touch ours

  client.kill();  // its handles go, ours stay
  EXPECT_TRUE(openCountBecomes(vault, kBound)) << vault.openCount();
  for (HandleId h : mine) EXPECT_TRUE(stub->release(h).ok());
  EXPECT_EQ(vault.openCount(), 0u);
  stub.reset();
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, IpcHandlesOtherProcess,
                         ::testing::Values(Codec::capnp,
                                           Codec::protobuf SEAMS_WITH_GRPC(Codec::grpc)),
                         [](const auto& info) { return codecName(info.param); });

INSTANTIATE_TEST_SUITE_P(AllCodecs, IpcHandlesClientDeath,
                         ::testing::Values(Codec::capnp,
                                           Codec::protobuf SEAMS_WITH_GRPC(Codec::grpc)),
                         [](const auto& info) { return codecName(info.param); });

}  // namespace
}  // namespace seams::testing

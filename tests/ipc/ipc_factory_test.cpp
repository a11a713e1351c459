// The codec factory (ipc/factory/factory.h) and the transport pieces every codec shares
// (ipc/transport/): stubs and servers made by codec answer like the classes they wrap, the
// round-trip counter follows the stub, and the shared reconnect gate and per-thread bookkeeping
// keep their rules.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "ipc/factory/factory.h"
#include "ipc/transport/per_thread.h"
#include "ipc/transport/reconnect.h"
#include "tests/ipc/ipc_test_env.h"

namespace seams::testing {
namespace {

using namespace std::chrono_literals;

class IpcFactory : public ::testing::TestWithParam<Codec> {
 protected:
  std::string socket(const std::string& name) const { return world_.runtimeDir() + "/" + name; }

  LocalWorld world_;
};

TEST_P(IpcFactory, AVaultServedAndDialledByCodecAnswersAndCountsItsRoundTrips) {
  auto server = ipc::serve(GetParam(), &world_.vault(), nullptr, {socket("fsd.sock")});
  ASSERT_TRUE(server.ok()) << server.status().toString();
  auto stub = ipc::makeVaultClient(GetParam(), {socket("fsd.sock"), 10s});
  ASSERT_TRUE(stub.object);
  EXPECT_EQ(stub.round_trips(), 0u);
  ASSERT_TRUE(stub.object->mkdir(VaultPath::parse("/d").value(), 0755).ok());
  auto attr = stub.object->stat(VaultPath::parse("/d").value());
  ASSERT_TRUE(attr.ok()) << attr.status().toString();
  EXPECT_EQ(stub.round_trips(), 2u);
  EXPECT_EQ(stub.object->stat(VaultPath::parse("/nope").value()).code(), Errc::not_found);
  EXPECT_GE((*server)->counters().accepted, 1u);
}

TEST_P(IpcFactory, AnAuthServedAndDialledByCodecAnswers) {
  auto server = ipc::serve(GetParam(), nullptr, &world_.auth(), {socket("authd.sock")});
  ASSERT_TRUE(server.ok()) << server.status().toString();
  auto stub = ipc::makeAuthClient(GetParam(), {socket("authd.sock"), 10s});
  auto session = stub.object->login("alice", "wonderland");
  ASSERT_TRUE(session.ok()) << session.status().toString();
  EXPECT_EQ(stub.object->login("alice", "wrong").code(), Errc::unauthenticated);
  EXPECT_EQ(stub.round_trips(), 2u);
}

TEST_P(IpcFactory, TheRoundTripCounterReadsZeroOnceTheStubIsGone) {
  auto stub = ipc::makeLoopbackVaultClient(GetParam(), world_.vault());
  ASSERT_TRUE(stub.object->stat(VaultPath::root()).ok());
  EXPECT_EQ(stub.round_trips(), 1u);
  auto counter = stub.round_trips;
  stub.object.reset();
  EXPECT_EQ(counter(), 0u);
}

TEST_P(IpcFactory, LoopbackStubsGoThroughTheCodec) {
  auto vault = ipc::makeLoopbackVaultClient(GetParam(), world_.vault());
  auto auth = ipc::makeLoopbackAuthClient(GetParam(), world_.auth());
  ASSERT_TRUE(vault.object->put(VaultPath::parse("/f").value(), "hello").ok());
  auto r = vault.object->read(VaultPath::parse("/f").value(), 0, 100);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->data, "hello");
  EXPECT_TRUE(auth.object->login("bob", "builder").ok());
  EXPECT_EQ(vault.round_trips(), 2u);
  EXPECT_EQ(auth.round_trips(), 1u);
}

TEST_P(IpcFactory, ServingNothingIsAnError) {
  auto server = ipc::serve(GetParam(), nullptr, nullptr, {socket("x.sock")});
  EXPECT_EQ(server.code(), Errc::invalid_argument);
}

TEST_P(IpcFactory, AServerAdoptsASocketpairThroughTheBaseInterface) {
  auto server = ipc::serve(GetParam(), &world_.vault(), nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status().toString();
  std::unique_ptr<ipc::Server> owned = std::move(*server);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto client_end = std::make_shared<ipc::UniqueFd>(sv[1]);
  ASSERT_TRUE(owned->adopt(ipc::UniqueFd(sv[0])).ok());
  ipc::ClientOptions o{"", 10s};
  o.connector = [client_end]() -> Result<ipc::UniqueFd> {
    if (!client_end->valid()) return Status(Errc::unavailable, "socketpair used");
    return ipc::UniqueFd(client_end->release());
  };
  auto stub = ipc::makeVaultClient(GetParam(), std::move(o));
  EXPECT_TRUE(stub.object->stat(VaultPath::root()).ok());
  EXPECT_EQ(owned->counters().accepted, 1u);
}

INSTANTIATE_TEST_SUITE_P(Codecs, IpcFactory, ::testing::Values(Codec::capnp, Codec::protobuf),
                         [](const auto& info) { return std::string(codecName(info.param)); });

TEST(IpcFactoryCapnp, ServesOneObjectPerSocket) {
  LocalWorld world;
  auto server = ipc::serve(Codec::capnp, &world.vault(), &world.auth(), {""});
  EXPECT_EQ(server.code(), Errc::invalid_argument);
}

TEST(IpcFactoryProtobuf, ServesBothObjectsOnOneSocket) {
  LocalWorld world;
  std::string sock = world.runtimeDir() + "/both.sock";
  auto server = ipc::serve(Codec::protobuf, &world.vault(), &world.auth(), {sock});
  ASSERT_TRUE(server.ok()) << server.status().toString();
  auto vault = ipc::makeVaultClient(Codec::protobuf, {sock, 10s});
  auto auth = ipc::makeAuthClient(Codec::protobuf, {sock, 10s});
  EXPECT_TRUE(vault.object->stat(VaultPath::root()).ok());
  EXPECT_TRUE(auth.object->rules().ok());
}

// ---- ipc/transport -----------------------------------------------------------------------------

TEST(IpcTransport, TheReconnectGateFailsFastWhileBackingOff) {
  LocalWorld world;
  ASSERT_TRUE(ipc::ensureRuntimeDir(world.runtimeDir()).ok());
  ipc::ClientOptions o{world.runtimeDir() + "/nobody.sock", 1s, 10min, 10min};
  ipc::ReconnectGate gate(o);
  auto first = gate.dial(o);
  EXPECT_EQ(first.code(), Errc::unavailable);
  EXPECT_EQ(first.status().message().find("next reconnect attempt"), std::string::npos);
  // Someone listens now, but the backoff (10 min) is not over: no dial at all.
  auto listener = ipc::listenUnix(o.socket_path);
  ASSERT_TRUE(listener.ok()) << listener.status().toString();
  auto second = gate.dial(o);
  EXPECT_EQ(second.code(), Errc::unavailable);
  EXPECT_NE(second.status().message().find("next reconnect attempt"), std::string::npos)
      << second.status().toString();
  // dial() without the gate connects, and the peer (this process) passes the uid check.
  EXPECT_TRUE(ipc::dial(o).ok());
}

struct CountedConn {
  explicit CountedConn(int* live) : live(live) { ++*live; }
  ~CountedConn() { --*live; }
  int* live;
};

TEST(IpcTransport, ATableDropsTheConnectionsOfStubsThatAreGoneWhenItAddsOne) {
  int live = 0;
  ipc::ThreadConnectionTable<CountedConn> table;
  auto gone = std::make_unique<ipc::PerThreadStub>();
  ipc::PerThreadStub kept;
  table.add(*gone, std::make_unique<CountedConn>(&live));
  table.add(kept, std::make_unique<CountedConn>(&live));
  EXPECT_EQ(live, 2);
  EXPECT_NE(table.find(kept), nullptr);
  gone.reset();
  EXPECT_EQ(live, 2);  // a table belongs to its thread: nothing else destroys its entries
  ipc::PerThreadStub fresh;
  EXPECT_NE(fresh.id(), kept.id());
  table.add(fresh, std::make_unique<CountedConn>(&live));
  EXPECT_EQ(live, 2);  // the gone stub's entry went
  EXPECT_NE(table.find(kept), nullptr);
  table.clear();
  EXPECT_EQ(live, 0);
}

// True when `fd` reads end-of-file right away.
bool readsEof(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

TEST(IpcTransport, ClosingAStubShutsDownTheSocketsItTracksUnlessForgotten) {
  int a[2], b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
  ipc::UniqueFd a0(a[0]), a1(a[1]), b0(b[0]), b1(b[1]);
  ipc::PerThreadStub stub;
  auto tracked = stub.track(a0.get());
  auto forgotten = stub.track(b0.get());
  forgotten->forget();  // its owner closes it from now on; the stub must not touch the number
  auto alive = stub.alive();
  stub.close();
  EXPECT_TRUE(alive.expired());
  EXPECT_TRUE(readsEof(a1.get()));  // the server side sees the connection end at once
  pollfd p{b1.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // untouched
}

}  // namespace
}  // namespace seams::testing

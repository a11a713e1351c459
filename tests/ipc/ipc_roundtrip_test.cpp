// Every Vault and Auth call through each transport (loopback, socketpair, real UNIX socket, for
// both codecs) answers exactly what the direct call answers on the same state.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/ipc/ipc_test_env.h"
#include "tests/support/grpc_under_tsan.h"

namespace seams::testing {
namespace {

class IpcRoundTrip : public ::testing::TestWithParam<Transport> {
 protected:
  IpcRoundTrip() : stubs_(GetParam(), world_) {}

  Vault& direct() { return world_.vault(); }
  Vault& stub() { return stubs_.vault(); }
  Auth& directAuth() { return world_.auth(); }
  Auth& stubAuth() { return stubs_.auth(); }

  LocalWorld world_;
  Stubs stubs_;
};

TEST_P(IpcRoundTrip, ReadOnlyVaultCallsMatchTheDirectCall) {
  ASSERT_TRUE(direct().mkdir(path("/docs"), 0755).ok());
  ASSERT_TRUE(direct().put(path("/docs/a.txt"), "hello, seams").ok());
  ASSERT_TRUE(direct().put(path("/docs/b.bin"), std::string(100000, 'x')).ok());

  EXPECT_EQ(stub().stat(path("/docs/a.txt")).value(), direct().stat(path("/docs/a.txt")).value());
  EXPECT_EQ(stub().stat(path("/docs")).value(), direct().stat(path("/docs")).value());
  EXPECT_EQ(stub().list(path("/docs")).value(), direct().list(path("/docs")).value());
  EXPECT_EQ(stub().list(path("/")).value(), direct().list(path("/")).value());
  EXPECT_EQ(stub().read(path("/docs/a.txt"), 0, 5).value(),
            direct().read(path("/docs/a.txt"), 0, 5).value());
  EXPECT_EQ(stub().read(path("/docs/a.txt"), 7, 100).value(),
            direct().read(path("/docs/a.txt"), 7, 100).value());
  EXPECT_EQ(stub().read(path("/docs/a.txt"), 12, 10).value(),
            direct().read(path("/docs/a.txt"), 12, 10).value());
  EXPECT_EQ(stub().read(path("/docs/b.bin"), 1000, 65536).value(),
            direct().read(path("/docs/b.bin"), 1000, 65536).value());
}

TEST_P(IpcRoundTrip, MutatingVaultCallsLeaveTheStateTheDirectCallSees) {
  auto dir = stub().mkdir(path("/d"), 0750);
  ASSERT_TRUE(dir.ok()) << dir.status().toString();
  EXPECT_EQ(*dir, direct().stat(path("/d")).value());

  auto created = stub().create(path("/d/f"), 0640);
  ASSERT_TRUE(created.ok()) << created.status().toString();
  EXPECT_EQ(*created, direct().stat(path("/d/f")).value());

  auto written = stub().write(path("/d/f"), 0, "abcdef");
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, direct().stat(path("/d/f")).value());
  EXPECT_EQ(direct().read(path("/d/f"), 0, 100)->data, "abcdef");

  auto put = stub().put(path("/d/g"), std::string("\0binary\xff", 8));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*put, direct().stat(path("/d/g")).value());
  EXPECT_EQ(direct().read(path("/d/g"), 0, 100)->data, std::string("\0binary\xff", 8));

  auto truncated = stub().truncate(path("/d/f"), 3);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->size, 3u);
  EXPECT_EQ(*truncated, direct().stat(path("/d/f")).value());

  auto renamed = stub().rename(path("/d/f"), path("/d/h"));
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(*renamed, direct().stat(path("/d/h")).value());
  EXPECT_EQ(direct().stat(path("/d/f")).code(), Errc::not_found);

  EXPECT_TRUE(stub().fsync(path("/d/h")).ok());
  EXPECT_TRUE(stub().reconcile(path("/d/h")).ok());
  EXPECT_TRUE(stub().unlink(path("/d/h")).ok());
  EXPECT_TRUE(stub().unlink(path("/d/g")).ok());
  EXPECT_TRUE(stub().rmdir(path("/d")).ok());
  EXPECT_EQ(direct().stat(path("/d")).code(), Errc::not_found);
}

TEST_P(IpcRoundTrip, SetAttributesCarriesEveryFieldBothWays) {
  ASSERT_TRUE(direct().mkdir(path("/a"), 0755).ok());
  ASSERT_TRUE(direct().put(path("/a/f"), "x").ok());
  AttrChange c;
  c.what = AttrChange::kMode | AttrChange::kUid | AttrChange::kGid | AttrChange::kAtime |
           AttrChange::kMtime;
  c.mode = 04710;
  c.uid = 1234;
  c.gid = 55;
  c.atime_ns = 978307200'000000005;
  c.mtime_ns = -1'500000000;  // before the epoch
  auto set = stub().setAttributes(path("/a/f"), c);
  ASSERT_TRUE(set.ok()) << set.status().toString();
  EXPECT_EQ(set->mode, 04710u);
  EXPECT_TRUE(set->owner_set);
  EXPECT_EQ(set->uid, 1234u);
  EXPECT_EQ(set->gid, 55u);
  EXPECT_EQ(set->atime_ns, c.atime_ns);
  EXPECT_EQ(set->mtime_ns, c.mtime_ns);
  EXPECT_EQ(set->nlink, 1u);
  EXPECT_EQ(*set, direct().stat(path("/a/f")).value());
  EXPECT_EQ(stub().stat(path("/a")).value(), direct().stat(path("/a")).value());
  EXPECT_EQ(stub().list(path("/a")).value(), direct().list(path("/a")).value());
  AttrChange bad;
  bad.what = AttrChange::kMode;
  bad.mode = 010000;
  EXPECT_EQ(stub().setAttributes(path("/a/f"), bad).code(), Errc::invalid_argument);
  bad.what = 1u << 20;
  EXPECT_EQ(stub().setAttributes(path("/a/f"), bad).code(), Errc::invalid_argument);
  EXPECT_EQ(stub().setAttributes(path("/missing"), c).code(), Errc::not_found);
}

TEST_P(IpcRoundTrip, VaultErrorsKeepTheirCodeAcrossTheWire) {
  ASSERT_TRUE(direct().mkdir(path("/full"), 0755).ok());
  ASSERT_TRUE(direct().put(path("/full/x"), "123").ok());

  auto expectSame = [](Errc direct_code, Errc stub_code) { EXPECT_EQ(stub_code, direct_code); };
  expectSame(direct().stat(path("/missing")).code(), stub().stat(path("/missing")).code());
  EXPECT_EQ(stub().stat(path("/missing")).code(), Errc::not_found);
  EXPECT_EQ(stub().read(path("/full/x"), 10, 1).code(), Errc::range_not_satisfiable);
  EXPECT_EQ(stub().create(path("/full/x"), 0644).code(), Errc::already_exists);
  EXPECT_EQ(stub().rmdir(path("/full")).code(), Errc::not_empty);
  EXPECT_EQ(stub().list(path("/full/x")).code(), Errc::not_a_directory);
  EXPECT_EQ(stub().read(path("/full"), 0, 1).code(), Errc::is_a_directory);
  auto s = stub().stat(path("/missing"));
  EXPECT_FALSE(s.status().message().empty());
}

TEST_P(IpcRoundTrip, AuthCallsMatchTheDirectCall) {
  auto session = stubAuth().login("alice", "wonderland");
  ASSERT_TRUE(session.ok()) << session.status().toString();
  EXPECT_FALSE(session->token.empty());
  EXPECT_EQ(stubAuth().validate(session->token).value(),
            directAuth().validate(session->token).value());
  EXPECT_EQ(stubAuth().authorize(session->token, path("/docs/x"), Access::read).value(),
            directAuth().authorize(session->token, path("/docs/x"), Access::read).value());
  EXPECT_EQ(stubAuth().principalForUid(1000).value(), directAuth().principalForUid(1000).value());
  Principal alice{"alice", {"staff"}};
  EXPECT_TRUE(stubAuth().check(alice, path("/docs/alice/f"), Access::write).ok());
  EXPECT_EQ(stubAuth().rules().value(), directAuth().rules().value());

  Principal root{"root", {"admins"}};
  Rule rule = allowUser("bob", "/pub", kRead);
  ASSERT_TRUE(stubAuth().grant(root, rule).ok());
  EXPECT_EQ(stubAuth().rules().value(), directAuth().rules().value());
  EXPECT_TRUE(directAuth().check(Principal{"bob", {}}, path("/pub/a"), Access::read).ok());
  ASSERT_TRUE(stubAuth().revoke(root, rule).ok());
  EXPECT_EQ(directAuth().check(Principal{"bob", {}}, path("/pub/a"), Access::read).code(),
            Errc::permission_denied);

  EXPECT_TRUE(stubAuth().logout(session->token).ok());
  EXPECT_EQ(directAuth().validate(session->token).code(), Errc::unauthenticated);
}

TEST_P(IpcRoundTrip, AuthErrorsKeepTheirCodeAcrossTheWire) {
  EXPECT_EQ(stubAuth().login("alice", "wrong").code(), Errc::unauthenticated);
  EXPECT_EQ(stubAuth().validate("no-such-token").code(), Errc::unauthenticated);
  EXPECT_EQ(stubAuth().logout("no-such-token").code(), Errc::unauthenticated);
  auto bob = stubAuth().login("bob", "builder");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(stubAuth().authorize(bob->token, path("/docs"), Access::read).code(),
            Errc::permission_denied);
  EXPECT_EQ(stubAuth().authorize("garbage", path("/docs"), Access::read).code(),
            Errc::unauthenticated);
  EXPECT_EQ(stubAuth().check(Principal{"bob", {}}, path("/docs"), Access::read).code(),
            Errc::permission_denied);
  EXPECT_EQ(stubAuth().principalForUid(4242).code(), Errc::not_found);
  Principal root{"root", {"admins"}};
  EXPECT_EQ(stubAuth().revoke(root, allowUser("nobody", "/x", kRead)).code(), Errc::not_found);
  EXPECT_EQ(stubAuth().grant(Principal{"bob", {}}, allowUser("bob", "/", kAllAccess)).code(),
            Errc::permission_denied);
}

// A call on the same stub after subscribe() returns only once the owner has registered the
// subscription: both codecs deliver one connection's requests in order.
TEST_P(IpcRoundTrip, ChangeFeedDeliversEveryChangeInOrder) {
  EventLog<ChangeEvent> log;
  auto sub = stub().subscribe([&](const ChangeEvent& e) { log.add(e); });
  ASSERT_TRUE(stub().stat(path("/")).ok());

  auto put = direct().put(path("/a"), "1");
  ASSERT_TRUE(put.ok());
  auto renamed = direct().rename(path("/a"), path("/b"));
  ASSERT_TRUE(renamed.ok());
  ASSERT_TRUE(direct().unlink(path("/b")).ok());
  ASSERT_TRUE(log.waitFor([](auto& ev) { return ev.size() >= 3; }));
  auto events = log.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, ChangeEvent::Kind::created);
  EXPECT_EQ(events[0].path, path("/a"));
  EXPECT_EQ(events[0].version, put->version);
  EXPECT_EQ(events[1].kind, ChangeEvent::Kind::renamed);
  EXPECT_EQ(events[1].path, path("/b"));
  EXPECT_EQ(events[1].old_path, path("/a"));
  EXPECT_EQ(events[1].version, renamed->version);
  EXPECT_EQ(events[2].kind, ChangeEvent::Kind::removed);
  EXPECT_EQ(events[2].path, path("/b"));
  EXPECT_EQ(events[2].version, 0u);
}

TEST_P(IpcRoundTrip, NoEventReachesAListenerAfterItsSubscriptionIsGone) {
  EventLog<ChangeEvent> old_log;
  auto old_sub = stub().subscribe([&](const ChangeEvent& e) { old_log.add(e); });
  ASSERT_TRUE(stub().stat(path("/")).ok());
  old_sub.reset();

  EventLog<ChangeEvent> log;
  auto sub = stub().subscribe([&](const ChangeEvent& e) { log.add(e); });
  ASSERT_TRUE(stub().stat(path("/")).ok());
  ASSERT_TRUE(direct().put(path("/after"), "x").ok());
  ASSERT_TRUE(log.waitFor([](auto& ev) { return !ev.empty(); }));
  EXPECT_TRUE(old_log.events().empty());
}

TEST_P(IpcRoundTrip, AuthFeedReportsRuleChangesAndEndedSessions) {
  EventLog<AuthEvent> log;
  auto sub = stubAuth().subscribe([&](const AuthEvent& e) { log.add(e); });
  ASSERT_TRUE(stubAuth().rules().ok());

  Principal root{"root", {"admins"}};
  ASSERT_TRUE(directAuth().grant(root, allowUser("bob", "/pub", kRead)).ok());
  ASSERT_TRUE(log.waitFor([](auto& ev) { return !ev.empty(); }));
  EXPECT_EQ(log.events().front().kind, AuthEvent::Kind::rules_changed);

  auto s = directAuth().login("alice", "wonderland");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(directAuth().logout(s->token).ok());
  ASSERT_TRUE(
      log.waitFor([](auto& ev) { return ev.back().kind == AuthEvent::Kind::session_ended; }));
  EXPECT_EQ(log.events().back().user, "alice");
  EXPECT_EQ(log.events().back().token_id, tokenId(s->token));
}

TEST_P(IpcRoundTrip, ConcurrentCallsFromManyThreadsAllAnswerCorrectly) {
  ASSERT_TRUE(direct().mkdir(path("/c"), 0755).ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(
        direct().put(path("/c/f" + std::to_string(i)), std::string(1000 + i, 'a' + i)).ok());
  }
  auto token = directAuth().login("alice", "wonderland").value().token;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto p = path("/c/f" + std::to_string((t + i) % 8));
        auto r = stub().read(p, 0, 4096);
        auto expect = std::string(1000 + (t + i) % 8, 'a' + (t + i) % 8);
        if (!r.ok() || r->data != expect) ++wrong;
        auto a = stubAuth().authorize(token, path("/docs/x"), Access::read);
        if (!a.ok() || a->user != "alice") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(IpcRoundTrip, EachCallCountsOneRoundTripAndAuthorizeNeedsOnlyOne) {
  auto token = directAuth().login("alice", "wonderland").value().token;
  auto before = stubs_.authRoundTrips();
  ASSERT_TRUE(stubAuth().authorize(token, path("/docs/x"), Access::read).ok());
  EXPECT_EQ(stubs_.authRoundTrips() - before, 1u);
  auto vbefore = stubs_.vaultRoundTrips();
  (void)stub().stat(path("/"));
  (void)stub().stat(path("/nope"));
  EXPECT_EQ(stubs_.vaultRoundTrips() - vbefore, 2u);
}

// The coupling probe (issue 14) through every codec: the owner's bytes arrive unchanged, with its
// calibration, one round trip per call, and its bounds hold against the stub's requests.
TEST_P(IpcRoundTrip, ProbeAnswersTheOwnersBytesAndCalibration) {
  for (auto [work, bytes] : {std::pair<std::uint64_t, std::uint64_t>{0, 0},
                             {0, 64},
                             {25, 4096},
                             {100, 65536},
                             {5, 1u << 20},
                             {1, 13}}) {
    auto want = direct().probe(work, bytes);
    ASSERT_TRUE(want.ok());
    auto before = stubs_.vaultRoundTrips();
    auto got = stub().probe(work, bytes);
    ASSERT_TRUE(got.ok()) << "work " << work << " bytes " << bytes << ": "
                          << got.status().toString();
    EXPECT_EQ(stubs_.vaultRoundTrips() - before, 1u);
    EXPECT_EQ(got->data.size(), bytes);
    EXPECT_TRUE(got->data == want->data) << "work " << work << " bytes " << bytes;
    EXPECT_EQ(got->iterations_per_us, want->iterations_per_us);
    EXPECT_GT(got->iterations_per_us, 0.0);
  }
}

TEST_P(IpcRoundTrip, ProbeBeyondTheOwnersLimitsIsInvalidArgumentAcrossTheWire) {
  const ProbeLimits limits;  // the LocalVault's
  EXPECT_EQ(stub().probe(limits.max_work_us + 1, 0).code(), Errc::invalid_argument);
  EXPECT_EQ(stub().probe(0, limits.max_reply_bytes + 1).code(), Errc::invalid_argument);
  auto huge = stub().probe(0, 10'000'000'000ULL);  // 10 GB: refused at the owner, not sent
  EXPECT_EQ(huge.code(), Errc::invalid_argument);
  EXPECT_NE(huge.status().message().find("limit"), std::string::npos) << huge.status().toString();
  EXPECT_TRUE(stub().probe(0, limits.max_reply_bytes).ok());  // the limit itself is fine
}

INSTANTIATE_TEST_SUITE_P(
    AllTransports, IpcRoundTrip,
    ::testing::Values(Transport::capnp_loopback, Transport::capnp_pair, Transport::capnp_socket,
                      Transport::proto_loopback, Transport::proto_pair,
                      Transport::proto_socket SEAMS_WITH_GRPC(Transport::grpc_loopback,
                                                              Transport::grpc_pair,
                                                              Transport::grpc_socket)),
    [](const auto& info) { return transportName(info.param); });

}  // namespace
}  // namespace seams::testing

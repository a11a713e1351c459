// NotifyRouter in one process: datagrams sent from this process carry our pid, so a mailbox
// attached to getpid() receives them; the reader thread is real, the waits bounded polls.
#include "split/launcher/notify_router.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/common/unique_fd.h"

namespace seams::split {
namespace {

namespace fs = std::filesystem;

class NotifyRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-notify-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Result<std::unique_ptr<NotifyRouter>> router = NotifyRouter::start(dir_ + "/notify.sock");
    ASSERT_TRUE(router.ok()) << router.status().toString();
    router_ = std::move(*router);
  }
  void TearDown() override {
    router_.reset();
    fs::remove_all(dir_);
  }

  void send(const std::string& text) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, router_->path().c_str(), router_->path().size() + 1);
    ASSERT_EQ(::sendto(fd.get(), text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                       sizeof addr),
              static_cast<ssize_t>(text.size()));
  }

  // Waits (bounded) on the mailbox's eventfd until `pred` holds.
  template <typename Pred>
  bool waitUntil(NotifyMailbox& mailbox, Pred pred) {
    for (int i = 0; i < 500 && !pred(); ++i) {
      pollfd p{mailbox.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) mailbox.drain();
    }
    return pred();
  }

  SystemClock clock_;
  std::string dir_;
  std::unique_ptr<NotifyRouter> router_;
};

TEST_F(NotifyRouterTest, DeliversReadyAndWatchdogPingsToTheMailboxOfTheSendersPid) {
  auto mailbox = *NotifyMailbox::create(clock_);
  router_->attach(::getpid(), mailbox);
  EXPECT_FALSE(mailbox->ready());
  EXPECT_FALSE(mailbox->lastSign());

  send("READY=1\nSTATUS=serving");
  ASSERT_TRUE(waitUntil(*mailbox, [&] { return mailbox->ready(); }));
  EXPECT_EQ(mailbox->statusText(), "serving");
  const MonoTime first = *mailbox->lastSign();

  send("WATCHDOG=1");
  EXPECT_TRUE(waitUntil(*mailbox, [&] { return *mailbox->lastSign() > first; }));
}

TEST_F(NotifyRouterTest, KeepsAMessageThatCameBeforeItsSenderWasAttachedAndReplaysIt) {
  send("READY=1");
  auto mailbox = *NotifyMailbox::create(clock_);
  // The reader may not have read it yet: attach until it has been claimed either way.
  router_->attach(::getpid(), mailbox);
  EXPECT_TRUE(waitUntil(*mailbox, [&] { return mailbox->ready(); }));
}

TEST_F(NotifyRouterTest, ADetachedPidReachesNoMailbox) {
  auto mailbox = *NotifyMailbox::create(clock_);
  router_->attach(::getpid(), mailbox);
  router_->detach(::getpid());
  send("READY=1");
  // A later attach of another mailbox (a new daemon that got the same pid) sees it instead.
  auto successor = *NotifyMailbox::create(clock_);
  router_->attach(::getpid(), successor);
  EXPECT_TRUE(waitUntil(*successor, [&] { return successor->ready(); }));
  EXPECT_FALSE(mailbox->ready());
}

TEST_F(NotifyRouterTest, WakeMakesTheMailboxReadableWithoutAMessage) {
  auto mailbox = *NotifyMailbox::create(clock_);
  mailbox->wake();
  pollfd p{mailbox->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  mailbox->drain();
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

TEST_F(NotifyRouterTest, RemovesItsSocketWhenDestroyed) {
  const std::string path = router_->path();
  EXPECT_TRUE(fs::exists(path));
  router_.reset();
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace seams::split

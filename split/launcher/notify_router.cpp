#include "split/launcher/notify_router.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace seams::split {

Result<std::shared_ptr<NotifyMailbox>> NotifyMailbox::create(const Clock& clock) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) return Status::fromErrno(errno, "eventfd");
  return std::shared_ptr<NotifyMailbox>(new NotifyMailbox(clock, std::move(fd)));
}

void NotifyMailbox::deliver(const NotifyMessage& message) {
  {
    MutexLock lock(mutex_);
    if (message.has("READY", "1")) {
      ready_ = true;
      last_sign_ = clock_.now();
    }
    if (message.has("WATCHDOG", "1")) last_sign_ = clock_.now();
    if (auto it = message.fields.find("STATUS"); it != message.fields.end()) status_ = it->second;
  }
  wake();
}

void NotifyMailbox::wake() {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is saturated, which already means "readable".
  [[maybe_unused]] ssize_t n = ::write(event_fd_.get(), &one, sizeof one);
}

void NotifyMailbox::drain() {
  std::uint64_t value;
  [[maybe_unused]] ssize_t n = ::read(event_fd_.get(), &value, sizeof value);
}

bool NotifyMailbox::ready() const {
  MutexLock lock(mutex_);
  return ready_;
}

std::optional<MonoTime> NotifyMailbox::lastSign() const {
  MutexLock lock(mutex_);
  return last_sign_;
}

std::string NotifyMailbox::statusText() const {
  MutexLock lock(mutex_);
  return status_;
}

Result<std::unique_ptr<NotifyRouter>> NotifyRouter::start(const std::string& path) {
  Result<NotifySocket> socket = NotifySocket::bind(path);
  if (!socket.ok()) return socket.status();
  std::unique_ptr<NotifyRouter> router(new NotifyRouter(std::move(*socket)));
  router->thread_ = std::thread([r = router.get()] { r->loop(); });
  return router;
}

NotifyRouter::NotifyRouter(NotifySocket socket)
    : socket_(std::move(socket)), path_(socket_.path()) {}

NotifyRouter::~NotifyRouter() {
  stop();
}

void NotifyRouter::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void NotifyRouter::attach(pid_t pid, std::shared_ptr<NotifyMailbox> mailbox) {
  std::vector<NotifyMessage> early;
  {
    MutexLock lock(mutex_);
    for (auto it = unclaimed_.begin(); it != unclaimed_.end();) {
      if (it->pid == pid) {
        early.push_back(std::move(*it));
        it = unclaimed_.erase(it);
      } else {
        ++it;
      }
    }
    routes_[pid] = mailbox;
  }
  for (const NotifyMessage& m : early) mailbox->deliver(m);
}

void NotifyRouter::detach(pid_t pid) {
  MutexLock lock(mutex_);
  routes_.erase(pid);
}

void NotifyRouter::loop() {
  // The receive timeout bounds how long stop() waits; nothing else depends on it.
  constexpr std::chrono::milliseconds kPoll{50};
  while (!stop_.load()) {
    Result<NotifyMessage> message = socket_.receive(kPoll);
    if (!message.ok()) continue;  // timeout, or a datagram we could not read: not fatal
    std::shared_ptr<NotifyMailbox> mailbox;
    {
      MutexLock lock(mutex_);
      if (auto it = routes_.find(message->pid); it != routes_.end()) {
        mailbox = it->second;
      } else {
        const MonoTime now = message->received;
        while (!unclaimed_.empty() && (unclaimed_.size() >= kMaxUnclaimed ||
                                       now - unclaimed_.front().received > kUnclaimedLifetime)) {
          unclaimed_.pop_front();
        }
        unclaimed_.push_back(std::move(*message));
      }
    }
    // Delivered outside mutex_: a mailbox takes its own lock and writes its eventfd.
    if (mailbox) mailbox->deliver(*message);
  }
}

}  // namespace seams::split

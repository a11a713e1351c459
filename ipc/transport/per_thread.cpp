#include "ipc/transport/per_thread.h"

#include <sys/socket.h>

#include <atomic>

namespace seams::ipc {
namespace {

std::atomic<std::uint64_t> g_next_stub_id{1};  // NOLINT: process-wide unique ids

}  // namespace

void SocketShutdown::forget() {
  MutexLock lock(mu_);
  fd_ = -1;
}

void SocketShutdown::shutdown() {
  MutexLock lock(mu_);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

PerThreadStub::PerThreadStub()
    : id_(g_next_stub_id.fetch_add(1, std::memory_order_relaxed)),
      alive_(std::make_shared<int>(0)) {}

PerThreadStub::~PerThreadStub() {
  close();
}

std::weak_ptr<const void> PerThreadStub::alive() const {
  MutexLock lock(mu_);
  return alive_;
}

std::shared_ptr<SocketShutdown> PerThreadStub::track(int fd) {
  auto record = std::make_shared<SocketShutdown>(fd);
  MutexLock lock(mu_);
  std::erase_if(sockets_, [](const auto& w) { return w.expired(); });
  sockets_.push_back(record);
  return record;
}

void PerThreadStub::close() {
  std::vector<std::shared_ptr<SocketShutdown>> open;
  {
    MutexLock lock(mu_);
    alive_.reset();  // threads' tables drop this stub's entries from now on
    for (auto& w : sockets_)
      if (auto s = w.lock()) open.push_back(std::move(s));
    sockets_.clear();
  }
  for (auto& s : open) s->shutdown();
}

}  // namespace seams::ipc

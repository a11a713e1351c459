#include "ipc/net/connection_vault.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace seams::ipc {

// ---- ClientHandles ----------------------------------------------------------------------------

ClientHandles::ClientHandles(Vault& inner, std::size_t max_open)
    : inner_(inner), max_open_(max_open) {}

ClientHandles::~ClientHandles() {
  // The last connection of the client is gone: nobody else can reach this table any more.
  std::vector<HandleId> left;
  {
    MutexLock lock(mu_);
    left.assign(held_.begin(), held_.end());
    held_.clear();
  }
  for (HandleId h : left) {
    Status st = inner_.release(h);
    // bad_handle: the vault dropped it already (e.g. it was reset); nothing leaks either way.
    if (!st.ok() && st.code() != Errc::bad_handle) {
      spdlog::warn("releasing handle {} of a departed client: {}", h, st.toString());
    }
  }
}

std::size_t ClientHandles::openCount() const {
  MutexLock lock(mu_);
  return held_.size();
}

Status ClientHandles::owns(HandleId handle) const {
  MutexLock lock(mu_);
  if (held_.count(handle) == 0) {
    return Status(Errc::bad_handle, fmt::format("handle {} is not open by this client", handle));
  }
  return okStatus();
}

Result<OpenedFile> ClientHandles::open(const VaultPath& path, std::uint32_t mode) {
  {
    MutexLock lock(mu_);
    if (held_.size() + opening_ >= max_open_) {
      return Status(
          Errc::too_many_open,
          fmt::format("{}: this client holds {} open files, the limit", path.str(), max_open_));
    }
    ++opening_;
  }
  auto opened = inner_.open(path, mode);
  MutexLock lock(mu_);
  --opening_;
  if (opened) held_.insert(opened->handle);
  return opened;
}

Status ClientHandles::release(HandleId handle) {
  {
    MutexLock lock(mu_);
    if (held_.erase(handle) == 0) {
      return Status(Errc::bad_handle, fmt::format("handle {} is not open by this client", handle));
    }
  }
  return inner_.release(handle);
}

// ---- ClientRegistry ---------------------------------------------------------------------------

ClientRegistry::ClientRegistry(Vault& inner, std::size_t max_open)
    : inner_(inner), max_open_(max_open) {}

std::shared_ptr<ClientHandles> ClientRegistry::join(int pid) {
  if (pid <= 0) return std::make_shared<ClientHandles>(inner_, max_open_);
  MutexLock lock(mu_);
  // Forget clients that are gone (their tables released their handles), so the map stays as
  // small as the set of connected processes.
  for (auto it = clients_.begin(); it != clients_.end();) {
    it = it->second.expired() ? clients_.erase(it) : std::next(it);
  }
  auto& slot = clients_[pid];
  auto table = slot.lock();
  if (!table) {
    table = std::make_shared<ClientHandles>(inner_, max_open_);
    slot = table;
  }
  return table;
}

// ---- ConnectionVault --------------------------------------------------------------------------

ConnectionVault::ConnectionVault(Vault& inner, std::shared_ptr<ClientHandles> client)
    : inner_(inner), client_(std::move(client)) {}

ConnectionVault::ConnectionVault(Vault& inner, std::size_t max_open)
    : ConnectionVault(inner, std::make_shared<ClientHandles>(inner, max_open)) {}

Result<OpenedFile> ConnectionVault::open(const VaultPath& path, std::uint32_t mode) {
  return client_->open(path, mode);
}

Result<ReadResult> ConnectionVault::readHandle(HandleId handle, std::uint64_t offset,
                                               std::uint64_t length) {
  SEAMS_RETURN_IF_ERROR(client_->owns(handle));
  return inner_.readHandle(handle, offset, length);
}

Result<FileAttr> ConnectionVault::writeHandle(HandleId handle, std::uint64_t offset,
                                              std::string_view data) {
  SEAMS_RETURN_IF_ERROR(client_->owns(handle));
  return inner_.writeHandle(handle, offset, data);
}

Result<FileAttr> ConnectionVault::statHandle(HandleId handle) {
  SEAMS_RETURN_IF_ERROR(client_->owns(handle));
  return inner_.statHandle(handle);
}

Result<FileAttr> ConnectionVault::truncateHandle(HandleId handle, std::uint64_t size) {
  SEAMS_RETURN_IF_ERROR(client_->owns(handle));
  return inner_.truncateHandle(handle, size);
}

Status ConnectionVault::fsyncHandle(HandleId handle) {
  SEAMS_RETURN_IF_ERROR(client_->owns(handle));
  return inner_.fsyncHandle(handle);
}

Status ConnectionVault::release(HandleId handle) {
  return client_->release(handle);
}

}  // namespace seams::ipc

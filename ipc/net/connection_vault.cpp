#include "ipc/net/connection_vault.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

namespace seams::ipc {

ConnectionVault::ConnectionVault(Vault& inner, std::size_t max_open)
    : inner_(inner), max_open_(max_open) {}

ConnectionVault::~ConnectionVault() {
  std::vector<HandleId> left;
  {
    std::lock_guard lock(mu_);
    left.assign(held_.begin(), held_.end());
    held_.clear();
  }
  for (HandleId h : left) {
    Status st = inner_.release(h);
    // bad_handle: the vault dropped it already (e.g. it was reset); nothing leaks either way.
    if (!st.ok() && st.code() != Errc::bad_handle) {
      spdlog::warn("releasing handle {} of a closed connection: {}", h, st.toString());
    }
  }
}

std::size_t ConnectionVault::openCount() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

Status ConnectionVault::owns(HandleId handle) const {
  std::lock_guard lock(mu_);
  if (held_.count(handle) == 0) {
    return Status(Errc::bad_handle,
                  fmt::format("handle {} is not open on this connection", handle));
  }
  return okStatus();
}

Result<OpenedFile> ConnectionVault::open(const VaultPath& path, std::uint32_t mode) {
  {
    std::lock_guard lock(mu_);
    if (held_.size() + opening_ >= max_open_) {
      return Status(
          Errc::too_many_open,
          fmt::format("{}: this connection holds {} open files, the limit", path.str(), max_open_));
    }
    ++opening_;
  }
  auto opened = inner_.open(path, mode);
  std::lock_guard lock(mu_);
  --opening_;
  if (opened) held_.insert(opened->handle);
  return opened;
}

Result<ReadResult> ConnectionVault::readHandle(HandleId handle, std::uint64_t offset,
                                               std::uint64_t length) {
  SEAMS_RETURN_IF_ERROR(owns(handle));
  return inner_.readHandle(handle, offset, length);
}

Result<FileAttr> ConnectionVault::writeHandle(HandleId handle, std::uint64_t offset,
                                              std::string_view data) {
  SEAMS_RETURN_IF_ERROR(owns(handle));
  return inner_.writeHandle(handle, offset, data);
}

Result<FileAttr> ConnectionVault::statHandle(HandleId handle) {
  SEAMS_RETURN_IF_ERROR(owns(handle));
  return inner_.statHandle(handle);
}

Result<FileAttr> ConnectionVault::truncateHandle(HandleId handle, std::uint64_t size) {
  SEAMS_RETURN_IF_ERROR(owns(handle));
  return inner_.truncateHandle(handle, size);
}

Status ConnectionVault::fsyncHandle(HandleId handle) {
  SEAMS_RETURN_IF_ERROR(owns(handle));
  return inner_.fsyncHandle(handle);
}

Status ConnectionVault::release(HandleId handle) {
  {
    std::lock_guard lock(mu_);
    if (held_.erase(handle) == 0) {
      return Status(Errc::bad_handle,
                    fmt::format("handle {} is not open on this connection", handle));
    }
  }
  return inner_.release(handle);
}

}  // namespace seams::ipc

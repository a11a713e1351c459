#include "core/vault/local_vault.h"

#include <algorithm>
#include <utility>

namespace seams {
namespace {

// The requested range of a whole file. REQUIRES: data is the file's whole content.
Result<ReadResult> slice(std::string_view data, std::uint64_t version, std::uint64_t offset,
                         std::uint64_t length, const VaultPath& path) {
  if (offset > data.size()) {
    return Status(Errc::range_not_satisfiable, "read past the end of " + path.str());
  }
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, data.size() - offset));
  ReadResult r;
  r.data.assign(data.data() + offset, n);
  r.version = version;
  r.file_size = data.size();
  return r;
}

// A listener that throws breaks the feed's contract; crash loudly rather than skip the others.
void callListener(const ChangeListener& listener, const ChangeEvent& event) noexcept {
  listener(event);
}

}  // namespace

class LocalVault::SubscriptionImpl final : public Subscription {
 public:
  SubscriptionImpl(LocalVault& vault, std::uint64_t id) : vault_(vault), id_(id) {}
  ~SubscriptionImpl() override { vault_.unsubscribe(id_); }

 private:
  LocalVault& vault_;
  std::uint64_t id_;
};

LocalVault::LocalVault(Storage& storage, FsCache& cache) : storage_(storage), cache_(cache) {}

LocalVault::~LocalVault() = default;

std::size_t LocalVault::lockIndex(const VaultPath& path) const {
  return std::hash<VaultPath>{}(path) % kPathLocks;
}

void LocalVault::invalidateChanged(const VaultPath& path, bool subtree) {
  if (subtree) {
    cache_.invalidatePrefix(path);
  } else {
    cache_.invalidate(path);
  }
  // The parent's entries and version changed; its own entry sits in the grandparent's listing.
  if (!path.isRoot()) cache_.invalidate(path.parent());
}

void LocalVault::publish(const ChangeEvent& event) {
  std::shared_lock lock(listeners_mutex_);
  for (const ListenerSlot& slot : listeners_) callListener(slot.listener, event);
}

std::unique_ptr<Subscription> LocalVault::subscribe(ChangeListener listener) {
  std::unique_lock lock(listeners_mutex_);
  std::uint64_t id = next_listener_id_++;
  listeners_.push_back(ListenerSlot{id, std::move(listener)});
  return std::make_unique<SubscriptionImpl>(*this, id);
}

void LocalVault::unsubscribe(std::uint64_t id) {
  // Exclusive: waits for every publish in flight, so the listener is never called after this.
  std::unique_lock lock(listeners_mutex_);
  std::erase_if(listeners_, [id](const ListenerSlot& s) { return s.id == id; });
}

// ---- reads ------------------------------------------------------------------------------------

Result<FileAttr> LocalVault::stat(const VaultPath& path) {
  if (std::optional<FileAttr> hit = cache_.getAttr(path)) return *hit;
  FillTicket ticket = cache_.beginFill(path);
  Result<FileAttr> r = storage_.stat(path);
  if (r.ok()) cache_.putAttr(path, *r, ticket);
  return r;
}

Result<std::vector<DirEntry>> LocalVault::list(const VaultPath& path) {
  if (auto hit = cache_.getList(path)) return std::move(*hit);
  FillTicket ticket = cache_.beginFill(path);
  Result<std::vector<DirEntry>> r = storage_.list(path);
  if (r.ok()) cache_.putList(path, *r, ticket);
  return r;
}

Result<ReadResult> LocalVault::read(const VaultPath& path, std::uint64_t offset,
                                    std::uint64_t length) {
  if (std::shared_ptr<const CachedContent> hit = cache_.getContent(path)) {
    return slice(hit->data, hit->version, offset, length, path);
  }
  // A file known to be too large for the content cache is read by range straight away.
  if (std::optional<FileAttr> attr = cache_.getAttr(path);
      attr && attr->type == FileType::file && attr->size > cache_.maxEntryBytes()) {
    return storage_.read(path, offset, length);
  }
  FillTicket ticket = cache_.beginFill(path);
  Result<FileContent> whole = storage_.readAll(path, cache_.maxEntryBytes());
  if (!whole.ok()) {
    if (whole.code() == Errc::too_large) return storage_.read(path, offset, length);
    return whole.status();
  }
  Result<ReadResult> r = slice(whole->data, whole->attr.version, offset, length, path);
  cache_.putAttr(path, whole->attr, ticket);
  cache_.putContent(path, whole->attr.version, std::move(whole->data), ticket);
  return r;
}

// ---- changes ----------------------------------------------------------------------------------

Result<FileAttr> LocalVault::write(const VaultPath& path, std::uint64_t offset,
                                   std::string_view data) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.write(path, offset, data);
  // A failed write may still have changed some bytes (ENOSPC midway): drop what we hold.
  cache_.invalidate(path);
  if (!r.ok()) return r;
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version});
  return r;
}

Result<FileAttr> LocalVault::truncate(const VaultPath& path, std::uint64_t size) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.truncate(path, size);
  cache_.invalidate(path);
  if (!r.ok()) return r;
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version});
  return r;
}

Result<FileAttr> LocalVault::setAttributes(const VaultPath& path, const AttrChange& change) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.setAttributes(path, change);
  // Also on failure: one midway (mode set, times not) still changed something. The parent's
  // cached listing holds the entry's attributes too.
  invalidateChanged(path, false);
  if (!r.ok()) return r;
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version});
  return r;
}

Result<FileAttr> LocalVault::put(const VaultPath& path, std::string_view data) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  bool created = false;
  Result<FileAttr> r = storage_.put(path, data, &created);
  if (!r.ok()) {
    // Storage may have failed after the new content became visible (a failed fsync).
    invalidateChanged(path, false);
    return r;
  }
  if (created) {
    invalidateChanged(path, false);
  } else {
    cache_.invalidate(path);
  }
  publish(ChangeEvent{created ? ChangeEvent::Kind::created : ChangeEvent::Kind::modified, path,
                      path, r->version});
  return r;
}

Result<FileAttr> LocalVault::create(const VaultPath& path, std::uint32_t mode) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.create(path, mode);
  if (!r.ok()) {
    if (r.code() != Errc::already_exists) invalidateChanged(path, false);
    return r;
  }
  invalidateChanged(path, false);
  publish(ChangeEvent{ChangeEvent::Kind::created, path, path, r->version});
  return r;
}

Result<FileAttr> LocalVault::mkdir(const VaultPath& path, std::uint32_t mode) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.mkdir(path, mode);
  if (!r.ok()) {
    if (r.code() != Errc::already_exists) invalidateChanged(path, true);
    return r;
  }
  invalidateChanged(path, true);
  publish(ChangeEvent{ChangeEvent::Kind::created, path, path, r->version});
  return r;
}

Status LocalVault::unlink(const VaultPath& path) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Status s = storage_.unlink(path);
  if (!s.ok()) {
    invalidateChanged(path, false);
    return s;
  }
  invalidateChanged(path, false);
  publish(ChangeEvent{ChangeEvent::Kind::removed, path, path, 0});
  return s;
}

Status LocalVault::rmdir(const VaultPath& path) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Status s = storage_.rmdir(path);
  if (!s.ok()) {
    invalidateChanged(path, true);
    return s;
  }
  invalidateChanged(path, true);
  publish(ChangeEvent{ChangeEvent::Kind::removed, path, path, 0});
  return s;
}

Result<FileAttr> LocalVault::rename(const VaultPath& from, const VaultPath& to) {
  std::size_t a = lockIndex(from);
  std::size_t b = lockIndex(to);
  if (a > b) std::swap(a, b);
  std::unique_lock first(path_locks_[a]);
  std::unique_lock<std::mutex> second;
  if (b != a) second = std::unique_lock(path_locks_[b]);

  Result<FileAttr> r = storage_.rename(from, to);
  if (!r.ok()) {
    invalidateChanged(from, true);
    invalidateChanged(to, true);
    return r;
  }
  // Both subtrees: a moved directory takes its descendants' paths along, a replaced one loses its.
  bool dir = r->type == FileType::directory;
  invalidateChanged(from, dir);
  invalidateChanged(to, dir);
  publish(ChangeEvent{ChangeEvent::Kind::renamed, to, from, r->version});
  return r;
}

Status LocalVault::fsync(const VaultPath& path) {
  return storage_.fsync(path);
}

Status LocalVault::reconcile(const VaultPath& path) {
  using Change = RefreshResult::Change;
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<RefreshResult> r = storage_.refresh(path);
  if (!r.ok()) return r.status();
  switch (r->change) {
    case Change::unchanged:
      // The echo of a change the vault made (and already published) itself.
      return Status();
    case Change::created:
    case Change::modified:
      invalidateChanged(path, r->attr.type == FileType::directory);
      publish(ChangeEvent{
          r->change == Change::created ? ChangeEvent::Kind::created : ChangeEvent::Kind::modified,
          path, path, r->attr.version});
      return Status();
    case Change::removed:
      invalidateChanged(path, true);
      publish(ChangeEvent{ChangeEvent::Kind::removed, path, path, 0});
      return Status();
  }
  return Status(Errc::internal, "unknown refresh result");
}

}  // namespace seams

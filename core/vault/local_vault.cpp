#include "core/vault/local_vault.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/vault/probe_work.h"
#include "core/vault/read_through.h"

namespace seams {
namespace {

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

LocalVault::LocalVault(Storage& storage, FsCache& cache, std::size_t max_open_handles,
                       ProbeLimits probe)
    : storage_(storage), cache_(cache), max_open_handles_(max_open_handles), probe_limits_(probe) {}

LocalVault::~LocalVault() = default;

Result<ProbeReply> LocalVault::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  return runProbe(probe_limits_, work_us, reply_bytes);
}

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
  ReaderLock lock(listeners_mutex_);
  for (const ListenerSlot& slot : listeners_) callListener(slot.listener, event);
}

std::unique_ptr<Subscription> LocalVault::subscribe(ChangeListener listener) {
  WriterLock lock(listeners_mutex_);
  std::uint64_t id = next_listener_id_++;
  listeners_.push_back(ListenerSlot{id, std::move(listener)});
  return std::make_unique<SubscriptionImpl>(*this, id);
}

void LocalVault::unsubscribe(std::uint64_t id) {
  // Exclusive: waits for every publish in flight, so the listener is never called after this.
  WriterLock lock(listeners_mutex_);
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
  if (auto hit = readCached(cache_, path, offset, length)) return std::move(*hit);
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
  Result<ReadResult> r = rangeOfWhole(whole->data, whole->attr.version, offset, length, path);
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
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version, r->inode});
  return r;
}

Result<FileAttr> LocalVault::truncate(const VaultPath& path, std::uint64_t size) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.truncate(path, size);
  cache_.invalidate(path);
  if (!r.ok()) return r;
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version, r->inode});
  return r;
}

Result<FileAttr> LocalVault::setAttributes(const VaultPath& path, const AttrChange& change) {
  std::lock_guard lock(path_locks_[lockIndex(path)]);
  Result<FileAttr> r = storage_.setAttributes(path, change);
  // Also on failure: one midway (mode set, times not) still changed something. The parent's
  // cached listing holds the entry's attributes too.
  invalidateChanged(path, false);
  if (!r.ok()) return r;
  publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, r->version, r->inode});
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
  if (!created) handlesUnnamed(path);  // open handles keep the replaced file
  publish(ChangeEvent{created ? ChangeEvent::Kind::created : ChangeEvent::Kind::modified, path,
                      path, r->version, r->inode});
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
  publish(ChangeEvent{ChangeEvent::Kind::created, path, path, r->version, r->inode});
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
  publish(ChangeEvent{ChangeEvent::Kind::created, path, path, r->version, r->inode});
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
  handlesUnnamed(path);
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
  handlesRenamed(from, to);
  publish(ChangeEvent{ChangeEvent::Kind::renamed, to, from, r->version, r->inode});
  return r;
}

Status LocalVault::fsync(const VaultPath& path) {
  return storage_.fsync(path);
}

// ---- handles ----------------------------------------------------------------------------------

std::shared_ptr<LocalVault::OpenHandle> LocalVault::findHandle(
    HandleId id, std::optional<VaultPath>* name) const {
  ReaderLock lock(handles_mutex_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return nullptr;
  if (name != nullptr && it->second->named) *name = it->second->path;
  return it->second;
}

std::optional<VaultPath> LocalVault::nameOf(const OpenHandle& h) const {
  ReaderLock lock(handles_mutex_);
  if (!h.named) return std::nullopt;
  return h.path;
}

std::optional<VaultPath> LocalVault::lockName(const OpenHandle& h,
                                              std::unique_lock<std::mutex>& lock) {
  for (;;) {
    std::optional<VaultPath> name = nameOf(h);
    if (!name) return std::nullopt;
    lock = std::unique_lock(path_locks_[lockIndex(*name)]);
    // A rename updates names under both path locks: re-read under ours.
    std::optional<VaultPath> now = nameOf(h);
    if (now == name) return name;
    lock.unlock();
  }
}

void LocalVault::handlesUnnamed(const VaultPath& path) {
  WriterLock lock(handles_mutex_);
  auto [first, last] = by_path_.equal_range(path.str());
  for (auto it = first; it != last; ++it) {
    if (auto h = handles_.find(it->second); h != handles_.end()) h->second->named = false;
  }
  by_path_.erase(first, last);
}

void LocalVault::handlesRenamed(const VaultPath& from, const VaultPath& to) {
  WriterLock lock(handles_mutex_);
  if (by_path_.empty()) return;
  // The file replaced at `to` (if any) lost its name; handles at or beneath `from` move.
  {
    auto [first, last] = by_path_.equal_range(to.str());
    for (auto it = first; it != last; ++it) {
      if (auto h = handles_.find(it->second); h != handles_.end()) h->second->named = false;
    }
    by_path_.erase(first, last);
  }
  std::vector<std::pair<std::string, HandleId>> moved;
  auto take = [&](std::multimap<std::string, HandleId>::iterator first,
                  std::multimap<std::string, HandleId>::iterator last) {
    handles_mutex_.assertHeld();  // a lambda is its own function to the analysis
    for (auto it = first; it != last; ++it) moved.emplace_back(it->first, it->second);
    by_path_.erase(first, last);
  };
  {
    auto [first, last] = by_path_.equal_range(from.str());
    take(first, last);
  }
  // Beneath a moved directory: keys starting with "from/" form one range.
  const std::string prefix = from.str() + "/";
  auto first = by_path_.lower_bound(prefix);
  auto last = first;
  while (last != by_path_.end() && last->first.compare(0, prefix.size(), prefix) == 0) ++last;
  take(first, last);
  for (auto& [old_name, id] : moved) {
    auto h = handles_.find(id);
    if (h == handles_.end()) continue;
    auto name = VaultPath::parse(to.str() + old_name.substr(from.str().size()));
    if (!name.ok()) {  // longer than a vault path may be: it can no longer be named
      h->second->named = false;
      continue;
    }
    h->second->path = *name;
    by_path_.emplace(name->str(), id);
  }
}

Result<OpenedFile> LocalVault::open(const VaultPath& path, std::uint32_t mode) {
  if ((mode & ~std::uint32_t{OpenMode::kAll}) != 0 ||
      (mode & (OpenMode::kRead | OpenMode::kWrite)) == 0) {
    return Status(Errc::invalid_argument, "open " + path.str() + ": bad open mode");
  }
  const bool writable = (mode & OpenMode::kWrite) != 0;
  const bool truncate = (mode & OpenMode::kTruncate) != 0;
  if (truncate && !writable) {
    return Status(Errc::invalid_argument, "open " + path.str() + ": truncation needs kWrite");
  }
  {
    // A cheap early refusal; the count is checked again when the handle is added.
    ReaderLock lock(handles_mutex_);
    if (handles_.size() >= max_open_handles_) {
      return Status(Errc::too_many_open, "open " + path.str() + ": too many open files");
    }
  }
  // Under the path lock: no unlink/rename/put of this name between opening and naming the handle.
  std::lock_guard path_lock(path_locks_[lockIndex(path)]);
  Result<Storage::OpenedBacking> backing = storage_.openFile(path, writable, truncate);
  if (truncate) cache_.invalidate(path);
  if (!backing.ok()) return backing.status();
  auto h = std::make_shared<OpenHandle>();
  h->fd = std::move(backing->fd);
  h->mode = mode;
  h->inode = backing->attr.inode;
  h->path = path;
  OpenedFile opened;
  opened.attr = backing->attr;
  {
    WriterLock lock(handles_mutex_);
    if (handles_.size() >= max_open_handles_) {
      return Status(Errc::too_many_open, "open " + path.str() + ": too many open files");
    }
    opened.handle = next_handle_++;
    handles_.emplace(opened.handle, h);
    by_path_.emplace(path.str(), opened.handle);
  }
  if (truncate)
    publish(ChangeEvent{ChangeEvent::Kind::modified, path, path, opened.attr.version,
                        opened.attr.inode});
  return opened;
}

Result<ReadResult> LocalVault::readHandle(HandleId id, std::uint64_t offset, std::uint64_t length) {
  std::optional<VaultPath> name;
  std::shared_ptr<OpenHandle> h = findHandle(id, &name);
  if (!h) return Status(Errc::bad_handle, "read: handle " + std::to_string(id) + " is not open");
  if (!(h->mode & OpenMode::kRead)) {
    return Status(Errc::permission_denied, "read: handle not opened for reading");
  }
  if (name) {
    // The hot path: the cache holds this very file under its name (same inode, one version).
    if (auto hit = readCachedFile(cache_, *name, h->inode, offset, length)) {
      return std::move(*hit);
    }
    std::optional<FileAttr> attr = cache_.getAttr(*name);
    if (!attr || (attr->inode == h->inode && attr->size <= cache_.maxEntryBytes())) {
      // Fill as read() does (what the name holds is worth caching either way), and answer from
      // it only when the name still holds our file.
      FillTicket ticket = cache_.beginFill(*name);
      Result<FileContent> whole = storage_.readAll(*name, cache_.maxEntryBytes());
      if (whole.ok()) {
        const bool ours = whole->attr.inode == h->inode;
        Result<ReadResult> r =
            ours ? rangeOfWhole(whole->data, whole->attr.version, offset, length, *name)
                 : Result<ReadResult>(Status(Errc::internal, "unused"));
        cache_.putAttr(*name, whole->attr, ticket);
        cache_.putContent(*name, whole->attr.version, std::move(whole->data), ticket);
        if (ours) return r;
      } else if (whole.code() == Errc::too_large) {
        // Remember the size, so the next read by handle (or by path) goes by range at once.
        if (Result<FileAttr> a = storage_.stat(*name); a.ok()) cache_.putAttr(*name, *a, ticket);
      }
    }
    return storage_.readOpen(h->fd.get(), &*name, offset, length);
  }
  return storage_.readOpen(h->fd.get(), nullptr, offset, length);
}

Result<FileAttr> LocalVault::writeHandle(HandleId id, std::uint64_t offset, std::string_view data) {
  std::shared_ptr<OpenHandle> h = findHandle(id);
  if (!h) return Status(Errc::bad_handle, "write: handle " + std::to_string(id) + " is not open");
  if (!(h->mode & OpenMode::kWrite)) {
    return Status(Errc::permission_denied, "write: handle not opened for writing");
  }
  std::unique_lock<std::mutex> lock;
  std::optional<VaultPath> name = lockName(*h, lock);
  bool at_path = false;
  Result<FileAttr> r =
      storage_.writeOpen(h->fd.get(), name ? &*name : nullptr, offset, data, &at_path);
  // As write(): a failed write may still have changed bytes the cache holds.
  if (name) cache_.invalidate(*name);
  if (r.ok() && at_path)
    publish(ChangeEvent{ChangeEvent::Kind::modified, *name, *name, r->version, r->inode});
  return r;
}

Result<FileAttr> LocalVault::truncateHandle(HandleId id, std::uint64_t size) {
  std::shared_ptr<OpenHandle> h = findHandle(id);
  if (!h) {
    return Status(Errc::bad_handle, "truncate: handle " + std::to_string(id) + " is not open");
  }
  if (!(h->mode & OpenMode::kWrite)) {
    return Status(Errc::permission_denied, "truncate: handle not opened for writing");
  }
  std::unique_lock<std::mutex> lock;
  std::optional<VaultPath> name = lockName(*h, lock);
  bool at_path = false;
  Result<FileAttr> r = storage_.truncateOpen(h->fd.get(), name ? &*name : nullptr, size, &at_path);
  if (name) cache_.invalidate(*name);
  if (r.ok() && at_path)
    publish(ChangeEvent{ChangeEvent::Kind::modified, *name, *name, r->version, r->inode});
  return r;
}

Result<FileAttr> LocalVault::statHandle(HandleId id) {
  std::optional<VaultPath> name;
  std::shared_ptr<OpenHandle> h = findHandle(id, &name);
  if (!h) return Status(Errc::bad_handle, "stat: handle " + std::to_string(id) + " is not open");
  if (name) {
    if (std::optional<FileAttr> attr = cache_.getAttr(*name); attr && attr->inode == h->inode) {
      return *attr;
    }
  }
  return storage_.statOpen(h->fd.get());
}

Status LocalVault::fsyncHandle(HandleId id) {
  std::shared_ptr<OpenHandle> h = findHandle(id);
  if (!h) return Status(Errc::bad_handle, "fsync: handle " + std::to_string(id) + " is not open");
  return storage_.fsyncOpen(h->fd.get());
}

std::size_t LocalVault::openHandles() const {
  ReaderLock lock(handles_mutex_);
  return handles_.size();
}

Status LocalVault::release(HandleId id) {
  std::shared_ptr<OpenHandle> h;
  {
    WriterLock lock(handles_mutex_);
    auto it = handles_.find(id);
    if (it == handles_.end()) {
      return Status(Errc::bad_handle, "release: handle " + std::to_string(id) + " is not open");
    }
    h = std::move(it->second);
    handles_.erase(it);
    if (h->named) {
      auto [first, last] = by_path_.equal_range(h->path.str());
      for (auto e = first; e != last; ++e) {
        if (e->second == id) {
          by_path_.erase(e);
          break;
        }
      }
    }
  }
  return Status();  // the fd closes with the last reference, outside the lock
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
          path, path, r->attr.version, r->attr.inode});
      return Status();
    case Change::removed:
      invalidateChanged(path, true);
      publish(ChangeEvent{ChangeEvent::Kind::removed, path, path, 0});
      return Status();
  }
  return Status(Errc::internal, "unknown refresh result");
}

}  // namespace seams

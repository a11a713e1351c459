#include "core/coherence/caching_vault.h"

#include <algorithm>
#include <utility>

#include "core/vault/read_through.h"

namespace seams {
namespace {

bool isResync(const ChangeEvent& e) {
  return e.kind == ChangeEvent::Kind::modified && e.version == 0 && e.path.isRoot();
}

template <typename R>
Errc codeOf(const R& r) {
  if constexpr (std::is_same_v<R, Status>) {
    return r.code();
  } else {
    return r.ok() ? Errc::ok : r.code();
  }
}

}  // namespace

CoherenceOptions coherenceOptionsFrom(const CacheConfig& cache) {
  CoherenceOptions o;
  o.mode = cache.coherence;
  o.ttl = std::chrono::milliseconds(cache.ttl_ms);
  o.cache.budget_bytes = cache.budget_bytes;
  o.cache.max_entry_bytes = cache.max_entry_bytes;
  o.cache.shards = cache.shards;
  return o;
}

CachingVault::CachingVault(std::shared_ptr<Vault> upstream, CoherenceOptions options,
                           const Clock& clock)
    : upstream_(std::move(upstream)), options_(std::move(options)) {
  if (options_.mode == Coherence::off) return;
  FsCache::Options cache_options = options_.cache;
  cache_options.ttl = options_.mode == Coherence::ttl ? options_.ttl : std::chrono::milliseconds(0);
  cache_ = std::make_unique<FsCache>(cache_options, clock);
  if (options_.mode == Coherence::push) {
    upstream_subscription_ =
        upstream_->subscribe([this](const ChangeEvent& e) { onUpstreamEvent(e); });
  }
}

CachingVault::~CachingVault() {
  upstream_subscription_.reset();  // no event may arrive while the rest is torn down
}

template <typename R>
R CachingVault::track(const FeedState::Token& t, R result) {
  upstream_calls_.fetch_add(1, std::memory_order_relaxed);
  if (options_.mode != Coherence::push) return result;
  Errc code = codeOf(result);
  if (code == Errc::unavailable || code == Errc::timeout) {
    feed_.markDown();
    cache_->clear();
  } else {
    feed_.callSucceeded(t);
  }
  return result;
}

void CachingVault::invalidateFor(const ChangeEvent& e) {
  if (!cache_) return;
  if (isResync(e)) {
    cache_->clear();
    return;
  }
  // A removed or moved entry may be a directory: everything beneath it goes too. The parent's
  // listing and version moved; invalidate(parent) drops its attr and listing.
  const bool subtree = e.kind == ChangeEvent::Kind::removed || e.kind == ChangeEvent::Kind::renamed;
  auto drop = [&](const VaultPath& p) {
    if (subtree) {
      cache_->invalidatePrefix(p);
    } else {
      cache_->invalidate(p);
    }
    if (!p.isRoot()) cache_->invalidate(p.parent());
  };
  drop(e.path);
  if (!(e.old_path == e.path)) drop(e.old_path);
}

void CachingVault::onUpstreamEvent(const ChangeEvent& e) {
  invalidateFor(e);
  handlesFollow(e);  // push: the feed reports our own renames too, so they are followed here
  if (isResync(e)) feed_.markUp();  // cleared above: nothing missed can be served
  listeners_.publish(e);
}

void CachingVault::changedHere(const ChangeEvent& e, bool succeeded) {
  invalidateFor(e);
  if (options_.mode == Coherence::ttl) {
    handlesFollow(e);
    listeners_.publish(e);
  } else if (options_.mode == Coherence::push) {
    ownChangeFollowed(e, succeeded);
  }
}

void CachingVault::ownChangeFollowed(const ChangeEvent& e, bool succeeded) {
  // The feed's echo follows this change again later; only what is idempotent is applied now, so
  // a handle never serves its pinned bytes after this frontend changed its file. A rename moves
  // handles when the echo arrives (applying a move twice would move them twice). A failed call
  // may still have changed something (or not): lazy handles beneath its paths ask the owner.
  if (!succeeded) {
    MutexLock lock(handles_mutex_);
    for (auto& [id, h] : handles_) {
      if (h.path.isWithin(e.path) || h.path.isWithin(e.old_path)) h.changed = true;
    }
    return;
  }
  if (e.kind != ChangeEvent::Kind::renamed) {
    handlesFollow(e);
    return;
  }
  MutexLock lock(handles_mutex_);
  for (auto& [id, h] : handles_) {
    if (h.named && h.path == e.path) h.named = false;  // replaced by the rename
  }
}

bool CachingVault::knownLarge(const VaultPath& path) const {
  MutexLock lock(large_mutex_);
  return large_.count(path.str()) != 0;
}

void CachingVault::noteSize(const VaultPath& path, std::uint64_t size) {
  if (!cache_) return;
  const bool large = size > cache_->maxEntryBytes();
  MutexLock lock(large_mutex_);
  if (!large) {
    large_.erase(path.str());
    return;
  }
  if (large_.size() >= kMaxLargeHints) large_.clear();
  large_.insert(path.str());
}

// ---- reads ------------------------------------------------------------------------------------

Result<FileAttr> CachingVault::stat(const VaultPath& path) {
  const bool use = serving();
  if (use) {
    if (std::optional<FileAttr> hit = cache_->getAttr(path)) return *hit;
  }
  FeedState::Token t = feed_.beginCall();
  FillTicket ticket = use ? cache_->beginFill(path) : FillTicket();
  Result<FileAttr> r = track(t, upstream_->stat(path));
  if (use && r.ok()) cache_->putAttr(path, *r, ticket);
  return r;
}

Result<std::vector<DirEntry>> CachingVault::list(const VaultPath& path) {
  const bool use = serving();
  if (use) {
    if (auto hit = cache_->getList(path)) return std::move(*hit);
  }
  FeedState::Token t = feed_.beginCall();
  FillTicket ticket = use ? cache_->beginFill(path) : FillTicket();
  Result<std::vector<DirEntry>> r = track(t, upstream_->list(path));
  if (use && r.ok()) cache_->putList(path, *r, ticket);
  return r;
}

Result<ReadResult> CachingVault::read(const VaultPath& path, std::uint64_t offset,
                                      std::uint64_t length) {
  const bool use = serving();
  if (!use) {
    FeedState::Token t = feed_.beginCall();
    return track(t, upstream_->read(path, offset, length));
  }
  if (auto hit = readCached(*cache_, path, offset, length)) return std::move(*hit);
  const std::uint64_t max_entry = cache_->maxEntryBytes();
  // A file known to be too large to cache is read by range at once.
  std::optional<FileAttr> attr = cache_->getAttr(path);
  if ((attr && attr->size > max_entry) || (!attr && knownLarge(path))) {
    FeedState::Token t = feed_.beginCall();
    Result<ReadResult> r = track(t, upstream_->read(path, offset, length));
    if (r.ok()) noteSize(path, r->file_size);  // small again: cached from the next read
    return r;
  }
  FeedState::Token t = feed_.beginCall();
  FillTicket ticket = cache_->beginFill(path);
  Result<ReadResult> head = track(t, upstream_->read(path, 0, max_entry));
  if (!head.ok()) return head;
  noteSize(path, head->file_size);
  if (head->file_size == head->data.size()) {  // the whole file
    std::uint64_t version = head->version;
    Result<ReadResult> r = rangeOfWhole(head->data, version, offset, length, path);
    cache_->putContent(path, version, std::move(head->data), ticket);
    return r;
  }
  // Larger than an entry may be: serve from the head when it covers the range, else by range.
  if (offset <= head->data.size() && length <= head->data.size() - offset) {
    return rangeOfWhole(head->data, head->version, offset, length, path);
  }
  FeedState::Token t2 = feed_.beginCall();
  return track(t2, upstream_->read(path, offset, length));
}

// ---- changes ----------------------------------------------------------------------------------

Result<FileAttr> CachingVault::write(const VaultPath& path, std::uint64_t offset,
                                     std::string_view data) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->write(path, offset, data));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0}, r.ok());
  if (r.ok()) noteSize(path, r->size);
  return r;
}

Result<FileAttr> CachingVault::put(const VaultPath& path, std::string_view data) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->put(path, data));
  // put() may have created missing parents: drop the whole listing chain of the path. The new
  // inode tells open handles of the old file that it was replaced, not changed.
  changedHere(
      {ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0, r.ok() ? r->inode : 0},
      r.ok());
  if (cache_) {
    for (VaultPath p = path.parent(); !p.isRoot(); p = p.parent()) cache_->invalidate(p);
  }
  return r;
}

Result<FileAttr> CachingVault::create(const VaultPath& path, std::uint32_t mode) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->create(path, mode));
  changedHere({ChangeEvent::Kind::created, path, path, r.ok() ? r->version : 0}, r.ok());
  return r;
}

Result<FileAttr> CachingVault::mkdir(const VaultPath& path, std::uint32_t mode) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->mkdir(path, mode));
  changedHere({ChangeEvent::Kind::created, path, path, r.ok() ? r->version : 0}, r.ok());
  return r;
}

Status CachingVault::unlink(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->unlink(path));
  changedHere({ChangeEvent::Kind::removed, path, path, 0}, s.ok());
  return s;
}

Status CachingVault::rmdir(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->rmdir(path));
  changedHere({ChangeEvent::Kind::removed, path, path, 0}, s.ok());
  return s;
}

Result<FileAttr> CachingVault::rename(const VaultPath& from, const VaultPath& to) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->rename(from, to));
  changedHere({ChangeEvent::Kind::renamed, to, from, r.ok() ? r->version : 0}, r.ok());
  return r;
}

Result<FileAttr> CachingVault::truncate(const VaultPath& path, std::uint64_t size) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->truncate(path, size));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0}, r.ok());
  return r;
}

Result<FileAttr> CachingVault::setAttributes(const VaultPath& path, const AttrChange& change) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->setAttributes(path, change));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0}, r.ok());
  return r;
}

Status CachingVault::fsync(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->fsync(path));
}

Status CachingVault::reconcile(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->reconcile(path));
  // What reconcile found is unknown here (created, modified or removed): drop the subtree.
  // Not a known removal: handles beneath are told only that something may have changed.
  changedHere({ChangeEvent::Kind::removed, path, path, 0}, /*succeeded=*/false);
  return s;
}

Result<ProbeReply> CachingVault::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->probe(work_us, reply_bytes));
}

// ---- handles ----------------------------------------------------------------------------------

void CachingVault::handlesFollow(const ChangeEvent& e) {
  if (!cache_) return;
  MutexLock lock(handles_mutex_);
  if (handles_.empty()) return;
  if (isResync(e)) {
    // A reconnect: the old connection's handles are gone upstream; never serve them locally.
    // A lazy handle not yet opened there keeps its name (opening it checks the inode), but the
    // events missed meanwhile may have changed its file.
    for (auto& [id, h] : handles_) {
      if (!isLazy(id) || h.upstream != 0) h.named = false;
      h.changed = true;
    }
    return;
  }
  switch (e.kind) {
    case ChangeEvent::Kind::modified:  // same name, same file, or (put) another inode: for
    case ChangeEvent::Kind::created:   // owner handles the inode check in cacheableName() tells
      for (auto& [id, h] : handles_) {
        if (!isLazy(id) || !h.named || !(h.path == e.path)) continue;
        if (e.inode != 0 && e.inode != h.inode) {
          h.named = false;  // replaced: the pinned bytes are the old file's, still
        } else {
          h.changed = true;  // changed in place (or unknown): the pinned bytes are old
        }
      }
      return;
    case ChangeEvent::Kind::removed:
      for (auto& [id, h] : handles_) {
        if (h.path.isWithin(e.path)) h.named = false;
      }
      return;
    case ChangeEvent::Kind::renamed:
      for (auto& [id, h] : handles_) {
        if (!h.named) continue;
        if (h.path == e.path) {
          h.named = false;  // replaced by the rename
        } else if (h.path.isWithin(e.old_path)) {
          auto moved =
              VaultPath::parse(e.path.str() + h.path.str().substr(e.old_path.str().size()));
          if (moved.ok()) {
            h.path = std::move(*moved);
          } else {
            h.named = false;
          }
        }
      }
      return;
  }
}

std::optional<std::pair<VaultPath, std::uint64_t>> CachingVault::cacheableName(
    HandleId handle) const {
  MutexLock lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.named) return std::nullopt;
  return std::make_pair(it->second.path, it->second.inode);
}

std::optional<VaultPath> CachingVault::nameForChange(HandleId handle) const {
  MutexLock lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.named) return std::nullopt;
  return it->second.path;
}

std::optional<OpenedFile> CachingVault::openLazily(const VaultPath& path) {
  std::optional<FileAttr> attr = cache_->getAttr(path);
  if (!attr || attr->type != FileType::file) return std::nullopt;
  std::shared_ptr<const CachedContent> content = cache_->getContent(path);
  if (!content || content->version != attr->version) return std::nullopt;
  OpenedFile opened{0, *attr};
  {
    MutexLock lock(handles_mutex_);
    if (lazy_count_ >= kMaxLazyHandles) return std::nullopt;  // the owner's bound decides
    opened.handle = next_lazy_++;
    ++lazy_count_;
    handles_[opened.handle] = KnownHandle{attr->inode, path, true, 0, std::move(content), *attr};
  }
  // A change heard between the lookups above and the registration would have missed the handle:
  // the entry must still be there, at the same version, now that the feed can reach it.
  std::optional<FileAttr> again = cache_->getAttr(path);
  if (again && again->version == attr->version && again->inode == attr->inode) return opened;
  MutexLock lock(handles_mutex_);
  handles_.erase(opened.handle);
  --lazy_count_;
  return std::nullopt;
}

std::optional<std::pair<std::shared_ptr<const CachedContent>, FileAttr>> CachingVault::pinnedFor(
    HandleId handle) const {
  if (!isLazy(handle) || !serving()) return std::nullopt;
  MutexLock lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || it->second.changed) return std::nullopt;
  FileAttr attr = it->second.pinned_attr;
  if (!it->second.named) attr.nlink = 0;  // removed or replaced since
  return std::make_pair(it->second.pinned, attr);
}

Result<HandleId> CachingVault::upstreamHandle(HandleId handle) {
  if (!isLazy(handle)) return handle;
  VaultPath path;
  std::uint64_t inode = 0;
  {
    MutexLock lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (it == handles_.end()) {
      return Status(Errc::bad_handle, "handle " + std::to_string(handle) + " is not open");
    }
    if (it->second.upstream != 0) return it->second.upstream;
    if (!it->second.named) {
      return Status(Errc::stale, it->second.path.str() +
                                     ": changed, then removed or replaced, before it was read");
    }
    path = it->second.path;
    inode = it->second.inode;
  }
  FeedState::Token t = feed_.beginCall();
  Result<OpenedFile> r = track(t, upstream_->open(path, OpenMode::kRead));
  if (!r.ok()) {
    if (r.code() != Errc::not_found) return r.status();
    return Status(Errc::stale, path.str() + ": the open file is gone from its name");
  }
  HandleId theirs = 0;
  Status refused;
  {
    MutexLock lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (r->attr.inode != inode) {
      refused = Status(Errc::stale, path.str() + ": replaced since it was opened");
    } else if (it == handles_.end()) {
      refused = Status(Errc::bad_handle, "handle " + std::to_string(handle) + " is not open");
    } else if (it->second.upstream != 0) {
      theirs = it->second.upstream;  // another call on this handle opened it first
    } else {
      it->second.upstream = r->handle;
      return r->handle;
    }
  }
  FeedState::Token t2 = feed_.beginCall();
  (void)track(t2, upstream_->release(r->handle));  // ours is not needed
  if (!refused.ok()) return refused;
  return theirs;
}

Result<OpenedFile> CachingVault::open(const VaultPath& path, std::uint32_t mode) {
  if (mode == OpenMode::kRead && options_.mode == Coherence::push && serving()) {
    if (std::optional<OpenedFile> lazy = openLazily(path)) return *lazy;
  }
  const bool use = serving() && !(mode & OpenMode::kTruncate);
  FeedState::Token t = feed_.beginCall();
  FillTicket ticket = use ? cache_->beginFill(path) : FillTicket();
  Result<OpenedFile> r = track(t, upstream_->open(path, mode));
  if (!r.ok()) return r;
  if (mode & OpenMode::kTruncate) {
    changedHere({ChangeEvent::Kind::modified, path, path, r->attr.version, r->attr.inode}, true);
  } else if (use) {
    cache_->putAttr(path, r->attr, ticket);
  }
  if (cache_) {
    MutexLock lock(handles_mutex_);
    handles_[r->handle] = KnownHandle{r->attr.inode, path, true};
  }
  return r;
}

Result<ReadResult> CachingVault::readHandle(HandleId handle, std::uint64_t offset,
                                            std::uint64_t length) {
  if (auto pinned = pinnedFor(handle)) {
    return rangeOfWhole(pinned->first->data, pinned->first->version, offset, length, VaultPath());
  }
  if (serving()) {
    if (auto known = cacheableName(handle)) {
      const VaultPath& name = known->first;
      if (auto hit = readCachedFile(*cache_, name, known->second, offset, length)) {
        return std::move(*hit);
      }
      std::optional<FileAttr> attr = cache_->getAttr(name);
      if (attr && attr->inode == known->second) {
        if (attr->size <= cache_->maxEntryBytes()) {
          // Fill from this very file (the handle), as read() fills from the name.
          Result<HandleId> up = upstreamHandle(handle);
          if (!up.ok()) return up.status();
          FeedState::Token t = feed_.beginCall();
          FillTicket ticket = cache_->beginFill(name);
          Result<ReadResult> head =
              track(t, upstream_->readHandle(*up, 0, cache_->maxEntryBytes()));
          if (!head.ok()) return head;
          if (head->file_size == head->data.size()) {
            const std::uint64_t version = head->version;
            Result<ReadResult> r = rangeOfWhole(head->data, version, offset, length, name);
            if (version == attr->version) {
              cache_->putContent(name, version, std::move(head->data), ticket);
            } else {
              cache_->invalidate(name);  // the attributes are older than the bytes: refetch
            }
            return r;
          }
        }
      }
    }
  }
  Result<HandleId> up = upstreamHandle(handle);
  if (!up.ok()) return up.status();
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->readHandle(*up, offset, length));
}

Result<FileAttr> CachingVault::writeHandle(HandleId handle, std::uint64_t offset,
                                           std::string_view data) {
  if (isLazy(handle)) {  // lazy handles are read-only, as the owner would answer
    return Status(Errc::permission_denied, "write: handle not opened for writing");
  }
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->writeHandle(handle, offset, data));
  if (std::optional<VaultPath> name = nameForChange(handle)) {
    changedHere({ChangeEvent::Kind::modified, *name, *name, r.ok() ? r->version : 0}, r.ok());
  }
  return r;
}

Result<FileAttr> CachingVault::statHandle(HandleId handle) {
  if (auto pinned = pinnedFor(handle)) return pinned->second;
  if (serving()) {
    if (auto known = cacheableName(handle)) {
      std::optional<FileAttr> attr = cache_->getAttr(known->first);
      if (attr && attr->inode == known->second) return *attr;
    }
  }
  Result<HandleId> up = upstreamHandle(handle);
  if (!up.ok()) return up.status();
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->statHandle(*up));
}

Result<FileAttr> CachingVault::truncateHandle(HandleId handle, std::uint64_t size) {
  if (isLazy(handle)) {
    return Status(Errc::permission_denied, "truncate: handle not opened for writing");
  }
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->truncateHandle(handle, size));
  if (std::optional<VaultPath> name = nameForChange(handle)) {
    changedHere({ChangeEvent::Kind::modified, *name, *name, r.ok() ? r->version : 0}, r.ok());
  }
  return r;
}

Status CachingVault::fsyncHandle(HandleId handle) {
  HandleId up = handle;
  if (isLazy(handle)) {
    MutexLock lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (it == handles_.end()) {
      return Status(Errc::bad_handle, "fsync: handle " + std::to_string(handle) + " is not open");
    }
    // Nothing was written through it, and what others wrote the owner acknowledged durable.
    if (it->second.upstream == 0) return Status();
    up = it->second.upstream;
  }
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->fsyncHandle(up));
}

Status CachingVault::release(HandleId handle) {
  HandleId up = handle;
  if (cache_) {
    MutexLock lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (isLazy(handle)) {
      if (it == handles_.end()) {
        return Status(Errc::bad_handle,
                      "release: handle " + std::to_string(handle) + " is not open");
      }
      up = it->second.upstream;
      --lazy_count_;
    }
    if (it != handles_.end()) handles_.erase(it);  // whatever upstream says, it is closed
  }
  if (up == 0) return Status();  // a lazy handle never opened upstream
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->release(up));
}

std::unique_ptr<Subscription> CachingVault::subscribe(ChangeListener listener) {
  if (options_.mode == Coherence::off) return upstream_->subscribe(std::move(listener));
  return listeners_.add(std::move(listener));
}

}  // namespace seams

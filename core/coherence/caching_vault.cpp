#include "core/coherence/caching_vault.h"

#include <algorithm>
#include <utility>

namespace seams {
namespace {

bool isResync(const ChangeEvent& e) {
  return e.kind == ChangeEvent::Kind::modified && e.version == 0 && e.path.isRoot();
}

Result<ReadResult> slice(const std::string& data, std::uint64_t version, std::uint64_t offset,
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

void CachingVault::changedHere(const ChangeEvent& e) {
  invalidateFor(e);
  if (options_.mode == Coherence::ttl) handlesFollow(e);
  if (options_.mode == Coherence::ttl) listeners_.publish(e);
}

bool CachingVault::knownLarge(const VaultPath& path) const {
  std::lock_guard lock(large_mutex_);
  return large_.count(path.str()) != 0;
}

void CachingVault::noteSize(const VaultPath& path, std::uint64_t size) {
  if (!cache_) return;
  const bool large = size > cache_->maxEntryBytes();
  std::lock_guard lock(large_mutex_);
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
  if (std::shared_ptr<const CachedContent> hit = cache_->getContent(path)) {
    return slice(hit->data, hit->version, offset, length, path);
  }
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
    Result<ReadResult> r = slice(head->data, version, offset, length, path);
    cache_->putContent(path, version, std::move(head->data), ticket);
    return r;
  }
  // Larger than an entry may be: serve from the head when it covers the range, else by range.
  if (offset <= head->data.size() && length <= head->data.size() - offset) {
    return slice(head->data, head->version, offset, length, path);
  }
  FeedState::Token t2 = feed_.beginCall();
  return track(t2, upstream_->read(path, offset, length));
}

// ---- changes ----------------------------------------------------------------------------------

Result<FileAttr> CachingVault::write(const VaultPath& path, std::uint64_t offset,
                                     std::string_view data) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->write(path, offset, data));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0});
  if (r.ok()) noteSize(path, r->size);
  return r;
}

Result<FileAttr> CachingVault::put(const VaultPath& path, std::string_view data) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->put(path, data));
  // put() may have created missing parents: drop the whole listing chain of the path.
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0});
  if (cache_) {
    for (VaultPath p = path.parent(); !p.isRoot(); p = p.parent()) cache_->invalidate(p);
  }
  return r;
}

Result<FileAttr> CachingVault::create(const VaultPath& path, std::uint32_t mode) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->create(path, mode));
  changedHere({ChangeEvent::Kind::created, path, path, r.ok() ? r->version : 0});
  return r;
}

Result<FileAttr> CachingVault::mkdir(const VaultPath& path, std::uint32_t mode) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->mkdir(path, mode));
  changedHere({ChangeEvent::Kind::created, path, path, r.ok() ? r->version : 0});
  return r;
}

Status CachingVault::unlink(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->unlink(path));
  changedHere({ChangeEvent::Kind::removed, path, path, 0});
  return s;
}

Status CachingVault::rmdir(const VaultPath& path) {
  FeedState::Token t = feed_.beginCall();
  Status s = track(t, upstream_->rmdir(path));
  changedHere({ChangeEvent::Kind::removed, path, path, 0});
  return s;
}

Result<FileAttr> CachingVault::rename(const VaultPath& from, const VaultPath& to) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->rename(from, to));
  changedHere({ChangeEvent::Kind::renamed, to, from, r.ok() ? r->version : 0});
  return r;
}

Result<FileAttr> CachingVault::truncate(const VaultPath& path, std::uint64_t size) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->truncate(path, size));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0});
  return r;
}

Result<FileAttr> CachingVault::setAttributes(const VaultPath& path, const AttrChange& change) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->setAttributes(path, change));
  changedHere({ChangeEvent::Kind::modified, path, path, r.ok() ? r->version : 0});
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
  changedHere({ChangeEvent::Kind::removed, path, path, 0});
  return s;
}

// ---- handles ----------------------------------------------------------------------------------

void CachingVault::handlesFollow(const ChangeEvent& e) {
  if (!cache_) return;
  std::lock_guard lock(handles_mutex_);
  if (handles_.empty()) return;
  if (isResync(e)) {
    // A reconnect: the old connection's handles are gone upstream; never serve them locally.
    for (auto& [id, h] : handles_) h.named = false;
    return;
  }
  switch (e.kind) {
    case ChangeEvent::Kind::modified:  // same name, same file, or (put) another inode: the
    case ChangeEvent::Kind::created:   // inode check in cacheableName() tells
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
  std::lock_guard lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.named) return std::nullopt;
  return std::make_pair(it->second.path, it->second.inode);
}

std::optional<VaultPath> CachingVault::nameForChange(HandleId handle) const {
  std::lock_guard lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.named) return std::nullopt;
  return it->second.path;
}

Result<OpenedFile> CachingVault::open(const VaultPath& path, std::uint32_t mode) {
  const bool use = serving() && !(mode & OpenMode::kTruncate);
  FeedState::Token t = feed_.beginCall();
  FillTicket ticket = use ? cache_->beginFill(path) : FillTicket();
  Result<OpenedFile> r = track(t, upstream_->open(path, mode));
  if (!r.ok()) return r;
  if (mode & OpenMode::kTruncate) {
    changedHere({ChangeEvent::Kind::modified, path, path, r->attr.version});
  } else if (use) {
    cache_->putAttr(path, r->attr, ticket);
  }
  if (cache_) {
    std::lock_guard lock(handles_mutex_);
    handles_[r->handle] = KnownHandle{r->attr.inode, path, true};
  }
  return r;
}

Result<ReadResult> CachingVault::readHandle(HandleId handle, std::uint64_t offset,
                                            std::uint64_t length) {
  if (serving()) {
    if (auto known = cacheableName(handle)) {
      const VaultPath& name = known->first;
      std::optional<FileAttr> attr = cache_->getAttr(name);
      if (attr && attr->inode == known->second) {
        if (std::shared_ptr<const CachedContent> hit = cache_->getContent(name);
            hit && hit->version == attr->version) {
          return slice(hit->data, hit->version, offset, length, name);
        }
        if (attr->size <= cache_->maxEntryBytes()) {
          // Fill from this very file (the handle), as read() fills from the name.
          FeedState::Token t = feed_.beginCall();
          FillTicket ticket = cache_->beginFill(name);
          Result<ReadResult> head =
              track(t, upstream_->readHandle(handle, 0, cache_->maxEntryBytes()));
          if (!head.ok()) return head;
          if (head->file_size == head->data.size()) {
            const std::uint64_t version = head->version;
            Result<ReadResult> r = slice(head->data, version, offset, length, name);
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
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->readHandle(handle, offset, length));
}

Result<FileAttr> CachingVault::writeHandle(HandleId handle, std::uint64_t offset,
                                           std::string_view data) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->writeHandle(handle, offset, data));
  if (std::optional<VaultPath> name = nameForChange(handle)) {
    changedHere({ChangeEvent::Kind::modified, *name, *name, r.ok() ? r->version : 0});
  }
  return r;
}

Result<FileAttr> CachingVault::statHandle(HandleId handle) {
  if (serving()) {
    if (auto known = cacheableName(handle)) {
      std::optional<FileAttr> attr = cache_->getAttr(known->first);
      if (attr && attr->inode == known->second) return *attr;
    }
  }
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->statHandle(handle));
}

Result<FileAttr> CachingVault::truncateHandle(HandleId handle, std::uint64_t size) {
  FeedState::Token t = feed_.beginCall();
  Result<FileAttr> r = track(t, upstream_->truncateHandle(handle, size));
  if (std::optional<VaultPath> name = nameForChange(handle)) {
    changedHere({ChangeEvent::Kind::modified, *name, *name, r.ok() ? r->version : 0});
  }
  return r;
}

Status CachingVault::fsyncHandle(HandleId handle) {
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->fsyncHandle(handle));
}

Status CachingVault::release(HandleId handle) {
  if (cache_) {
    std::lock_guard lock(handles_mutex_);
    handles_.erase(handle);  // whatever upstream says, the handle is closed for the caller
  }
  FeedState::Token t = feed_.beginCall();
  return track(t, upstream_->release(handle));
}

std::unique_ptr<Subscription> CachingVault::subscribe(ChangeListener listener) {
  if (options_.mode == Coherence::off) return upstream_->subscribe(std::move(listener));
  return listeners_.add(std::move(listener));
}

}  // namespace seams

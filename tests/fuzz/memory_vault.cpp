#include "tests/fuzz/memory_vault.h"

#include <utility>

#include "core/vault/probe_work.h"

namespace seams::fuzz {

class MemoryVault::Sub final : public Subscription {
 public:
  Sub(MemoryVault& vault, std::uint64_t id) : vault_(vault), id_(id) {}
  ~Sub() override {
    std::lock_guard lock(vault_.feed_mu_);
    vault_.listeners_.erase(id_);
  }

 private:
  MemoryVault& vault_;
  std::uint64_t id_;
};

MemoryVault::MemoryVault() {
  std::lock_guard lock(mu_);
  seedLocked();
}

void MemoryVault::reset() {
  std::lock_guard lock(mu_);
  open_.clear();
  seedLocked();
}

std::size_t MemoryVault::openCount() {
  std::lock_guard lock(mu_);
  return open_.size();
}

void MemoryVault::seedLocked() {
  for (auto& [name, node] : nodes_) unlinkNode(*node);
  nodes_.clear();
  nodes_["/"] = fresh(FileType::directory, 0755);
  nodes_["/docs"] = fresh(FileType::directory, 0755);
  NodePtr a = fresh(FileType::file, 0644);
  a->data = "hello";
  a->attr.size = a->data.size();
  nodes_["/docs/a.txt"] = std::move(a);
}

MemoryVault::Node* MemoryVault::find(const VaultPath& path) {
  auto it = nodes_.find(path.str());
  return it == nodes_.end() ? nullptr : it->second.get();
}

void MemoryVault::unlinkNode(Node& node) {
  node.attr.nlink = 0;
}

std::optional<VaultPath> MemoryVault::nameOf(const Node* node) {
  if (node->attr.nlink == 0) return std::nullopt;
  // A linear scan: the fuzz vault is small, and a stored name would have to follow renames of
  // every ancestor.
  for (const auto& [name, n] : nodes_) {
    if (n.get() == node) {
      auto path = VaultPath::parse(name);
      if (path) return std::move(*path);
    }
  }
  return std::nullopt;
}

Status MemoryVault::parentOk(const VaultPath& path) {
  if (path.isRoot()) return Status(Errc::already_exists, "/: is the root");
  Node* parent = find(path.parent());
  if (parent == nullptr)
    return Status(Errc::not_found, path.parent().str() + ": no such directory");
  if (parent->attr.type != FileType::directory) {
    return Status(Errc::not_a_directory, path.parent().str() + ": not a directory");
  }
  return okStatus();
}

MemoryVault::NodePtr MemoryVault::fresh(FileType type, std::uint32_t mode) {
  auto n = std::make_shared<Node>();
  n->attr.type = type;
  n->attr.mode = mode & 07777;
  n->attr.version = next_version_++;
  n->attr.inode = next_inode_++;
  n->attr.mtime_ns = static_cast<std::int64_t>(n->attr.version) * 1000;
  // Files: one name. Directories: 0, "not counted" (the frontend shows 2).
  n->attr.nlink = type == FileType::file ? 1 : 0;
  return n;
}

void MemoryVault::bump(Node& node) {
  node.attr.version = next_version_++;
  node.attr.mtime_ns = static_cast<std::int64_t>(node.attr.version) * 1000;
  node.attr.size = node.attr.type == FileType::file ? node.data.size() : 0;
}

void MemoryVault::publish(const ChangeEvent& event) {
  std::lock_guard lock(feed_mu_);
  for (auto& [id, listener] : listeners_) listener(event);
}

Result<FileAttr> MemoryVault::stat(const VaultPath& path) {
  std::lock_guard lock(mu_);
  Node* n = find(path);
  if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
  return n->attr;
}

Result<std::vector<DirEntry>> MemoryVault::list(const VaultPath& path) {
  std::lock_guard lock(mu_);
  Node* n = find(path);
  if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such directory");
  if (n->attr.type != FileType::directory) {
    return Status(Errc::not_a_directory, path.str() + ": not a directory");
  }
  std::vector<DirEntry> out;
  const std::string prefix = path.isRoot() ? "/" : path.str() + "/";
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    if (key.size() == prefix.size()) continue;  // the root itself
    std::string_view rest(key.data() + prefix.size(), key.size() - prefix.size());
    if (rest.find('/') != std::string_view::npos) continue;  // deeper
    out.push_back(DirEntry{std::string(rest), it->second->attr});
  }
  return out;
}

Result<ReadResult> MemoryVault::read(const VaultPath& path, std::uint64_t offset,
                                     std::uint64_t length) {
  std::lock_guard lock(mu_);
  Node* n = find(path);
  if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
  if (n->attr.type != FileType::file) return Status(Errc::is_a_directory, path.str());
  if (offset > n->data.size()) {
    return Status(Errc::range_not_satisfiable, path.str() + ": offset past the end");
  }
  ReadResult r;
  r.data = n->data.substr(static_cast<std::size_t>(offset),
                          static_cast<std::size_t>(std::min<std::uint64_t>(length, kMaxFileBytes)));
  r.version = n->attr.version;
  r.file_size = n->data.size();
  return r;
}

Result<FileAttr> MemoryVault::write(const VaultPath& path, std::uint64_t offset,
                                    std::string_view data) {
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
    if (n->attr.type != FileType::file) return Status(Errc::is_a_directory, path.str());
    if (offset > kMaxFileBytes || data.size() > kMaxFileBytes - offset) {
      return Status(Errc::too_large, path.str() + ": over the fuzz vault's file size");
    }
    const std::size_t end = static_cast<std::size_t>(offset) + data.size();
    if (n->data.size() < end) n->data.resize(end, '\0');
    n->data.replace(static_cast<std::size_t>(offset), data.size(), data);
    bump(*n);
    attr = n->attr;
  }
  publish({ChangeEvent::Kind::modified, path, path, attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::put(const VaultPath& path, std::string_view data) {
  if (data.size() > kMaxFileBytes) return Status(Errc::too_large, path.str() + ": too large");
  FileAttr attr;
  bool created = false;
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) {
      SEAMS_RETURN_IF_ERROR(parentOk(path));
      if (nodes_.size() >= kMaxNodes) return Status(Errc::no_space, "fuzz vault is full");
      n = nodes_.emplace(path.str(), fresh(FileType::file, 0644)).first->second.get();
      created = true;
    } else if (n->attr.type != FileType::file) {
      return Status(Errc::is_a_directory, path.str());
    } else {
      // A whole-file replace: handles open on the old content keep it (Vault::open).
      auto replacement = std::make_shared<Node>(*n);
      replacement->data.clear();
      unlinkNode(*n);
      NodePtr& slot = nodes_[path.str()];
      slot = std::move(replacement);
      n = slot.get();
    }
    n->data.assign(data);
    bump(*n);
    attr = n->attr;
  }
  publish({created ? ChangeEvent::Kind::created : ChangeEvent::Kind::modified, path, path,
           attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::create(const VaultPath& path, std::uint32_t mode) {
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    if (find(path) != nullptr) return Status(Errc::already_exists, path.str() + ": exists");
    SEAMS_RETURN_IF_ERROR(parentOk(path));
    if (nodes_.size() >= kMaxNodes) return Status(Errc::no_space, "fuzz vault is full");
    attr = nodes_.emplace(path.str(), fresh(FileType::file, mode)).first->second->attr;
  }
  publish({ChangeEvent::Kind::created, path, path, attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::mkdir(const VaultPath& path, std::uint32_t mode) {
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    if (find(path) != nullptr) return Status(Errc::already_exists, path.str() + ": exists");
    SEAMS_RETURN_IF_ERROR(parentOk(path));
    if (nodes_.size() >= kMaxNodes) return Status(Errc::no_space, "fuzz vault is full");
    attr = nodes_.emplace(path.str(), fresh(FileType::directory, mode)).first->second->attr;
  }
  publish({ChangeEvent::Kind::created, path, path, attr.version});
  return attr;
}

Status MemoryVault::unlink(const VaultPath& path) {
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
    if (n->attr.type != FileType::file) return Status(Errc::is_a_directory, path.str());
    unlinkNode(*n);
    nodes_.erase(path.str());
  }
  publish({ChangeEvent::Kind::removed, path, path, 0});
  return okStatus();
}

Status MemoryVault::rmdir(const VaultPath& path) {
  {
    std::lock_guard lock(mu_);
    if (path.isRoot()) return Status(Errc::conflict, "/: cannot remove the root");
    Node* n = find(path);
    if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such directory");
    if (n->attr.type != FileType::directory) return Status(Errc::not_a_directory, path.str());
    auto next = nodes_.upper_bound(path.str());
    const std::string prefix = path.str() + "/";
    if (next != nodes_.end() && next->first.compare(0, prefix.size(), prefix) == 0) {
      return Status(Errc::not_empty, path.str() + ": not empty");
    }
    nodes_.erase(path.str());
  }
  publish({ChangeEvent::Kind::removed, path, path, 0});
  return okStatus();
}

Result<FileAttr> MemoryVault::rename(const VaultPath& from, const VaultPath& to) {
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    if (from.isRoot() || to.isRoot()) return Status(Errc::conflict, "cannot rename the root");
    Node* src = find(from);
    if (src == nullptr) return Status(Errc::not_found, from.str() + ": no such file");
    if (to.isWithin(from) && !(to == from)) {
      return Status(Errc::invalid_argument, "cannot move a directory beneath itself");
    }
    SEAMS_RETURN_IF_ERROR(parentOk(to));
    if (from == to) return src->attr;
    const bool dir = src->attr.type == FileType::directory;
    if (Node* dst = find(to)) {
      if (dst->attr.type != src->attr.type) {
        return Status(Errc::conflict, "rename between a file and a directory");
      }
      if (dir) {
        auto next = nodes_.upper_bound(to.str());
        const std::string prefix = to.str() + "/";
        if (next != nodes_.end() && next->first.compare(0, prefix.size(), prefix) == 0) {
          return Status(Errc::not_empty, to.str() + ": not empty");
        }
      }
      unlinkNode(*dst);
      nodes_.erase(to.str());
    }
    // Move the node and, for a directory, everything beneath it.
    std::map<std::string, NodePtr> moved;
    const std::string old_prefix = from.str() + "/";
    for (auto it = nodes_.lower_bound(from.str()); it != nodes_.end();) {
      const std::string& key = it->first;
      if (key != from.str() && key.compare(0, old_prefix.size(), old_prefix) != 0) break;
      moved.emplace(to.str() + key.substr(from.str().size()), std::move(it->second));
      it = nodes_.erase(it);
    }
    Node& top = *moved.at(to.str());
    bump(top);
    attr = top.attr;
    nodes_.merge(moved);
  }
  publish({ChangeEvent::Kind::renamed, to, from, attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::truncate(const VaultPath& path, std::uint64_t size) {
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
    if (n->attr.type != FileType::file) return Status(Errc::is_a_directory, path.str());
    if (size > kMaxFileBytes) return Status(Errc::too_large, path.str() + ": too large");
    n->data.resize(static_cast<std::size_t>(size), '\0');
    bump(*n);
    attr = n->attr;
  }
  publish({ChangeEvent::Kind::modified, path, path, attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::setAttributes(const VaultPath& path, const AttrChange& change) {
  if ((change.what & ~std::uint32_t{AttrChange::kAll}) != 0 ||
      ((change.what & AttrChange::kMode) && change.mode > 07777)) {
    return Status(Errc::invalid_argument, path.str() + ": bad attributes");
  }
  FileAttr attr;
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
    if (change.what & AttrChange::kMode) n->attr.mode = change.mode;
    if (change.what & (AttrChange::kUid | AttrChange::kGid)) n->attr.owner_set = true;
    if (change.what & AttrChange::kUid) n->attr.uid = change.uid;
    if (change.what & AttrChange::kGid) n->attr.gid = change.gid;
    const std::int64_t mtime = n->attr.mtime_ns;
    bump(*n);  // sets mtime from the version: a change of attributes keeps the old one
    n->attr.mtime_ns = mtime;
    // No clock here: "now" keeps the time the node has.
    if ((change.what & AttrChange::kAtime) && !(change.what & AttrChange::kAtimeNow)) {
      n->attr.atime_ns = change.atime_ns;
    }
    if ((change.what & AttrChange::kMtime) && !(change.what & AttrChange::kMtimeNow)) {
      n->attr.mtime_ns = change.mtime_ns;
    }
    attr = n->attr;
  }
  publish({ChangeEvent::Kind::modified, path, path, attr.version});
  return attr;
}

Status MemoryVault::fsync(const VaultPath& path) {
  std::lock_guard lock(mu_);
  if (find(path) == nullptr) return Status(Errc::not_found, path.str() + ": no such file");
  return okStatus();
}

// ---- handles ---------------------------------------------------------------------------------

Result<MemoryVault::Open*> MemoryVault::findOpen(HandleId handle, std::uint32_t need) {
  auto it = open_.find(handle);
  if (it == open_.end()) return Status(Errc::bad_handle, "no such open file");
  if ((it->second.mode & need) != need) {
    return Status(Errc::permission_denied,
                  need == OpenMode::kRead ? "not open for reading" : "not open for writing");
  }
  return &it->second;
}

Result<OpenedFile> MemoryVault::open(const VaultPath& path, std::uint32_t mode) {
  if ((mode & ~std::uint32_t{OpenMode::kAll}) != 0 ||
      (mode & (OpenMode::kRead | OpenMode::kWrite)) == 0 ||
      ((mode & OpenMode::kTruncate) && !(mode & OpenMode::kWrite))) {
    return Status(Errc::invalid_argument, path.str() + ": bad open mode");
  }
  OpenedFile opened;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path.str());
    if (it == nodes_.end()) return Status(Errc::not_found, path.str() + ": no such file");
    Node& n = *it->second;
    if (n.attr.type != FileType::file) return Status(Errc::is_a_directory, path.str());
    if (open_.size() >= kMaxOpen) {
      return Status(Errc::too_many_open, "fuzz vault: too many open files");
    }
    if (mode & OpenMode::kTruncate) {
      n.data.clear();
      bump(n);
    }
    opened.handle = next_handle_++;
    opened.attr = n.attr;
    open_.emplace(opened.handle, Open{it->second, mode});
  }
  if (mode & OpenMode::kTruncate) {
    publish({ChangeEvent::Kind::modified, path, path, opened.attr.version});
  }
  return opened;
}

Result<ReadResult> MemoryVault::readHandle(HandleId handle, std::uint64_t offset,
                                           std::uint64_t length) {
  std::lock_guard lock(mu_);
  auto open = findOpen(handle, OpenMode::kRead);
  if (!open) return open.status();
  const Node& n = *(*open)->node;
  if (offset > n.data.size()) return Status(Errc::range_not_satisfiable, "offset past the end");
  ReadResult r;
  r.data = n.data.substr(static_cast<std::size_t>(offset),
                         static_cast<std::size_t>(std::min<std::uint64_t>(length, kMaxFileBytes)));
  r.version = n.attr.version;
  r.file_size = n.data.size();
  return r;
}

Result<FileAttr> MemoryVault::writeHandle(HandleId handle, std::uint64_t offset,
                                          std::string_view data) {
  FileAttr attr;
  std::optional<VaultPath> name;
  {
    std::lock_guard lock(mu_);
    auto open = findOpen(handle, OpenMode::kWrite);
    if (!open) return open.status();
    Node& n = *(*open)->node;
    if (offset > kMaxFileBytes || data.size() > kMaxFileBytes - offset) {
      return Status(Errc::too_large, "over the fuzz vault's file size");
    }
    const std::size_t end = static_cast<std::size_t>(offset) + data.size();
    if (n.data.size() < end) n.data.resize(end, '\0');
    n.data.replace(static_cast<std::size_t>(offset), data.size(), data);
    bump(n);
    attr = n.attr;
    name = nameOf(&n);
  }
  // An unlinked or replaced file changes no name: nothing to publish.
  if (name) publish({ChangeEvent::Kind::modified, *name, *name, attr.version});
  return attr;
}

Result<FileAttr> MemoryVault::statHandle(HandleId handle) {
  std::lock_guard lock(mu_);
  auto open = findOpen(handle, 0);
  if (!open) return open.status();
  return (*open)->node->attr;
}

Result<FileAttr> MemoryVault::truncateHandle(HandleId handle, std::uint64_t size) {
  FileAttr attr;
  std::optional<VaultPath> name;
  {
    std::lock_guard lock(mu_);
    auto open = findOpen(handle, OpenMode::kWrite);
    if (!open) return open.status();
    if (size > kMaxFileBytes) return Status(Errc::too_large, "too large");
    Node& n = *(*open)->node;
    n.data.resize(static_cast<std::size_t>(size), '\0');
    bump(n);
    attr = n.attr;
    name = nameOf(&n);
  }
  if (name) publish({ChangeEvent::Kind::modified, *name, *name, attr.version});
  return attr;
}

Status MemoryVault::fsyncHandle(HandleId handle) {
  std::lock_guard lock(mu_);
  return findOpen(handle, 0).status();
}

Status MemoryVault::release(HandleId handle) {
  std::lock_guard lock(mu_);
  if (open_.erase(handle) == 0) return Status(Errc::bad_handle, "no such open file");
  return okStatus();
}

Result<ProbeReply> MemoryVault::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  return runProbe(ProbeLimits{}, work_us, reply_bytes);
}

Status MemoryVault::reconcile(const VaultPath& path) {
  std::uint64_t version = 0;
  {
    std::lock_guard lock(mu_);
    Node* n = find(path);
    if (n == nullptr) {
      version = 0;
    } else {
      bump(*n);
      version = n->attr.version;
    }
  }
  publish({version == 0 ? ChangeEvent::Kind::removed : ChangeEvent::Kind::modified, path, path,
           version});
  return okStatus();
}

std::unique_ptr<Subscription> MemoryVault::subscribe(ChangeListener listener) {
  std::lock_guard lock(feed_mu_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return std::make_unique<Sub>(*this, id);
}

}  // namespace seams::fuzz

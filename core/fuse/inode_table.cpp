#include "core/fuse/inode_table.h"

#include <vector>

namespace seams {

InodeTable::InodeTable() {
  // The root is held by the kernel from mount to unmount; its count is never consulted.
  nodes_.emplace(kRootIno, Node{VaultPath::root(), 1, true});
  by_path_.emplace(VaultPath::root().str(), kRootIno);
}

std::optional<VaultPath> InodeTable::path(Ino ino) const {
  MutexLock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || !it->second.attached) return std::nullopt;
  return it->second.path;
}

std::optional<InodeTable::Ino> InodeTable::find(const VaultPath& path) const {
  MutexLock lock(mutex_);
  auto it = by_path_.find(path.str());
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

InodeTable::Ino InodeTable::remember(const VaultPath& path, std::uint64_t backing_inode) {
  MutexLock lock(mutex_);
  if (auto live = by_path_.find(path.str()); live != by_path_.end() && backing_inode != 0) {
    const Node& node = nodes_.at(live->second);
    if (node.backing_inode != 0 && node.backing_inode != backing_inode && !path.isRoot()) {
      detachLocked(path.str());
    }
  }
  auto [it, inserted] = by_path_.try_emplace(path.str(), 0);
  if (inserted) {
    it->second = next_ino_++;
    nodes_.emplace(it->second, Node{path, 0, true});
  }
  Node& node = nodes_.at(it->second);
  ++node.nlookup;
  if (backing_inode != 0) node.backing_inode = backing_inode;
  return it->second;
}

void InodeTable::forget(Ino ino, std::uint64_t count) {
  if (ino == kRootIno) return;
  MutexLock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  Node& node = it->second;
  node.nlookup = count >= node.nlookup ? 0 : node.nlookup - count;
  if (node.nlookup > 0) return;
  if (node.attached) {
    auto p = by_path_.find(node.path.str());
    if (p != by_path_.end() && p->second == ino) by_path_.erase(p);
  }
  nodes_.erase(it);
}

void InodeTable::detachLocked(const std::string& path) {
  auto p = by_path_.find(path);
  if (p == by_path_.end() || p->second == kRootIno) return;
  nodes_.at(p->second).attached = false;
  by_path_.erase(p);
}

void InodeTable::detach(const VaultPath& path) {
  MutexLock lock(mutex_);
  detachLocked(path.str());
}

void InodeTable::rename(const VaultPath& from, const VaultPath& to) {
  if (from == to || from.isRoot()) return;
  MutexLock lock(mutex_);
  // Whatever the kernel held at the destination (and beneath it, for a replaced empty
  // directory: nothing, but be thorough) no longer names that path.
  std::vector<std::string> displaced;
  for (const auto& [path, ino] : by_path_) {
    (void)ino;
    if (path == to.str() ||
        (path.size() > to.str().size() && path.compare(0, to.str().size(), to.str()) == 0 &&
         path[to.str().size()] == '/')) {
      displaced.push_back(path);
    }
  }
  for (const auto& path : displaced) detachLocked(path);

  // Collect first: rewriting keys while iterating an unordered_map is not allowed.
  std::vector<std::pair<std::string, Ino>> moving;
  for (const auto& [path, ino] : by_path_) {
    if (path == from.str() ||
        (path.size() > from.str().size() && path.compare(0, from.str().size(), from.str()) == 0 &&
         path[from.str().size()] == '/')) {
      moving.emplace_back(path, ino);
    }
  }
  for (const auto& [old_path, ino] : moving) {
    by_path_.erase(old_path);
    Node& node = nodes_.at(ino);
    auto moved = VaultPath::parse(to.str() + old_path.substr(from.str().size()));
    if (!moved.ok()) {  // the new path would be too long: the id can no longer be reached
      node.attached = false;
      continue;
    }
    node.path = *moved;
    by_path_[node.path.str()] = ino;
  }
}

std::size_t InodeTable::size() const {
  MutexLock lock(mutex_);
  return nodes_.size();
}

std::uint64_t InodeTable::lookupCount(Ino ino) const {
  MutexLock lock(mutex_);
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? 0 : it->second.nlookup;
}

}  // namespace seams

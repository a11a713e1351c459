#include "core/fuse/own_changes.h"

#include <algorithm>
#include <utility>

namespace seams {
namespace {

// The Scope open on this thread, innermost first (a Vault call made by one frontend's handler can
// reach another frontend's listener inline, never its handler, so nesting is only across objects).
thread_local OwnChanges::Scope* t_open = nullptr;

bool isResync(const ChangeEvent& e) {
  return e.kind == ChangeEvent::Kind::modified && e.version == 0 && e.path.isRoot();
}

}  // namespace

OwnChanges::Scope::Scope(OwnChanges& owner, const VaultPath& path)
    : owner_(owner), paths_{path.str()}, previous_(t_open) {
  MutexLock lock(owner_.mutex_);
  ++owner_.open_[paths_[0]];
  t_open = this;
}

OwnChanges::Scope::Scope(OwnChanges& owner, const VaultPath& from, const VaultPath& to)
    : owner_(owner), paths_{from.str(), to.str()}, previous_(t_open) {
  MutexLock lock(owner_.mutex_);
  for (const auto& p : paths_) ++owner_.open_[p];
  t_open = this;
}

OwnChanges::Scope::~Scope() {
  t_open = previous_;
  owner_.close(*this);
}

void OwnChanges::Scope::changed(std::uint64_t version) {
  if (version != 0) versions_.push_back(version);
}

void OwnChanges::Scope::removed() {
  removed_ = true;
}

void OwnChanges::deliveredInline() {
  for (Scope* s = t_open; s != nullptr; s = s->previous_) {
    if (&s->owner_ == this) {
      s->inline_ = true;
      return;
    }
  }
}

bool OwnChanges::openLocked(const ChangeEvent& e) const {
  return open_.count(e.path.str()) != 0 || open_.count(e.old_path.str()) != 0;
}

bool OwnChanges::consumeLocked(const ChangeEvent& e) {
  auto it = std::find_if(records_.begin(), records_.end(), [&](const Record& r) {
    if (e.version != 0) return r.version == e.version;
    return r.version == 0 && e.kind == ChangeEvent::Kind::removed && r.removed_path == e.path.str();
  });
  if (it == records_.end()) return false;
  records_.erase(it);
  return true;
}

bool OwnChanges::claim(const ChangeEvent& event) {
  MutexLock lock(mutex_);
  if (isResync(event)) {
    records_.clear();  // their echoes may be lost; everything is invalidated anyway
    return false;
  }
  if (consumeLocked(event)) return true;
  if (openLocked(event)) {
    held_.push_back(event);
    return true;
  }
  return false;
}

void OwnChanges::close(Scope& scope) {
  std::vector<ChangeEvent> release;
  {
    MutexLock lock(mutex_);
    for (const auto& p : scope.paths_) {
      auto it = open_.find(p);
      if (it != open_.end() && --it->second <= 0) open_.erase(it);
    }
    if (!scope.inline_) {
      for (std::uint64_t v : scope.versions_) records_.push_back(Record{v, {}});
      if (scope.removed_) records_.push_back(Record{0, scope.paths_[0]});
      while (records_.size() > kMaxRecords) records_.pop_front();
    }
    if (!held_.empty()) {
      std::vector<ChangeEvent> still;
      for (auto& e : held_) {
        if (openLocked(e)) {
          still.push_back(std::move(e));
        } else if (!consumeLocked(e)) {
          release.push_back(std::move(e));
        }
      }
      held_ = std::move(still);
    }
  }
  if (release.empty() || !release_) return;
  try {
    release_(std::move(release));
  } catch (...) {
    // Only allocation can fail here. A Scope closes in a destructor and must not throw, so these
    // events are then lost as in a feed gap: the kernel's entry/attr timeouts bound the drift.
  }
}

void OwnChanges::clear() {
  MutexLock lock(mutex_);
  records_.clear();
  held_.clear();
}

std::size_t OwnChanges::records() const {
  MutexLock lock(mutex_);
  return records_.size();
}

std::size_t OwnChanges::held() const {
  MutexLock lock(mutex_);
  return held_.size();
}

}  // namespace seams

// The bookkeeping of per-thread connections, whatever the connection is (a protobuf blocking
// socket, a capnp link on the thread's KJ loop). The rules it keeps (ipc/README.md, "Ownership
// of per-thread connections"):
// - a per-thread connection is owned by its calling thread (a ThreadConnectionTable in a
//   thread_local) and only ever used by it; it dies with the thread or when its stub is gone;
// - it never points at its stub: the table keeps the stub's weak "alive" token and drops the
//   entries of stubs that are gone whenever it adds one; stub ids are never reused, so a stale
//   entry is never found;
// - a stub being destroyed cannot destroy other threads' connections: it shuts their sockets
//   down through a SocketShutdown record each connection shares with it, so the server ends
//   them at once, and an fd number is never touched after its owner closed it.
//
// Thread-safety: PerThreadStub and SocketShutdown are thread-safe; a ThreadConnectionTable
// belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/common/thread_annotations.h"

namespace seams::ipc {

// The fd of one per-thread connection, shared between its owning thread and its stub.
class SocketShutdown {
 public:
  explicit SocketShutdown(int fd) : fd_(fd) {}
  // The owning thread, before the fd is closed: the stub must not touch that number any more.
  void forget();
  // The stub, from any thread: shutdown(SHUT_RDWR) unless forgotten (the fd stays open: it is
  // the owning thread's to close).
  void shutdown();

 private:
  Mutex mu_;
  int fd_ GUARDED_BY(mu_);
};

// A stub's side of its per-thread connections: its unique id, its alive token and the sockets
// to shut down when it goes.
class PerThreadStub {
 public:
  PerThreadStub();
  // Calls close() if the stub has not.
  ~PerThreadStub();
  PerThreadStub(const PerThreadStub&) = delete;
  PerThreadStub& operator=(const PerThreadStub&) = delete;

  std::uint64_t id() const noexcept { return id_; }
  // Expires in close(); tables hold it weakly.
  std::weak_ptr<const void> alive() const;

  // Registers the socket of a new per-thread connection; the connection keeps the record and
  // forget()s it before closing the fd.
  std::shared_ptr<SocketShutdown> track(int fd);
  // The stub is going: expires the alive token and shuts down every tracked socket still open.
  void close();

 private:
  const std::uint64_t id_;
  mutable Mutex mu_;
  std::shared_ptr<const void> alive_ GUARDED_BY(mu_);
  std::vector<std::weak_ptr<SocketShutdown>> sockets_ GUARDED_BY(mu_);
};

// One thread's per-thread connections of type Conn, by stub. Owned by a thread_local (directly,
// or inside one, e.g. next to the KJ loop its connections need); destroyed with the thread.
template <typename Conn>
class ThreadConnectionTable {
 public:
  // This thread's connection to `stub`, or null.
  Conn* find(const PerThreadStub& stub) const {
    auto it = entries_.find(stub.id());
    return it == entries_.end() ? nullptr : it->second.conn.get();
  }
  // Adds `conn` for `stub`, after dropping the entries of stubs that are gone.
  Conn& add(const PerThreadStub& stub, std::unique_ptr<Conn> conn) {
    std::erase_if(entries_, [](const auto& e) { return e.second.alive.expired(); });
    Conn& out = *conn;
    entries_.insert_or_assign(stub.id(), Entry{stub.alive(), std::move(conn)});
    return out;
  }
  // Destroys every connection now (e.g. before the KJ loop they live on).
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    std::weak_ptr<const void> alive;
    std::unique_ptr<Conn> conn;
  };
  std::unordered_map<std::uint64_t, Entry> entries_;  // by stub id
};

}  // namespace seams::ipc

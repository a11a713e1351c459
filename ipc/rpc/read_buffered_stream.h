// ReadBufferedStream: a kj::AsyncIoStream that reads its inner stream in large chunks.
//
// Why: capnp 0.9's message reader asks the stream for each message in pieces (the first word,
// the rest of the segment table, then the segments), and a socket stream turns each piece into a
// read(2) — and each read that finds nothing yet into an EAGAIN read plus an epoll_wait. strace of
// seam-micro showed ~9 reads and ~6.5 epoll_waits per RPC call (Call, Return and Finish messages)
// against ~2.5 recvs for the protobuf codec. Reading up to 64 KiB at a time lets one read(2)
// deliver a whole message, or several. capnp 1.x buffers in the message stream itself, so there
// the connections read the socket directly (bufferReadsForCapnp09 below).
//
// Writes, shutdown and socket options pass straight through. Reads larger than the buffer go
// directly into the caller's memory.
//
// Thread-safety: as any KJ object, used on the thread (event loop) that made it.
#pragma once

#include <capnp/common.h>
#include <kj/async-io.h>

#include <cstddef>

namespace seams::ipc {

class ReadBufferedStream final : public kj::AsyncIoStream {
 public:
  static constexpr std::size_t kDefaultCapacity = 64 << 10;

  explicit ReadBufferedStream(kj::Own<kj::AsyncIoStream> inner,
                              std::size_t capacity = kDefaultCapacity);

  kj::Promise<std::size_t> tryRead(void* buffer, std::size_t minBytes,
                                   std::size_t maxBytes) override;
  kj::Promise<void> write(const void* buffer, std::size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  // Copies up to `max` buffered bytes into `out`; returns how many.
  std::size_t take(kj::byte* out, std::size_t max);

  kj::Own<kj::AsyncIoStream> inner_;
  kj::Array<kj::byte> buffer_;
  std::size_t begin_ = 0;  // buffered bytes are [begin_, end_)
  std::size_t end_ = 0;
};

// What a capnp connection reads through: under 0.9 a ReadBufferedStream over `stream`; under
// 1.x `stream` itself, as 1.x's message streams buffer their reads (a second buffer under them
// only added a copy: ipc/README.md "Cap'n Proto version").
inline kj::Own<kj::AsyncIoStream> bufferReadsForCapnp09(kj::Own<kj::AsyncIoStream> stream) {
#if CAPNP_VERSION < 1000000
  return kj::heap<ReadBufferedStream>(kj::mv(stream));
#else
  return stream;
#endif
}

}  // namespace seams::ipc

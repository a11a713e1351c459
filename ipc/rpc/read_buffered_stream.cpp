#include "ipc/rpc/read_buffered_stream.h"

#include <algorithm>
#include <cstring>

namespace seams::ipc {

ReadBufferedStream::ReadBufferedStream(kj::Own<kj::AsyncIoStream> inner, std::size_t capacity)
    : inner_(kj::mv(inner)), buffer_(kj::heapArray<kj::byte>(std::max<std::size_t>(capacity, 1))) {}

std::size_t ReadBufferedStream::take(kj::byte* out, std::size_t max) {
  const std::size_t n = std::min(max, end_ - begin_);
  if (n > 0) std::memcpy(out, buffer_.begin() + begin_, n);
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
  return n;
}

kj::Promise<std::size_t> ReadBufferedStream::tryRead(void* buffer, std::size_t minBytes,
                                                     std::size_t maxBytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  const std::size_t got = take(out, maxBytes);
  if (got >= minBytes) return got;
  const std::size_t need = minBytes - got;
  // The buffer is empty now. A read that cannot fit in it goes straight to the caller.
  if (need > buffer_.size()) {
    return inner_->tryRead(out + got, need, maxBytes - got).then([got](std::size_t n) {
      return got + n;
    });
  }
  return inner_->tryRead(buffer_.begin(), need, buffer_.size())
      .then([this, out, got, maxBytes](std::size_t n) -> std::size_t {
        end_ = n;
        // Fewer than `need` only at end of stream: then the caller gets what there is.
        return got + take(out + got, maxBytes - got);
      });
}

}  // namespace seams::ipc

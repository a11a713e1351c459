// ReadBufferedStream over a real socket pair: what a reader gets is exactly what was written,
// however the reads are cut, and end of stream still ends a short read.
#include "ipc/rpc/read_buffered_stream.h"

#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace seams::ipc {
namespace {

// KJ objects have throwing destructors, which a gtest fixture may not: tests own a Pipe instead.
struct Pipe {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::TwoWayPipe pipe = io.provider->newTwoWayPipe();
  // A small buffer, so every path (served from the buffer, refilled, bypassed) is taken.
  ReadBufferedStream reader{kj::mv(pipe.ends[1]), 16};
  kj::Own<kj::AsyncIoStream>& writer = pipe.ends[0];

  std::string read(std::size_t min, std::size_t max) {
    std::string out(max, '\0');
    const std::size_t n = reader.tryRead(out.data(), min, max).wait(io.waitScope);
    out.resize(n);
    return out;
  }
};

class ReadBufferedStreamTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pipe> p = std::make_unique<Pipe>();
  kj::AsyncIoContext& io = p->io;
  ReadBufferedStream& reader = p->reader;
  kj::Own<kj::AsyncIoStream>& writer = p->writer;
  std::string read(std::size_t min, std::size_t max) { return p->read(min, max); }
};

TEST_F(ReadBufferedStreamTest, ReadsOfAnyShapeReturnTheBytesInOrder) {
  std::string data(100, '\0');
  std::iota(data.begin(), data.end(), 'A' - 10);
  writer->write(data.data(), data.size()).wait(io.waitScope);
  std::string got;
  got += read(3, 5);    // from a fresh 16-byte fill: 5 bytes
  got += read(1, 4);    // from what is buffered
  got += read(10, 10);  // the rest of the buffer and a refill
  got += read(40, 40);  // larger than the buffer: straight into our memory
  got += read(1, 100);  // whatever is left of what the kernel had
  while (got.size() < data.size()) got += read(1, 100);
  EXPECT_EQ(got, data);
}

TEST_F(ReadBufferedStreamTest, AShortReadAtEndOfStreamReturnsWhatThereIs) {
  writer->write("abcd", 4).wait(io.waitScope);
  writer->shutdownWrite();
  EXPECT_EQ(read(10, 10), "abcd");
  EXPECT_EQ(read(1, 10), "");
}

TEST_F(ReadBufferedStreamTest, WritesPassThrough) {
  reader.write("ping", 4).wait(io.waitScope);
  char buf[4];
  EXPECT_EQ(writer->tryRead(buf, 4, 4).wait(io.waitScope), 4u);
  EXPECT_EQ(std::string(buf, 4), "ping");
}

}  // namespace
}  // namespace seams::ipc

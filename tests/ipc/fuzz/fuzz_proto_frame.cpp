// libFuzzer: the protobuf frame decoder and everything a server does with what it decodes.
// Any input must be either framed, parsed and answered, or refused; never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ipc/proto/proto_codec.h"
#include "tests/ipc/fuzz/null_objects.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seams::ipc::protocodec;  // NOLINT
  static seams::fuzz::NullVault vault;
  static seams::fuzz::NullAuth auth;
  static ProtoDispatcher dispatcher(&vault, &auth);

  FrameDecoder decoder(1 << 16);
  // Feed in two pieces, so frames split across reads are exercised too.
  std::size_t half = size / 2;
  decoder.append(reinterpret_cast<const char*>(data), half);
  bool second = false;
  for (;;) {
    std::string_view frame;
    std::string error;
    auto next = decoder.next(&frame, &error);
    if (next == FrameDecoder::Next::error) break;
    if (next == FrameDecoder::Next::need_more) {
      if (second) break;
      decoder.append(reinterpret_cast<const char*>(data) + half, size - half);
      second = true;
      continue;
    }
    pb::Request request;
    if (parseFrame(frame, &request).ok() && !ProtoDispatcher::isFeedControl(request)) {
      pb::Response response;
      dispatcher.handle(request, &response);
      std::string out;
      appendFrame(response, &out);
    }
    pb::ServerFrame server_frame;
    if (parseFrame(frame, &server_frame).ok() && server_frame.has_event()) {
      if (server_frame.event().has_change()) (void)fromWire(server_frame.event().change());
      if (server_frame.event().has_auth()) (void)fromWire(server_frame.event().auth());
    }
  }
  return 0;
}

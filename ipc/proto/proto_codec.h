// Protobuf codec: varint-length-delimited frames of the messages in seams.proto, conversions
// between them and the C++ types of core/, and the dispatcher that answers a Request from a
// local Vault and/or Auth. The socket server (proto_server.h) and the loopback mode of the
// stubs (proto_client.h) share all of it.
//
// Thread-safety: free functions are stateless; a FrameDecoder belongs to one thread;
// ProtoDispatcher may be used from many threads if the local objects may.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/auth/auth.h"
#include "core/common/status.h"
#include "core/vault/vault.h"
#include "ipc/proto/seams.pb.h"

namespace seams::ipc::protocodec {

namespace pb = ::seams::wire::pb;

constexpr std::size_t kDefaultMaxFrameBytes = 96u << 20;

// Appends varint(size) + the serialised message to `out`.
void appendFrame(const google::protobuf::MessageLite& message, std::string* out);

// Splits a byte stream into frames. The length prefix is checked against the maximum before any
// byte of the frame is buffered, so an oversized frame is refused without allocating it.
class FrameDecoder {
 public:
  enum class Next { need_more, frame, error };
  explicit FrameDecoder(std::size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_(max_frame_bytes) {}

  void append(const char* data, std::size_t size) { buf_.append(data, size); }
  // On `frame`, *frame views the next frame's bytes (valid until the next call). On `error`,
  // *error says why; the stream cannot continue.
  Next next(std::string_view* frame, std::string* error);

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
};

// Parses one frame; invalid_argument if it is not a valid message.
template <typename Message>
Status parseFrame(std::string_view frame, Message* out) {
  if (!out->ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Status(Errc::invalid_argument, "frame is not a valid " + out->GetTypeName());
  }
  return okStatus();
}

void setError(const Status& status, pb::Error* out);
Status errorOf(const pb::Response& r);
// A stub's view of an answer (or of the transport's failure to get one): the error it carries,
// or the part the call asked for (internal when the peer left it out). Shared by every codec
// that answers with pb::Response (protobuf, gRPC).
Status statusOf(const Result<pb::Response>& r);
Result<FileAttr> attrOf(const Result<pb::Response>& r);
Result<Principal> principalOf(const Result<pb::Response>& r);
// Moves the reply's bytes out (a probe reply may be megabytes).
Result<ProbeReply> probeOf(Result<pb::Response> r);

void toWire(const FileAttr& in, pb::FileAttr* out);
FileAttr fromWire(const pb::FileAttr& in);
void toWire(const Principal& in, pb::Principal* out);
Principal fromWire(const pb::Principal& in);
void toWire(const Rule& in, pb::Rule* out);
Result<Rule> fromWire(const pb::Rule& in);
void toWire(const ChangeEvent& in, pb::ChangeEvent* out);
Result<ChangeEvent> fromWire(const pb::ChangeEvent& in);
void toWire(const AuthEvent& in, pb::AuthEvent* out);
AuthEvent fromWire(const pb::AuthEvent& in);
// The change of a SetAttributesArg; its path is decoded and checked apart, as for every call.
void toWire(const AttrChange& in, pb::SetAttributesArg* out);
AttrChange fromWire(const pb::SetAttributesArg& in);
void toWire(const OpenedFile& in, pb::OpenedFile* out);
OpenedFile fromWire(const pb::OpenedFile& in);

// Answers calls (not feed control: subscribe/unsubscribe belong to a connection) from local
// objects; either may be null, and its calls then answer not_supported. Handle calls go to the
// given vault as they are: a server gives each connection's dispatcher that connection's view
// (ConnectionVault), which checks that a handle is its client's own.
class ProtoDispatcher {
 public:
  ProtoDispatcher(Vault* vault, Auth* auth) : vault_(vault), auth_(auth) {}
  // Fills `out` (id included). REQUIRES: `in` is not a feed-control request (see isFeedControl).
  void handle(const pb::Request& in, pb::Response* out);
  static bool isFeedControl(const pb::Request& in) {
    return in.call_case() == pb::Request::kVaultSubscribe ||
           in.call_case() == pb::Request::kAuthSubscribe ||
           in.call_case() == pb::Request::kUnsubscribe;
  }

  Vault* vault() const { return vault_; }
  Auth* auth() const { return auth_; }

 private:
  Vault* vault_;
  Auth* auth_;
};

}  // namespace seams::ipc::protocodec

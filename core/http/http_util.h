// Small, pure pieces of HTTP request handling, kept apart so they can be tested without sockets:
// percent-decoding of the request path, the Range header, the bearer token.
//
// Thread-safety: free functions without state; call from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace seams::http {

// Decodes %XX escapes exactly once ("%252e" becomes the literal "%2e"). '+' is kept as is (it
// means a space only in form bodies, not in paths). invalid_argument on a '%' that is not followed
// by two hex digits. A decoded NUL is kept; VaultPath::parse() rejects it.
Result<std::string> percentDecode(std::string_view in);

// The query of a request target (what follows '?'), as name -> value, each percent-decoded once
// ("a=1&b=x%20y"; a name without '=' has an empty value; empty pieces between '&' are skipped).
// invalid_argument on a bad escape or a name given twice.
Result<std::map<std::string, std::string>> parseQuery(std::string_view query);

// A decimal count: digits only (no sign, no blanks, no fraction), at most 2^64 - 1; nullopt on
// anything else.
std::optional<std::uint64_t> parseCount(std::string_view s) noexcept;

// A resolved byte range: [first, first + length) of a file of known size.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;

  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// What a Range header asks for, before the file size is known.
struct RangeSpec {
  enum class Kind : std::uint8_t {
    from_to = 0,  // bytes=a-b
    from = 1,     // bytes=a-
    suffix = 2,   // bytes=-n
  };
  Kind kind = Kind::from_to;
  std::uint64_t a = 0;  // first byte (from_to, from) or suffix length (suffix)
  std::uint64_t b = 0;  // last byte, inclusive (from_to)

  friend bool operator==(const RangeSpec&, const RangeSpec&) = default;
};

// The outcome of reading a Range header.
//  - ignore: serve the whole file with 200 (another unit than "bytes", or several ranges: RFC 9110
//    lets a server ignore Range, and we do not build multipart/byteranges bodies);
//  - single: one byte range;
//  - invalid: malformed byte-range syntax (a > b, no digits, junk): 416, as nginx answers.
struct RangeRequest {
  enum class Kind : std::uint8_t { ignore = 0, single = 1, invalid = 2 };
  Kind kind = Kind::ignore;
  RangeSpec spec;
};
RangeRequest parseRange(std::string_view header);

// Resolves a spec against a file size; nullopt when unsatisfiable (416): the first byte is at or
// past the end, or a suffix of 0 bytes. A last byte past the end is clamped; a suffix longer than
// the file is the whole file.
std::optional<ByteRange> resolveRange(const RangeSpec& spec, std::uint64_t size);

// The token of "Authorization: Bearer <token>" (scheme case-insensitive, surrounding blanks
// ignored); empty when the header is missing, another scheme, or has no token.
std::string_view bearerToken(std::string_view authorization);

// How a request's body is framed, decided from its head alone, before a body byte is read
// (RFC 9112 §6.1, §6.3). `transfer_encodings` holds the value of every Transfer-Encoding field in
// order; `content_length_fields` counts the Content-Length fields. ok, or the status to answer
// (after which the connection must close, since where the next request starts is unknown):
//  - 400: Transfer-Encoding in an HTTP/1.0 request; Transfer-Encoding together with
//    Content-Length (either order); a Transfer-Encoding whose final coding is not `chunked`
//    (`gzip`, `identity`, `foo`, `chunked, gzip`: its length cannot be known); an empty one;
//    `chunked` applied twice.
//  - 501: `chunked` last but another coding before it (`gzip, chunked`): we decode none.
// Coding names compare case-insensitively; parameters (";q=...") are ignored; empty list
// elements are skipped, as RFC 9110 §5.6.1 asks.
struct FramingVerdict {
  unsigned status = 0;  // 0: the framing is sound
  std::string message;
  bool ok() const noexcept { return status == 0; }
};
FramingVerdict checkRequestFraming(unsigned http_version,
                                   const std::vector<std::string_view>& transfer_encodings,
                                   std::size_t content_length_fields);

// "\"<version>\"": the strong ETag of a file version.
std::string etagFor(std::uint64_t version);

// True when an If-None-Match header value matches the ETag (a list, "*", or W/ weak forms).
bool ifNoneMatchHits(std::string_view header, std::string_view etag);

}  // namespace seams::http

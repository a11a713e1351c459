#include "core/http/http_util.h"

#include <charconv>

namespace seams::http {
namespace {

int hexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Digits only (no sign, no blanks); nullopt on anything else or overflow.
std::optional<std::uint64_t> parseNumber(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::uint64_t> parseCount(std::string_view s) noexcept {
  return parseNumber(s);
}

Result<std::map<std::string, std::string>> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    Result<std::string> name = percentDecode(piece.substr(0, eq));
    if (!name.ok()) return name.status();
    Result<std::string> value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (!value.ok()) return value.status();
    if (out.count(*name) != 0) {
      return Status(Errc::invalid_argument, "query parameter \"" + *name + "\" given twice");
    }
    out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

Result<std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 2 >= in.size()) {
      return Status(Errc::invalid_argument, "truncated %-escape in path");
    }
    int hi = hexValue(in[i + 1]);
    int lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return Status(Errc::invalid_argument, "invalid %-escape in path");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

RangeRequest parseRange(std::string_view header) {
  RangeRequest out;
  header = trim(header);
  std::size_t eq = header.find('=');
  if (eq == std::string_view::npos) {
    out.kind = RangeRequest::Kind::invalid;
    return out;
  }
  if (!iequals(trim(header.substr(0, eq)), "bytes")) return out;  // another unit: ignore
  std::string_view set = trim(header.substr(eq + 1));
  if (set.find(',') != std::string_view::npos) return out;  // several ranges: ignore
  std::size_t dash = set.find('-');
  if (dash == std::string_view::npos) {
    out.kind = RangeRequest::Kind::invalid;
    return out;
  }
  std::string_view left = trim(set.substr(0, dash));
  std::string_view right = trim(set.substr(dash + 1));
  out.kind = RangeRequest::Kind::invalid;
  if (left.empty()) {
    auto n = parseNumber(right);
    if (!n) return out;
    out.spec = {RangeSpec::Kind::suffix, *n, 0};
  } else if (right.empty()) {
    auto a = parseNumber(left);
    if (!a) return out;
    out.spec = {RangeSpec::Kind::from, *a, 0};
  } else {
    auto a = parseNumber(left);
    auto b = parseNumber(right);
    if (!a || !b || *a > *b) return out;
    out.spec = {RangeSpec::Kind::from_to, *a, *b};
  }
  out.kind = RangeRequest::Kind::single;
  return out;
}

std::optional<ByteRange> resolveRange(const RangeSpec& spec, std::uint64_t size) {
  switch (spec.kind) {
    case RangeSpec::Kind::from_to: {
      if (spec.a >= size) return std::nullopt;
      std::uint64_t last = spec.b < size - 1 ? spec.b : size - 1;
      return ByteRange{spec.a, last - spec.a + 1};
    }
    case RangeSpec::Kind::from:
      if (spec.a >= size) return std::nullopt;
      return ByteRange{spec.a, size - spec.a};
    case RangeSpec::Kind::suffix: {
      if (spec.a == 0 || size == 0) return std::nullopt;
      std::uint64_t n = spec.a < size ? spec.a : size;
      return ByteRange{size - n, n};
    }
  }
  return std::nullopt;
}

std::string_view bearerToken(std::string_view authorization) {
  std::string_view s = trim(authorization);
  std::size_t sp = s.find_first_of(" \t");
  if (sp == std::string_view::npos) return {};
  if (!iequals(s.substr(0, sp), "bearer")) return {};
  std::string_view token = trim(s.substr(sp + 1));
  if (token.find_first_of(" \t") != std::string_view::npos) return {};
  return token;
}

std::string etagFor(std::uint64_t version) {
  char buf[24];
  buf[0] = '"';
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 1, version);
  *end++ = '"';
  return std::string(buf, end);
}

bool ifNoneMatchHits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (item == "*") return true;
    if (item.size() > 2 && (item[0] == 'W' || item[0] == 'w') && item[1] == '/') {
      item.remove_prefix(2);  // weak comparison, as RFC 9110 asks for If-None-Match
    }
    if (item == etag) return true;
  }
  return false;
}

FramingVerdict checkRequestFraming(unsigned http_version,
                                   const std::vector<std::string_view>& transfer_encodings,
                                   std::size_t content_length_fields) {
  if (transfer_encodings.empty()) return {};
  if (http_version < 11) {
    return {400, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
  }
  if (content_length_fields > 0) {
    return {400, "a request may not carry both Transfer-Encoding and Content-Length"};
  }
  std::vector<std::string_view> codings;
  for (std::string_view field : transfer_encodings) {
    while (!field.empty()) {
      std::size_t comma = field.find(',');
      std::string_view item = field.substr(0, comma);
      field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
      item = trim(item.substr(0, item.find(';')));
      if (!item.empty()) codings.push_back(item);
    }
  }
  if (codings.empty()) return {400, "empty Transfer-Encoding"};
  if (!iequals(codings.back(), "chunked")) {
    return {400, "the final transfer coding must be chunked (got '" + std::string(codings.back()) +
                     "'): the body's length cannot be known"};
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) return {400, "chunked may be applied only once"};
  }
  if (codings.size() > 1) {
    return {501, "transfer coding '" + std::string(codings.front()) + "' is not supported"};
  }
  return {};
}

}  // namespace seams::http

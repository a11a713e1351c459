#include "bench/seam-bench/http_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

namespace seams::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool connected = false;

  boost::system::error_code connect() {
    boost::system::error_code ec;
    socket = tcp::socket(io);
    tcp::endpoint ep(asio::ip::make_address(host, ec), port);
    if (ec) return ec;
    socket.connect(ep, ec);
    if (ec) return ec;
    socket.set_option(tcp::no_delay(true), ec);
    // A server that accepts and never answers (a hung service) must fail the request, not hang
    // the bench: blocking reads and writes give up after 5 s.
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    buffer.clear();
    // Room for a whole 4 KiB answer and its header up front: a flat_buffer that starts empty
    // grows from 512 bytes and Beast reads into what is free, so small reads (more syscalls) cost
    // about 8 us per request, which made our p50 ~1.3x wrk's at one connection.
    buffer.reserve(64 << 10);
    connected = true;
    return ec;
  }
  void close() {
    boost::system::error_code ec;
    socket.close(ec);
    connected = false;
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view target,
                                         std::string_view body, std::string_view content_type) {
  Impl& im = *impl_;
  if (!im.connected) {
    if (auto ec = im.connect()) return Status(Errc::unavailable, "connect: " + ec.message());
    ++reconnects_;
  }
  http::request<http::string_body> req;
  req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, im.host);
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  if (!content_type.empty()) {
    req.set(http::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
  }
  req.keep_alive(true);
  if (!body.empty() || method == "PUT" || method == "POST") {
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
  }
  boost::system::error_code ec;
  http::write(im.socket, req, ec);
  if (ec) {
    im.close();
    return Status(Errc::unavailable, "write: " + ec.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  if (method == "HEAD") parser.skip(true);
  http::read(im.socket, im.buffer, parser, ec);
  if (ec) {
    im.close();
    return Status(Errc::unavailable, "read: " + ec.message());
  }
  auto& res = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  auto v = res.find("X-Seams-Version");
  if (v != res.end()) {
    auto sv = v->value();
    std::from_chars(sv.data(), sv.data() + sv.size(), out.version);
  }
  out.body = std::move(res.body());
  if (!res.keep_alive()) im.close();
  return out;
}

Result<std::string> HttpClient::login(const std::string& user, const std::string& password) {
  nlohmann::json body = {{"user", user}, {"password", password}};
  std::string saved = std::move(token_);
  token_.clear();
  auto r = request("POST", "/v1/login", body.dump(), "application/json");
  token_ = std::move(saved);
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return Status(Errc::permission_denied, "login: HTTP " + std::to_string(r->status));
  try {
    return nlohmann::json::parse(r->body).at("token").get<std::string>();
  } catch (const std::exception& e) {
    return Status(Errc::internal, std::string("login: bad answer: ") + e.what());
  }
}

}  // namespace seams::bench

// A small blocking HTTP/1.1 client over a real TCP socket, for the frontend's tests.
//
// Keeps one connection open (keep-alive) until it fails or the server closes it. Every socket
// read is bounded by SO_RCVTIMEO so a test that expects an answer never hangs the suite.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <map>
#include <string>

namespace seams::http::testing {

struct Reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return headers.count(name) > 0; }
};

class TestClient {
 public:
  // `source`: the local address to connect from (another loopback address plays another
  // client address: 127.0.0.2, ...); empty for the kernel's choice.
  explicit TestClient(std::uint16_t port, const std::string& source = "") : socket_(ioc_) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::address_v4::loopback(), port);
    if (!source.empty()) {
      socket_.open(boost::asio::ip::tcp::v4());
      socket_.bind({boost::asio::ip::make_address(source), 0});
    }
    socket_.connect(ep);
    timeval tv{15, 0};  // generous: only a broken server makes a test wait this long
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  Reply request(boost::beast::http::verb verb, const std::string& target,
                const std::string& token = "", const std::string& body = "",
                const std::map<std::string, std::string>& headers = {}) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> req(verb, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (verb == bhttp::verb::put || verb == bhttp::verb::post || !body.empty()) {
      req.prepare_payload();
    }
    bhttp::write(socket_, req);
    return read(verb == bhttp::verb::head);
  }

  Reply get(const std::string& target, const std::string& token = "",
            const std::map<std::string, std::string>& headers = {}) {
    return request(boost::beast::http::verb::get, target, token, "", headers);
  }

  // Sends raw bytes (a hand-made, possibly broken request).
  void sendRaw(const std::string& bytes) {
    boost::asio::write(socket_, boost::asio::buffer(bytes));
  }

  // Reads one response; status 0 when the connection ended (or failed) first.
  Reply read(bool head = false) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ULL << 30);
    parser.skip(head);
    boost::beast::error_code ec;
    bhttp::read(socket_, buffer_, parser, ec);
    Reply r;
    if (ec) return r;
    auto& res = parser.get();
    r.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = res.body();
    return r;
  }

  // True when the server has closed the connection (a read sees end of stream or a reset).
  bool closedByServer() {
    char c;
    boost::beast::error_code ec;
    if (buffer_.size() > 0) return false;
    std::size_t n = socket_.read_some(boost::asio::buffer(&c, 1), ec);
    if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) return true;
    return n == 0 && ec && ec != boost::asio::error::would_block &&
           ec != boost::asio::error::try_again;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace seams::http::testing

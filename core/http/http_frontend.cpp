#include "core/http/http_frontend.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <future>
#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/common/unique_fd.h"
#include "core/http/api_handler.h"
#include "core/http/http_util.h"
#include "core/http/login_gate.h"
#include "core/http/login_throttle.h"
#include "core/process/listen_fds.h"

namespace seams {
namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t nowNs() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT".
Result<tcp::endpoint> parseListen(std::string_view listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return Status(Errc::invalid_argument,
                  "http.listen: expected HOST:PORT, got '" + std::string(listen) + "'");
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status(Errc::invalid_argument, "http.listen: bad port in '" + std::string(listen) + "'");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::address address;
  if (host.empty() || host == "*") {
    address = asio::ip::address_v4::any();
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    boost::system::error_code aec;
    address = asio::ip::make_address(std::string(host), aec);
    if (aec) {
      return Status(Errc::invalid_argument,
                    "http.listen: '" + std::string(host) + "' is not an IP address");
    }
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

bool isHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

bool expectsContinue(const Request& req) {
  auto it = req.find(bhttp::field::expect);
  if (it == req.end()) return false;
  return beast::iequals(it->value(), "100-continue");
}

constexpr std::size_t kHeaderChunk = 8 * 1024;
constexpr std::size_t kBodyChunk = 64 * 1024;
constexpr std::chrono::milliseconds kLingerLimit{1000};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Limits a connection applies, copied from the config at start().
struct Limits {
  std::size_t max_header_bytes;
  std::size_t max_body_bytes;
  std::chrono::milliseconds read_timeout;
  std::chrono::milliseconds header_timeout;
  std::chrono::milliseconds idle_timeout;
};

class Connection;

// The open connections of one worker loop, against its share of http.max_connections
// (max_connections / threads with a loop per thread: connections are dealt round-robin, and a
// loop can only make room among its own connections). Shared by the loop's connections (and
// kept alive by them, for a worker stop() abandons).
struct ConnectionBudget {
  explicit ConnectionBudget(int max) : max(max) {}
  const int max;
  std::atomic<int> open{0};
  Counter* shed = nullptr;     // connections closed to make room (waiting for a request head)
  Counter* refused = nullptr;  // connections answered 503: nothing could be closed
};

// The connections of one worker loop that wait for a request head (a first one, or the next
// on a kept-alive connection), oldest first: the ones closed to make room when the budget is
// spent. Touched only on that loop's thread (loop_per_thread), so nothing is locked.
//
// Two lists: `fresh` connections have not completed a request yet (an idle flood's are all
// here), `kept` ones have and wait for their next. Room is made from `fresh` first, so a
// client that sends requests keeps its connection while a flood of silent ones churns.
using WaitingList = std::list<Connection*>;
struct Waiting {
  WaitingList fresh;
  WaitingList kept;
};

// What every connection of one start() shares.
// Throttled logins whose 429 is held back for a while: a guesser's closed loop then costs it a
// second per attempt instead of flooding the request threads with cheap 429s. Bounded, so
// held connections can never take more than a quarter of the connection cap.
struct HeldLogins {
  HeldLogins(int max, std::chrono::milliseconds hold) : max(max), hold(hold) {}
  const int max;
  const std::chrono::milliseconds hold;  // http.login_hold_ms
  std::atomic<int> held{0};
};

struct ServerContext {
  std::shared_ptr<ApiHandler> handler;
  std::shared_ptr<LoginGate> login;
  std::shared_ptr<HeldLogins> held_logins;
  Limits limits;
};

// One client connection. Every handler runs on the executor of its worker loop, one at a time
// (a connection has at most one operation pending), so nothing here is locked. The object lives
// as long as a pending operation holds it (shared_from_this).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `waiting` is the loop's lists (nullptr: connections are never closed to make room).
  Connection(tcp::socket socket, const ServerContext& context,
             std::shared_ptr<ConnectionBudget> budget, Waiting* waiting)
      : stream_(std::move(socket)),
        handler_(context.handler),
        login_(context.login),
        held_logins_(context.held_logins),
        budget_(std::move(budget)),
        waiting_(waiting),
        limits_(context.limits) {
    budget_->open.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);  // write() tries a send without waiting
  }

  ~Connection() {
    unlist();
    if (counted_) budget_->open.fetch_sub(1, std::memory_order_relaxed);
  }

  void run() { readRequest(); }

  // Called on this connection's loop thread for a new connection over the budget: closes the
  // loop's connection that has waited longest for a request head to make room, or, when
  // there is none, answers 503 and closes this one. True when this one may be served.
  bool admitOverBudget() {
    WaitingList* from = nullptr;
    if (waiting_ != nullptr) {
      from = !waiting_->fresh.empty()  ? &waiting_->fresh
             : !waiting_->kept.empty() ? &waiting_->kept
                                       : nullptr;
    }
    if (from != nullptr) {
      Connection* oldest = from->front();
      oldest->shed();
      budget_->shed->inc();
      return true;
    }
    budget_->refused->inc();
    answerAndClose(503, errcName(Errc::unavailable), "too many connections: retry shortly", "1");
    return false;
  }

 private:
  void list() {
    if (waiting_ == nullptr || listed_) return;
    list_ = first_ ? &waiting_->fresh : &waiting_->kept;
    pos_ = list_->insert(list_->end(), this);
    listed_ = true;
  }

  void unlist() {
    if (!listed_) return;
    list_->erase(pos_);
    listed_ = false;
  }

  // Closes a connection that has not sent a complete request head (it has nothing to answer);
  // its pending read then ends with operation_aborted and the connection goes away. It stops
  // counting against the budget now, so the new connection that made room for it does not
  // make another one close too.
  void shed() {
    unlist();
    if (counted_) {
      counted_ = false;
      budget_->open.fetch_sub(1, std::memory_order_relaxed);
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  void readRequest() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(limits_.max_body_bytes);
    started_ = false;
    continue_sent_ = false;
    head_checked_ = false;
    list();                    // waiting for a head: may be closed to make room
    if (buffer_.size() > 0) {  // a pipelined request already arrived
      beginRequest();
      parse();
      return;
    }
    // Waiting for a request: the first one's head must be complete within the header timeout
    // of the accept; a later one on a kept-alive connection must start within the idle timeout.
    stream_.expires_after(first_ ? limits_.header_timeout : limits_.idle_timeout);
    readMore();
  }

  void beginRequest() {
    started_ = true;
    start_ns_ = nowNs();
    // The head must be complete within the header timeout (a client trickling a header byte at
    // a time, slowloris, is cut off), the whole request within the read timeout; for the first
    // request the header deadline already runs from the accept.
    if (!first_) stream_.expires_after(limits_.header_timeout);
  }

  // The head is complete: the connection is busy with a request now, and the rest of it
  // (the body) must arrive within the read timeout of its first byte.
  void headComplete() {
    unlist();
    auto since_start = std::chrono::nanoseconds(nowNs() - start_ns_);
    auto left =
        limits_.read_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(since_start);
    stream_.expires_after(std::max(left, std::chrono::milliseconds(1)));
  }

  void readMore() {
    std::size_t chunk = parser_->is_header_done() ? kBodyChunk : kHeaderChunk;
    stream_.async_read_some(buffer_.prepare(chunk),
                            beast::bind_front_handler(&Connection::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t n) {
    if (ec) {
      if (ec == beast::error::timeout) {
        if (started_) handler_->record(Route::malformed, 408, elapsed());
        return;  // the stream closed the socket
      }
      if (ec == asio::error::eof && started_) {
        // The client ended mid-request: nothing to answer.
        handler_->record(Route::malformed, 400, elapsed());
      }
      return;  // eof between requests, reset, or stop(): drop the connection
    }
    buffer_.commit(n);
    if (!started_) beginRequest();
    parse();
  }

  void parse() {
    beast::error_code ec;
    while (!parser_->is_done()) {
      if (buffer_.size() == 0) {
        ec = bhttp::error::need_more;
        break;
      }
      std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (!head_checked_ && !ec && parser_->is_header_done()) {
        head_checked_ = true;
        headComplete();
        if (!headIsSound()) return;  // answered, and the connection closes
      }
      if (ec == bhttp::error::need_more) {
        if (used == 0) break;
        ec = {};
        continue;
      }
      if (ec) break;
    }
    if (parser_->is_done()) {
      respond();
      return;
    }
    if (ec != bhttp::error::need_more) {
      failRequest(ec);
      return;
    }
    if (parser_->is_header_done() && !continue_sent_ && expectsContinue(parser_->get())) {
      // The client waits for this before it sends the body (curl does, for large PUTs).
      continue_sent_ = true;
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                          if (!wec) self->readMore();
                        });
      return;
    }
    readMore();
  }

  // The checks a complete request head must pass before any body byte is read: framing that a
  // peer (a proxy in front of us) could read differently would let a body hide a second
  // request. False when the request has been answered with an error.
  bool headIsSound() {
    const auto& req = parser_->get();
    std::vector<std::string_view> te;
    auto [te_begin, te_end] = req.equal_range(bhttp::field::transfer_encoding);
    for (auto it = te_begin; it != te_end; ++it)
      te.emplace_back(it->value().data(), it->value().size());
    auto [cl_begin, cl_end] = req.equal_range(bhttp::field::content_length);
    auto cl = static_cast<std::size_t>(std::distance(cl_begin, cl_end));
    FramingVerdict verdict = checkRequestFraming(req.version(), te, cl);
    if (verdict.ok()) return true;
    answerAndClose(verdict.status,
                   errcName(verdict.status == 501 ? Errc::not_supported : Errc::invalid_argument),
                   "malformed request: " + verdict.message);
    return false;
  }

  // An error the handler never sees (the request could not be read): answered, then closed.
  void answerAndClose(unsigned status, std::string_view code, const std::string& message,
                      std::string_view retry_after = {}) {
    unlist();
    response_ = Response();
    response_.version(11);
    ApiHandler::error(response_, status, code, message);
    // No content in an answer to HEAD, as ApiHandler::handle() does for the requests it answers.
    if (parser_ && parser_->is_header_done() && parser_->get().method() == bhttp::verb::head) {
      response_.body().clear();
    }
    if (!retry_after.empty()) {
      response_.set(bhttp::field::retry_after,
                    beast::string_view(retry_after.data(), retry_after.size()));
    }
    response_.keep_alive(false);
    route_ = Route::malformed;
    write();
  }

  void respond() {
    unlist();
    request_ = parser_->release();
    response_ = Response();
    if (ApiHandler::isLogin(request_)) {
      login();
      return;
    }
    route_ = handler_->handle(request_, response_);
    write();
  }

  // The password check runs on the LoginGate's pool; its answer comes back to this loop.
  void login() {
    route_ = Route::login;
    beast::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    std::string address = ec ? std::string("unknown") : peer.address().to_string();
    auto done = [self = shared_from_this()](Response res) mutable {
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), res = std::move(res)]() mutable {
        self->response_ = std::move(res);
        self->write();
      });
    };
    if (!login_->submit(request_, response_, std::move(address), std::move(done))) return;
    if (response_.result_int() != 429 || !holdThrottled()) write();
  }

  // Sends the throttled login's 429 after http.login_hold_ms, on a timer (no thread waits).
  // False when holding is off or every hold slot is taken: the 429 goes out at once.
  bool holdThrottled() {
    HeldLogins& slots = *held_logins_;
    if (slots.hold.count() == 0) return false;
    if (slots.held.fetch_add(1, std::memory_order_relaxed) >= slots.max) {
      slots.held.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    hold_.emplace(stream_.get_executor());
    hold_->expires_after(slots.hold);
    hold_->async_wait([self = shared_from_this()](beast::error_code ec) {
      self->held_logins_->held.fetch_sub(1, std::memory_order_relaxed);
      if (!ec) self->write();
    });
    return true;
  }

  void failRequest(const beast::error_code& ec) {
    unsigned status = 400;
    std::string_view code = errcName(Errc::invalid_argument);
    std::string message = "malformed request: " + ec.message();
    if (ec == bhttp::error::header_limit) {
      status = 431;
      code = errcName(Errc::too_large);
      message = "request header larger than " + std::to_string(limits_.max_header_bytes) + " bytes";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      code = errcName(Errc::too_large);
      message = "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes";
    } else if (!isHttpParseError(ec)) {
      return;  // not the client's syntax: drop the connection
    }
    answerAndClose(status, code, message);
  }

  // Serialises the status line and fields into head_ (reused, so no allocation once it has
  // grown) and sends head and body in one sendmsg. Beast's serializer walks generic buffer
  // sequences and showed up as the largest user-space cost in perf; this is the same bytes.
  void serializeHead() {
    head_.clear();
    head_ += response_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char code[8];
    auto [end, ec] = std::to_chars(code, code + sizeof code, response_.result_int());
    head_.append(code, end);
    head_ += ' ';
    beast::string_view reason = bhttp::obsolete_reason(response_.result());
    head_.append(reason.data(), reason.size());
    head_ += "\r\n";
    for (const auto& field : response_) {
      beast::string_view name = field.name_string();
      beast::string_view value = field.value();
      head_.append(name.data(), name.size());
      head_ += ": ";
      head_.append(value.data(), value.size());
      head_ += "\r\n";
    }
    head_ += "\r\n";
  }

  void write() {
    serializeHead();
    std::array<asio::const_buffer, 2> out = {asio::buffer(head_), asio::buffer(response_.body())};
    std::size_t total = head_.size() + response_.body().size();
    // Try once right away: a small response nearly always fits the socket buffer, and finishing
    // here saves the posted completion and a trip through the event loop per request.
    beast::error_code ec;
    std::size_t sent = stream_.socket().write_some(out, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      onWrite(ec, 0);
      return;
    }
    if (ec) sent = 0;
    if (sent == total) {
      if (buffer_.size() == 0) {
        onWrite({}, sent);
      } else {
        // A pipelined request is waiting: go through the loop rather than recurse per request.
        asio::post(stream_.get_executor(),
                   [self = shared_from_this(), sent] { self->onWrite({}, sent); });
      }
      return;
    }
    std::size_t head_left = sent < head_.size() ? head_.size() - sent : 0;
    std::size_t body_done = sent > head_.size() ? sent - head_.size() : 0;
    out[0] = asio::buffer(head_.data() + head_.size() - head_left, head_left);
    out[1] = asio::buffer(response_.body().data() + body_done, response_.body().size() - body_done);
    stream_.expires_after(limits_.read_timeout);
    asio::async_write(stream_, out,
                      beast::bind_front_handler(&Connection::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    handler_->record(route_, response_.result_int(), elapsed());
    if (ec) return;
    first_ = false;
    if (!response_.keep_alive() || response_.need_eof()) {
      lingerClose();
      return;
    }
    readRequest();
  }

  // Half-closes and reads (and drops) what the client still sends for a short while before the
  // socket closes: closing with unread data sends a reset, which can destroy the response in
  // flight (a 413 while the client is still sending its body).
  void lingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(std::min(limits_.read_timeout, kLingerLimit));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->drain();
                            });
  }

  std::uint64_t elapsed() const noexcept {
    std::int64_t d = nowNs() - start_ns_;
    return started_ && d > 0 ? static_cast<std::uint64_t>(d) : 0;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // reused for every request on this connection
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  Response response_;
  std::string head_;  // the serialised status line and fields of response_
  std::shared_ptr<ApiHandler> handler_;
  std::shared_ptr<LoginGate> login_;
  std::shared_ptr<HeldLogins> held_logins_;
  std::optional<asio::steady_timer> hold_;  // a throttled login's 429, held back
  std::shared_ptr<ConnectionBudget> budget_;
  Waiting* waiting_;             // the loop's lists, or nullptr
  WaitingList* list_ = nullptr;  // the one this connection is in, while listed_
  WaitingList::iterator pos_{};  // where, while listed_
  bool listed_ = false;
  bool counted_ = true;  // still counted in budget_->open
  const Limits limits_;
  Route route_ = Route::unknown;
  bool first_ = true;
  bool started_ = false;
  bool continue_sent_ = false;
  bool head_checked_ = false;  // headIsSound() has run for the current request
  std::int64_t start_ns_ = 0;
  std::array<char, 4096> drain_;
};

}  // namespace

// One start()..stop() of the frontend: the acceptor, the loops and their threads. Shared
// ownership lets a worker thread that stop() abandons keep its loop alive until it returns.
class Server {
 public:
  // A worker loop: its io_context, the heartbeat timer that stamps its slots.
  struct Loop {
    explicit Loop(int concurrency) : ioc(concurrency), timer(ioc) {}
    // Before ioc: connections destroyed with the io_context still unlink themselves from it.
    Waiting waiting;
    std::shared_ptr<ConnectionBudget> budget;
    asio::io_context ioc;
    asio::steady_timer timer;
    std::vector<std::atomic<std::int64_t>*> slots;
  };

  // `max_connections` is the resolved cap (never 0). auth and metrics outlive the Server
  // (they live in Deps); the throttle is shared with the frontend, across restarts.
  Server(std::shared_ptr<ApiHandler> handler, Auth& auth, MetricsRegistry& metrics,
         std::shared_ptr<LoginThrottle> throttle, const HttpConfig& config, int max_connections,
         const HttpFrontend::Options& options,
         std::shared_ptr<std::atomic<std::int64_t>[]> heartbeats)
      : options_(options),
        heartbeats_(std::move(heartbeats)),
        threads_(config.threads),
        throttle_(std::move(throttle)),
        accept_ioc_(1),
        acceptor_(accept_ioc_),
        accept_retry_(accept_ioc_) {
    context_.handler = std::move(handler);
    context_.login = std::make_shared<LoginGate>(auth, metrics, *throttle_, config.login_threads,
                                                 static_cast<std::size_t>(config.login_queue));
    max_connections_ = max_connections;
    context_.held_logins = std::make_shared<HeldLogins>(
        std::max(1, max_connections / 4), std::chrono::milliseconds(config.login_hold_ms));
    shed_ = &metrics.counter("seams_http_connections_shed_total",
                             "Connections closed while waiting for a request head, to make room");
    refused_ = &metrics.counter("seams_http_connections_refused_total",
                                "Connections answered 503: at max_connections");
    context_.limits = {config.max_header_bytes, config.max_body_bytes,
                       std::chrono::milliseconds(config.read_timeout_ms),
                       std::chrono::milliseconds(config.header_timeout_ms),
                       std::chrono::milliseconds(config.idle_timeout_ms)};
  }

  Result<std::uint16_t> listen(const std::string& address, int listen_fd) {
    beast::error_code ec;
    if (listen_fd >= 0) return adopt(listen_fd);
    Result<tcp::endpoint> endpoint = parseListen(address);
    if (!endpoint.ok()) return endpoint.status();
    acceptor_.open(endpoint->protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(*endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Errc::unavailable,
                    "http.listen: cannot listen on " + address + ": " + ec.message());
    }
    return acceptor_.local_endpoint().port();
  }

  // Serves on a duplicate of a socket someone else holds: closing the acceptor at stop() closes
  // only the duplicate, and the socket keeps queueing connections for the next start.
  Result<std::uint16_t> adopt(int listen_fd) {
    SEAMS_RETURN_IF_ERROR(
        checkListeningSocket(listen_fd, {AF_INET, AF_INET6}, "http: inherited listener"));
    UniqueFd copy(::fcntl(listen_fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) return Status::fromErrno(errno, "http: dup of the inherited listener");
    int family = AF_INET;
    socklen_t len = sizeof family;
    ::getsockopt(copy.get(), SOL_SOCKET, SO_DOMAIN, &family, &len);
    beast::error_code ec;
    acceptor_.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), copy.get(), ec);
    if (ec) {
      return Status(Errc::unavailable,
                    "http: cannot serve on the inherited listener: " + ec.message());
    }
    copy.release();  // the acceptor owns it now
    return acceptor_.local_endpoint().port();
  }

  void start() {
    std::int64_t now = nowNs();
    for (int i = 0; i < threads_; ++i) heartbeats_[i].store(now, std::memory_order_relaxed);
    if (options_.thread_model == HttpFrontend::ThreadModel::shared_loop) {
      auto loop = std::make_shared<Loop>(threads_);
      for (int i = 0; i < threads_; ++i) loop->slots.push_back(&heartbeats_[i]);
      loops_.push_back(loop);
    } else {
      for (int i = 0; i < threads_; ++i) {
        auto loop = std::make_shared<Loop>(1);
        loop->slots.push_back(&heartbeats_[i]);
        loops_.push_back(loop);
      }
    }
    for (auto& loop : loops_) {
      loop->budget = std::make_shared<ConnectionBudget>(
          std::max(1, max_connections_ / static_cast<int>(loops_.size())));
      loop->budget->shed = shed_;
      loop->budget->refused = refused_;
      tick(loop.get());
    }
    for (int i = 0; i < threads_; ++i) {
      std::shared_ptr<Loop> loop = loops_[i % loops_.size()];
      auto done = std::make_shared<std::promise<void>>();
      finished_.push_back(done->get_future());
      // The thread holds its loop and the handler, so it may outlive this Server if abandoned.
      workers_.emplace_back(
          [loop, context = context_, throttle = throttle_, heartbeats = heartbeats_, done] {
            runLoop(loop->ioc);
            done->set_value();
          });
    }
    accept();
    acceptor_thread_ = std::thread([this] { runLoop(accept_ioc_); });
  }

  // Returns the number of worker threads abandoned.
  std::uint64_t stop() {
    accept_ioc_.stop();
    for (auto& loop : loops_) loop->ioc.stop();
    if (acceptor_thread_.joinable()) acceptor_thread_.join();
    // The acceptor's thread is gone: safe from here. A pending accept holds a socket of a worker
    // loop; run its (aborted) completion now, while the worker loops still exist.
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    accept_ioc_.restart();
    accept_ioc_.poll();

    // Password checks in flight post to loops that no longer run; queued ones are dropped, and
    // their connections close with the loops.
    context_.login->stop();

    auto deadline = Clock::now() + options_.stop_timeout;
    std::uint64_t abandoned = 0;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (finished_[i].wait_until(deadline) == std::future_status::ready) {
        workers_[i].join();
      } else {
        workers_[i].detach();  // stuck in a handler; see the header
        ++abandoned;
      }
    }
    workers_.clear();
    loops_.clear();  // the last owner (this thread, or an abandoned one later) closes them
    return abandoned;
  }

 private:
  static void runLoop(asio::io_context& ioc) {
    // Handlers report errors as values; an exception here is a bug. Keep serving rather than
    // lose the thread, but never let it escape run().
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception&) {
        if (ioc.stopped()) return;
      }
    }
  }

  void tick(Loop* loop) {
    std::int64_t now = nowNs();
    for (auto* slot : loop->slots) slot->store(now, std::memory_order_relaxed);
    loop->timer.expires_after(options_.heartbeat_interval);
    loop->timer.async_wait([this, loop](beast::error_code ec) {
      if (!ec) tick(loop);
    });
  }

  void accept() {
    Loop& loop = *loops_[next_loop_++ % loops_.size()];
    acceptor_.async_accept(loop.ioc, [this, &loop](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        Waiting* waiting = options_.thread_model == HttpFrontend::ThreadModel::loop_per_thread
                               ? &loop.waiting
                               : nullptr;
        unadmitted_->fetch_add(1, std::memory_order_relaxed);
        asio::post(loop.ioc, [s = std::move(socket), context = context_, budget = loop.budget,
                              waiting, unadmitted = unadmitted_]() mutable {
          auto connection = std::make_shared<Connection>(std::move(s), context, budget, waiting);
          const bool admitted = budget->open.load(std::memory_order_relaxed) <= budget->max ||
                                connection->admitOverBudget();
          // Counted down only now: admitting past the budget has closed another connection.
          unadmitted->fetch_sub(1, std::memory_order_relaxed);
          if (admitted) connection->run();  // otherwise answered 503; closing
        });
      }
      if (!ec && unadmitted_->load(std::memory_order_relaxed) < kMaxUnadmitted) {
        accept();
        return;
      }
      // Out of fds or memory, or the loops are behind on admitting (each admission past the
      // budget closes a connection, but only on its loop's thread: accepting faster than that,
      // as a flood on a slow build does, would take fds without bound): accept again shortly.
      accept_retry_.expires_after(ec ? std::chrono::milliseconds(50)
                                     : std::chrono::milliseconds(1));
      accept_retry_.async_wait([this](beast::error_code wec) {
        if (!wec && acceptor_.is_open()) accept();
      });
    });
  }

  const HttpFrontend::Options options_;
  std::shared_ptr<std::atomic<std::int64_t>[]> heartbeats_;
  const int threads_;
  std::shared_ptr<LoginThrottle> throttle_;
  ServerContext context_;
  int max_connections_ = 0;
  Counter* shed_ = nullptr;
  Counter* refused_ = nullptr;
  asio::io_context accept_ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;  // acceptor thread only
  // Sockets accepted and posted to a loop that has not yet admitted them (or shed another to make
  // room): they hold fds outside the connection cap, so the acceptor waits while there are this
  // many. Shared with the posted admissions, which may outlive the Server on an abandoned loop.
  static constexpr int kMaxUnadmitted = 16;
  std::shared_ptr<std::atomic<int>> unadmitted_ = std::make_shared<std::atomic<int>>(0);
  std::thread acceptor_thread_;
  std::vector<std::shared_ptr<Loop>> loops_;
  std::vector<std::thread> workers_;
  std::vector<std::future<void>> finished_;
  std::size_t next_loop_ = 0;  // acceptor thread only
};

}  // namespace http

HttpFrontend::HttpFrontend(Vault& vault, Auth& auth, MetricsRegistry& metrics, HttpConfig config)
    : HttpFrontend(vault, auth, metrics, std::move(config), Options()) {}

HttpFrontend::HttpFrontend(Vault& vault, Auth& auth, MetricsRegistry& metrics, HttpConfig config,
                           Options options)
    : config_(std::move(config)),
      options_(options),
      auth_(auth),
      metrics_(metrics),
      handler_(std::make_shared<http::ApiHandler>(vault, auth, metrics, options.probe)),
      throttle_(std::make_shared<http::LoginThrottle>(
          http::LoginThrottle::optionsFrom(config_),
          options.clock != nullptr ? *options.clock : system_clock_)),
      heartbeats_(new std::atomic<std::int64_t>[static_cast<std::size_t>(
          std::clamp(config_.threads, 1, 256))]()) {
  config_.threads = std::clamp(config_.threads, 1, 256);
  for (int i = 0; i < config_.threads; ++i) heartbeats_[i].store(http::nowNs());
}

HttpFrontend::~HttpFrontend() {
  stop();
}

int HttpFrontend::resolveMaxConnections(int configured) {
  if (configured > 0) return configured;
  rlimit rl{};
  std::uint64_t limit = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    limit = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<std::uint64_t>(rl.rlim_cur);
  }
  // The rest of the process needs fds too: the vault, IPC sockets, FUSE, logs.
  std::uint64_t reserve = std::min<std::uint64_t>(limit / 4, 1024);
  std::uint64_t cap = limit > reserve ? limit - reserve : 0;
  return static_cast<int>(std::clamp<std::uint64_t>(cap, 16, 10'000'000));
}

Status HttpFrontend::start() {
  MutexLock lock(control_);
  if (server_) return Status(Errc::conflict, "http: already running");
  const int max_connections = resolveMaxConnections(config_.max_connections);
  auto server = std::make_unique<http::Server>(handler_, auth_, metrics_, throttle_, config_,
                                               max_connections, options_, heartbeats_);
  Result<std::uint16_t> port = server->listen(config_.listen, options_.listen_fd);
  if (!port.ok()) return port.status();
  server->start();
  server_ = std::move(server);
  port_.store(*port, std::memory_order_release);
  max_connections_.store(max_connections, std::memory_order_release);
  running_.store(true, std::memory_order_release);
  return okStatus();
}

void HttpFrontend::stop() {
  MutexLock lock(control_);
  if (!server_) return;
  running_.store(false, std::memory_order_release);
  abandoned_.fetch_add(server_->stop(), std::memory_order_relaxed);
  server_.reset();
  port_.store(0, std::memory_order_release);
}

std::chrono::steady_clock::time_point HttpFrontend::lastHeartbeat() const noexcept {
  std::int64_t oldest = INT64_MAX;
  for (int i = 0; i < config_.threads; ++i) {
    oldest = std::min(oldest, heartbeats_[i].load(std::memory_order_relaxed));
  }
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(oldest));
}

}  // namespace seams

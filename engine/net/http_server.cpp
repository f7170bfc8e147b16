// The HTTP/WebSocket server: the only server translation unit that compiles Beast. Sessions only move bytes
// and enforce limits and timeouts; what to answer is decided by the Router (http.cpp), without sockets.
#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "engine/net/http.h"

namespace opt::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Request line plus headers. Larger header sets are not legitimate API traffic and only cost memory.
constexpr size_t kHeaderLimit = 16 * 1024;
// Messages waiting to be written to one WebSocket client. A client that stops reading reaches this bound
// and is disconnected, so a slow consumer cannot make the server's memory grow without limit.
constexpr size_t kMaxWsQueue = 1024;
// After an error response (413, 400, ...) the client may still be sending its body. Closing at once would
// make the kernel answer with RST and the client would never see the response, so the rest is read and
// dropped, within these bounds ("lingering close").
constexpr size_t kMaxDrainBytes = 4 << 20;
constexpr std::chrono::milliseconds kDrainTimeout{500};
// How long stop() lets sessions finish their close handshakes before it closes the sockets itself.
constexpr std::chrono::milliseconds kStopGrace{500};
// Pause before accepting again after an accept error (e.g. EMFILE), so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetry{50};

void log_error(const std::string& what) {
  std::fprintf(stderr, "optrollup http: %s\n", what.c_str());
}

// What stop() needs of every live connection.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void shutdown() = 0;     // asks the session to close (posted onto its strand)
  virtual void force_close() = 0;  // closes the socket directly; only once the io threads are joined
};

class WsConn;

// State shared by the server and its sessions; sessions hold it by shared_ptr, so it outlives all of them
// whatever order the io_context destroys pending handlers in.
struct Shared {
  ServerOptions opts;
  std::shared_ptr<const Router> router;
  std::string ws_path;
  WsHandler ws_handler;

  std::mutex mu;
  bool stopping = false;
  uint64_t next_id = 1;
  uint64_t accepted = 0;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::unordered_map<uint64_t, std::weak_ptr<WsConn>> ws_sessions;
  // Sessions waiting for an asynchronous handler's answer: no operation of theirs is pending, so these
  // references keep them alive. stop() drops them once the io threads are joined, while the io_context
  // still exists; an answer arriving later finds its session gone and is dropped.
  std::unordered_map<uint64_t, std::shared_ptr<SessionBase>> parked;
  // Held while an answer is handed to a session's strand, so stop() cannot pass it meanwhile.
  std::mutex respond_mu;
  bool answers_closed = false;  // guarded by respond_mu: set by stop(), answers are dropped from then on

  // 0 once the server is stopping: the caller must then close instead of serving.
  uint64_t add(std::weak_ptr<SessionBase> s) {
    std::lock_guard lock(mu);
    if (stopping) return 0;
    uint64_t id = next_id++;
    sessions.emplace(id, std::move(s));
    return id;
  }
  void remove(uint64_t id) {
    if (id == 0) return;
    std::lock_guard lock(mu);
    sessions.erase(id);
    ws_sessions.erase(id);
  }
  void park(uint64_t id, std::shared_ptr<SessionBase> s) {
    std::lock_guard lock(mu);
    parked.emplace(id, std::move(s));
  }
  void unpark(uint64_t id) {
    std::shared_ptr<SessionBase> keep;  // released after the lock
    std::lock_guard lock(mu);
    if (auto it = parked.find(id); it != parked.end()) {
      keep = std::move(it->second);
      parked.erase(it);
    }
  }
};

// ------------------------------------------------------------------------------------------------------
// WebSocket session

class WsConn : public SessionBase, public std::enable_shared_from_this<WsConn> {
 public:
  WsConn(std::shared_ptr<Shared> shared, tcp::socket socket) : shared_(std::move(shared)), ws_(std::move(socket)) {}
  ~WsConn() override { shared_->remove(id_); }

  void start(bhttp::request<bhttp::string_body> req) {
    // Beast's WebSocket timeouts replace the tcp_stream ones: the handshake (and close) must finish within
    // read_timeout; a connection that sends nothing for idle_timeout is pinged, then closed.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = shared_->opts.read_timeout;
    t.idle_timeout = shared_->opts.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(shared_->opts.max_body_bytes);
    std::string server = shared_->opts.server_name;
    ws_.set_option(websocket::stream_base::decorator(
        [server](websocket::response_type& res) { res.set(bhttp::field::server, server); }));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void shutdown() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      {
        std::lock_guard lock(self->mu_);
        if (self->closing_) return;
        self->closing_ = true;
        self->queue_.clear();
      }
      if (!self->ws_.is_open()) return;
      self->ws_.async_close(websocket::close_code::going_away, [self](beast::error_code) {});
    });
  }

  void force_close() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  // Queues text for the client if it subscribed to channel. Thread-safe.
  void offer(const std::string& channel, const std::shared_ptr<const std::string>& text) {
    {
      std::lock_guard lock(mu_);
      if (std::find(subscriptions_.begin(), subscriptions_.end(), channel) == subscriptions_.end()) return;
    }
    enqueue(text);
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;  // failed handshake: the session just ends
    {
      std::lock_guard lock(shared_->mu);
      if (!shared_->stopping) {
        id_ = shared_->next_id++;
        shared_->sessions.emplace(id_, weak_from_this());
        shared_->ws_sessions.emplace(id_, weak_from_this());
      }
    }
    if (id_ == 0) {
      beast::get_lowest_layer(ws_).close();
      return;
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Closed by the peer, by stop(), by a timeout or after an overflow: in every case the session ends.
      std::lock_guard lock(mu_);
      closing_ = true;
      queue_.clear();
      return;
    }
    std::string reply;
    if (!ws_.got_text()) {
      reply = error_response(400, "bad_request", "binary messages are not supported").body;
    } else {
      std::string msg = beast::buffers_to_string(buffer_.data());
      reply = guarded("websocket " + shared_->ws_path, [&] {
                Response r;
                r.body = shared_->ws_handler(state_, msg);
                return r;
              }).body;
      // publish() runs on other threads and reads the subscriptions, so it sees a copy under mu_; state_
      // itself is only touched here, on this session's strand.
      std::lock_guard lock(mu_);
      subscriptions_ = state_.subscriptions;
    }
    buffer_.consume(buffer_.size());
    if (!reply.empty()) enqueue(std::make_shared<const std::string>(std::move(reply)));
    do_read();
  }

  void enqueue(std::shared_ptr<const std::string> text) {
    bool start_write = false;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      if (queue_.size() >= kMaxWsQueue) {
        // The client does not read what it subscribed to: drop it instead of buffering without bound. A
        // close handshake would queue behind the stuck write, so the socket is closed directly.
        closing_ = true;
        queue_.clear();
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->force_close(); });
        return;
      }
      queue_.push_back(std::move(text));
      if (!writing_) writing_ = start_write = true;
    }
    if (start_write) net::post(ws_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  }

  void do_write() {
    std::shared_ptr<const std::string> next;
    {
      std::lock_guard lock(mu_);
      if (closing_ || queue_.empty()) {
        writing_ = false;
        return;
      }
      next = queue_.front();
    }
    ws_.text(true);
    ws_.async_write(net::buffer(*next),
                    [self = shared_from_this(), next](beast::error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    {
      std::lock_guard lock(mu_);
      if (ec) {
        closing_ = true;
        queue_.clear();
        writing_ = false;
        return;
      }
      if (!queue_.empty()) queue_.pop_front();
      if (queue_.empty()) {
        writing_ = false;
        return;
      }
    }
    do_write();
  }

  std::shared_ptr<Shared> shared_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  uint64_t id_ = 0;
  WsSession state_;  // strand only

  std::mutex mu_;  // guards the fields below, shared with publish() on other threads
  std::vector<std::string> subscriptions_;
  std::deque<std::shared_ptr<const std::string>> queue_;  // front: being written
  bool writing_ = false;
  bool closing_ = false;
};

// ------------------------------------------------------------------------------------------------------
// HTTP session

class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)) {}
  ~HttpSession() override { shared_->remove(id_); }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->id_ = self->shared_->add(self->weak_from_this());
      if (self->id_ == 0) return self->close();
      self->wait_for_request();
    });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  void force_close() override {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  void wait_for_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(shared_->opts.max_body_bytes);
    if (first_ || buffer_.size() > 0) {
      // A new connection (or bytes already buffered): the request must be complete within read_timeout.
      stream_.expires_after(shared_->opts.read_timeout);
      return read_header();
    }
    // Keep-alive: wait up to idle_timeout for the next request to start; from its first byte on it must be
    // complete within read_timeout, so a client trickling bytes (slowloris) cannot hold the connection.
    stream_.expires_after(shared_->opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->stream_.expires_after(self->shared_->opts.read_timeout);
      self->read_header();
    });
  }

  void read_header() {
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // curl sends this for bodies over 1 KiB and waits a second for the go-ahead; the body limit has
      // already been checked against Content-Length by now, so an oversized body was refused without it.
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      return bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec2, size_t) {
        if (ec2) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->on_read_error(ec);
      self->on_request();
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return send_error(413, "body_too_large",
                        "request body exceeds " + std::to_string(shared_->opts.max_body_bytes) + " bytes");
    if (ec == bhttp::error::header_limit)
      return send_error(431, "headers_too_large",
                        "request line and headers exceed " + std::to_string(kHeaderLimit) + " bytes");
    // The peer went away (or timed out) before or during a request: nobody to answer.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == beast::error::timeout)
      return close();
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
      return send_error(400, "bad_request", "malformed HTTP request: " + ec.message());
    close();  // socket errors, operation_aborted from stop()
  }

  void send_error(int status, const std::string& code, const std::string& message) {
    send(error_response(status, code, message), 11, false, false);
  }

  void on_request() {
    first_ = false;
    bhttp::request<bhttp::string_body> msg = parser_->release();
    parser_.reset();

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      auto [it, inserted] = req.headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());  // RFC 9110 5.3: repeated fields combine
    }
    req.body = std::move(msg.body());

    std::optional<Response> early;
    try {
      parse_target(req);
    } catch (const ApiError& e) {
      early = error_response(e.status, e.code, e.message);
    }

    if (!early && shared_->ws_handler && req.path == shared_->ws_path && websocket::is_upgrade(msg)) {
      // The connection becomes a WebSocket session; this HTTP session ends here.
      shared_->remove(id_);
      id_ = 0;
      auto ws = std::make_shared<WsConn>(shared_, stream_.release_socket());
      ws->start(std::move(msg));
      return;
    }

    const unsigned version = msg.version();
    const bool keep_alive = msg.keep_alive(), head = msg.method() == bhttp::verb::head;
    if (early || !shared_->router)
      return send(early ? std::move(*early) : error_response(404, "not_found", "no routes"), version, keep_alive, head);
    // The handler may answer at once (plain handlers, on this strand) or later from another thread
    // (asynchronous ones); a late answer is handed to this session's strand, the session parked meanwhile.
    struct Pending {
      std::mutex mu;
      bool returned = false;          // handle_async has returned: answers from now on are late
      std::optional<Response> early;  // an answer given before that
    };
    auto pending = std::make_shared<Pending>();
    std::weak_ptr<HttpSession> weak = weak_from_this();
    shared_->router->handle_async(std::move(req), [pending, weak, shared = shared_, version, keep_alive,
                                                   head](Response res) {
      {
        std::lock_guard lock(pending->mu);
        if (!pending->returned) {
          pending->early = std::move(res);
          return;
        }
      }
      std::lock_guard lock(shared->respond_mu);
      if (shared->answers_closed) return;
      auto self = weak.lock();
      if (!self) return;
      net::dispatch(self->stream_.get_executor(), [self, res = std::move(res), version, keep_alive, head]() mutable {
        self->shared_->unpark(self->id_);
        self->send(std::move(res), version, keep_alive, head);
      });
    });
    std::optional<Response> now;
    {
      std::lock_guard lock(pending->mu);
      pending->returned = true;
      if (pending->early)
        now = std::move(pending->early);
      else
        shared_->park(id_, shared_from_this());
    }
    if (now) send(std::move(*now), version, keep_alive, head);
  }

  void send(Response res, unsigned version, bool keep_alive, bool head) {
    if (res.status < 100 || res.status > 599) {
      log_error("handler returned invalid status " + std::to_string(res.status));
      res = error_response(500, "internal", "internal error");
    }
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    msg->result(static_cast<unsigned>(res.status));
    msg->version(version);
    msg->set(bhttp::field::server, shared_->opts.server_name);
    msg->set(bhttp::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) {
      // Framing headers are the server's to set; CR/LF in a header would let reflected input inject headers.
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "connection"))
        continue;
      if (name.find_first_of("\r\n") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
        log_error("dropping response header with CR/LF: " + name);
        continue;
      }
      msg->set(name, value);
    }
    bool no_body = res.status < 200 || res.status == 204 || res.status == 304;
    if (!no_body) {
      msg->content_length(res.body.size());
      if (!head) msg->body() = std::move(res.body);
    }
    msg->keep_alive(keep_alive);
    close_after_write_ = !keep_alive;
    // A client that does not read its responses gets the same bound as one that does not send.
    stream_.expires_after(shared_->opts.read_timeout);
    bhttp::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, size_t) {
      if (ec) return self->close();
      if (self->close_after_write_) return self->lingering_close();
      self->wait_for_request();
    });
  }

  void lingering_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(kDrainTimeout);
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ >= kMaxDrainBytes) return self->close();
      self->drain();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  std::shared_ptr<Shared> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  uint64_t id_ = 0;
  bool first_ = true;
  bool close_after_write_ = false;
  size_t drained_ = 0;
};

}  // namespace

// --------------------------------------------------------------------------------------------------------
// Server

struct Server::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  net::io_context ioc;
  // Declared after ioc so that it is destroyed before it.
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retry_timer;
  std::vector<std::thread> threads;
  uint16_t port = 0;

  std::mutex state_mu;  // start/stop
  bool started = false;
  bool stopped = false;

  std::mutex run_mu;
  std::condition_variable run_cv;
  int running = 0;

  explicit Impl(int threads_hint) : ioc(std::max(1, threads_hint)) {}

  void do_accept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Typically EMFILE/ENFILE: retry shortly rather than spin or give up on serving.
        log_error("accept failed: " + ec.message());
        retry_timer->expires_after(kAcceptRetry);
        retry_timer->async_wait([this](beast::error_code tec) {
          if (!tec && acceptor->is_open()) do_accept();
        });
        return;
      }
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);  // small JSON responses must not wait for Nagle
      {
        std::lock_guard lock(shared->mu);
        ++shared->accepted;
      }
      std::make_shared<HttpSession>(shared, std::move(socket))->run();
      do_accept();
    });
  }

  void run_thread() {
    while (true) {
      try {
        ioc.run();
        break;
      } catch (const std::exception& e) {
        // A handler threw past every guard (e.g. bad_alloc): keep the other connections served.
        log_error(std::string("io thread: ") + e.what());
      }
    }
    std::lock_guard lock(run_mu);
    --running;
    run_cv.notify_all();
  }
};

Server::Server(ServerOptions opts, std::shared_ptr<const Router> router) : impl_(std::make_unique<Impl>(opts.threads)) {
  impl_->shared->opts = std::move(opts);
  impl_->shared->router = std::move(router);
}

Server::~Server() {
  stop();
}

void Server::set_websocket(const std::string& path, WsHandler handler) {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->started) throw std::logic_error("Server::set_websocket must be called before start()");
  impl_->shared->ws_path = path;
  impl_->shared->ws_handler = std::move(handler);
}

void Server::start() {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->started) throw std::logic_error("Server::start called twice");
  const ServerOptions& o = impl_->shared->opts;
  std::string where = o.host + ":" + std::to_string(o.port);
  auto fail = [&](const std::string& why) { throw std::runtime_error("cannot listen on " + where + ": " + why); };

  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results =
      resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) fail(ec ? ec.message() : "host not found");
  tcp::endpoint ep = results.begin()->endpoint();

  impl_->acceptor.emplace(net::make_strand(impl_->ioc));
  auto& acc = *impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (ec) fail(ec.message());
  // Lets a restarted node bind while old connections are in TIME_WAIT; on Linux it does not allow two
  // listeners on one port.
  acc.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail(ec.message());
  acc.bind(ep, ec);
  if (ec) fail(ec.message());
  acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.message());
  impl_->port = acc.local_endpoint().port();
  impl_->retry_timer.emplace(acc.get_executor());

  impl_->started = true;
  impl_->do_accept();
  int n = std::max(1, o.threads);
  impl_->running = n;
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->run_thread(); });
}

void Server::stop() {
  if (!impl_) return;
  std::lock_guard lock(impl_->state_mu);
  if (!impl_->started || impl_->stopped) {
    impl_->stopped = true;
    return;
  }
  impl_->stopped = true;

  {
    std::lock_guard answers(impl_->shared->respond_mu);
    impl_->shared->answers_closed = true;
  }
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard reg(impl_->shared->mu);
    impl_->shared->stopping = true;
    for (auto& [id, w] : impl_->shared->sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  net::post(impl_->acceptor->get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor->close(ec);
    impl->retry_timer->cancel();
  });
  for (auto& s : live) s->shutdown();

  // No work guard is held: once every session has closed, run() returns in each thread by itself. Close
  // handshakes with clients that do not answer are cut short after kStopGrace.
  {
    std::unique_lock run_lock(impl_->run_mu);
    if (!impl_->run_cv.wait_for(run_lock, kStopGrace, [&] { return impl_->running == 0; })) impl_->ioc.stop();
  }
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // The io threads are gone, so sockets still open (the grace ran out) can be closed from here.
  for (auto& s : live) s->force_close();
  live.clear();
  {
    std::lock_guard reg(impl_->shared->mu);
    for (auto& [id, w] : impl_->shared->sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->force_close();
  live.clear();
  std::unordered_map<uint64_t, std::shared_ptr<SessionBase>> parked;
  {
    std::lock_guard reg(impl_->shared->mu);
    parked.swap(impl_->shared->parked);
  }
  parked.clear();  // sessions still waiting for an answer: destroyed while their io_context exists
}

uint16_t Server::port() const {
  return impl_->port;
}

void Server::publish(const std::string& channel, const std::string& text) {
  auto msg = std::make_shared<const std::string>(text);
  std::vector<std::shared_ptr<WsConn>> targets;
  {
    std::lock_guard lock(impl_->shared->mu);
    targets.reserve(impl_->shared->ws_sessions.size());
    for (auto& [id, w] : impl_->shared->ws_sessions)
      if (auto s = w.lock()) targets.push_back(std::move(s));
  }
  for (auto& s : targets) s->offer(channel, msg);
}

size_t Server::websocket_sessions() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->ws_sessions.size();
}

size_t Server::open_connections() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->sessions.size();
}

uint64_t Server::connections_accepted() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->accepted;
}

}  // namespace opt::http

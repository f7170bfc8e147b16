// Blocking HTTP and WebSocket clients: the only client translation unit that compiles Beast. Each client
// owns a private io_context and runs it only inside its own calls; Beast's stream deadlines give every
// call a timeout.
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <cerrno>
#include <deque>
#include <stdexcept>

#include "engine/net/http.h"

namespace opt::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Responses carry whole batches with proofs; this only stops a broken or hostile server from exhausting memory.
constexpr uint64_t kMaxResponseBody = 256ull << 20;
constexpr uint32_t kMaxResponseHeader = 64 * 1024;
constexpr std::chrono::milliseconds kWsTimeout{10'000};

// Starts an asynchronous operation with a completion handler that records its error, and runs the
// io_context until everything it started has finished (the stream's deadline timer included).
template <class Start>
beast::error_code run_op(net::io_context& ioc, Start&& start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

struct Url {
  std::string host;
  std::string port;
  std::string prefix;  // path prefix prepended to every target, without a trailing '/'
};

Url parse_base_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("base URL must start with http:// (TLS is not supported): " + url);
  std::string rest = url.substr(scheme.size());
  Url u;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8545
    size_t close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("malformed base URL: " + url);
    u.host = authority.substr(1, close - 1);
    u.port = close + 1 < authority.size() && authority[close + 1] == ':' ? authority.substr(close + 2) : "80";
  } else if (colon != std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = "80";
  }
  if (u.host.empty() || u.port.empty()) throw std::invalid_argument("malformed base URL: " + url);
  return u;
}

// True if a kept-alive connection can no longer be used: the server closed it (idle timeout, restart) or
// sent something unasked. Checked before each reuse so that a request is not written into a dead socket.
bool peer_closed(tcp::socket& socket) {
  char c;
  ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  return true;  // 0: orderly close; >0: unexpected bytes, the connection is out of sync
}

}  // namespace

// --------------------------------------------------------------------------------------------------------
// Client

struct Client::Impl {
  Url url;
  std::chrono::milliseconds timeout;
  net::io_context ioc{1};
  std::optional<tcp::resolver::results_type> endpoints;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void disconnect() {
    if (stream) {
      beast::error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
    }
    stream.reset();
    buffer.clear();
  }
};

namespace {
// A failure on a reused connection that the server may have closed just as the request went out: worth one
// retry on a fresh connection.
struct StaleConnection : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

Client::Client(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), impl_(std::make_unique<Impl>()) {
  impl_->url = parse_base_url(base_url_);
  impl_->timeout = timeout;
}

Client::~Client() {
  if (impl_) impl_->disconnect();
}

Response Client::request(const std::string& method, const std::string& target, const std::string& body,
                         const std::string& content_type) {
  Impl& m = *impl_;
  const std::string where = method + " " + base_url_ + target;
  auto fail = [&](const std::string& why) -> std::runtime_error { return std::runtime_error(where + ": " + why); };

  for (int attempt = 0;; ++attempt) {
    bool reused = m.stream.has_value();
    if (reused && (m.buffer.size() > 0 || peer_closed(m.stream->socket()))) {
      m.disconnect();
      reused = false;
    }
    try {
      if (!m.stream) {
        if (!m.endpoints) {
          beast::error_code ec;
          tcp::resolver resolver(m.ioc);
          auto r = resolver.resolve(m.url.host, m.url.port, ec);
          if (ec) throw fail("cannot resolve " + m.url.host + ": " + ec.message());
          m.endpoints = std::move(r);
        }
        m.stream.emplace(m.ioc);
        m.stream->expires_after(m.timeout);
        auto ec = run_op(m.ioc, [&](auto&& h) { m.stream->async_connect(*m.endpoints, std::move(h)); });
        if (ec == beast::error::timeout)
          throw fail("connect timed out after " + std::to_string(m.timeout.count()) + " ms");
        if (ec) throw fail("cannot connect: " + ec.message());
        beast::error_code opt_ec;
        m.stream->socket().set_option(tcp::no_delay(true), opt_ec);
      }

      bhttp::request<bhttp::string_body> req;
      bhttp::verb verb = bhttp::string_to_verb(method);
      if (verb == bhttp::verb::unknown)
        req.method_string(method);
      else
        req.method(verb);
      req.target(m.url.prefix + target);
      req.version(11);
      req.set(bhttp::field::host, m.url.host + ":" + m.url.port);
      req.set(bhttp::field::user_agent, "optrollup");
      req.set(bhttp::field::accept, "application/json");
      if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch)
        req.set(bhttp::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();

      // One deadline for the whole exchange: write and read together must finish within the timeout.
      m.stream->expires_after(m.timeout);
      auto ec = run_op(m.ioc, [&](auto&& h) { bhttp::async_write(*m.stream, req, std::move(h)); });
      if (ec == beast::error::timeout) throw fail("timed out after " + std::to_string(m.timeout.count()) + " ms");
      if (ec) {
        if (reused) throw StaleConnection(ec.message());
        throw fail("cannot send request: " + ec.message());
      }

      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(kMaxResponseBody);
      parser.header_limit(kMaxResponseHeader);
      if (verb == bhttp::verb::head) parser.skip(true);
      ec = run_op(m.ioc, [&](auto&& h) { bhttp::async_read(*m.stream, m.buffer, parser, std::move(h)); });
      if (ec == beast::error::timeout) throw fail("timed out after " + std::to_string(m.timeout.count()) + " ms");
      if (ec) {
        // end_of_stream: closed before a single byte of the response, i.e. before the request was read.
        if (reused && (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset))
          throw StaleConnection(ec.message());
        throw fail("cannot read response: " + ec.message());
      }

      auto& msg = parser.get();
      Response res;
      res.status = static_cast<int>(msg.result_int());
      res.content_type = std::string(msg[bhttp::field::content_type]);
      for (const auto& f : msg) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        auto [it, inserted] = res.headers.emplace(name, std::string(f.value()));
        if (!inserted) it->second += ", " + std::string(f.value());
      }
      res.body = std::move(msg.body());
      if (!msg.keep_alive()) m.disconnect();
      return res;
    } catch (const StaleConnection& e) {
      m.disconnect();
      if (attempt > 0) throw fail(std::string("connection lost: ") + e.what());
      // Retry once on a fresh connection: the server closed the kept-alive one before reading the request.
    } catch (...) {
      m.disconnect();
      throw;
    }
  }
}

// --------------------------------------------------------------------------------------------------------
// WsClient

struct WsClient::Impl {
  std::string url;
  net::io_context ioc{1};
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer rbuf;
  std::deque<std::string> inbox;
  bool open = false;

  // One read is always outstanding while the connection is open; receive() only runs the io_context until
  // it has delivered a message. (Cancelling a WebSocket read midway would leave the stream unusable.)
  void start_read() {
    ws.async_read(rbuf, [this](beast::error_code ec, size_t) {
      if (ec) {
        open = false;
        return;
      }
      inbox.push_back(beast::buffers_to_string(rbuf.data()));
      rbuf.consume(rbuf.size());
      start_read();
    });
  }

  // Runs handlers until done() or the deadline; false on timeout.
  template <class Done>
  bool run_until(Done&& done, std::chrono::steady_clock::time_point deadline) {
    while (!done()) {
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0) return done();
    }
    return true;
  }
};

WsClient::WsClient(const std::string& host, uint16_t port, const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.url = "ws://" + host + ":" + std::to_string(port) + path;
  beast::error_code ec;
  tcp::resolver resolver(m.ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw std::runtime_error(m.url + ": cannot resolve " + host + ": " + ec.message());
  auto& tcp_layer = beast::get_lowest_layer(m.ws);
  tcp_layer.expires_after(kWsTimeout);
  ec = run_op(m.ioc, [&](auto&& h) { tcp_layer.async_connect(endpoints, std::move(h)); });
  if (ec) throw std::runtime_error(m.url + ": cannot connect: " + ec.message());
  beast::error_code opt_ec;
  tcp_layer.socket().set_option(tcp::no_delay(true), opt_ec);
  ec = run_op(m.ioc, [&](auto&& h) { m.ws.async_handshake(host + ":" + std::to_string(port), path, std::move(h)); });
  if (ec) throw std::runtime_error(m.url + ": WebSocket handshake failed: " + ec.message());
  // From here the WebSocket layer's own timeouts apply (close handshake bounded, no idle limit).
  tcp_layer.expires_never();
  websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::client);
  t.handshake_timeout = kWsTimeout;
  m.ws.set_option(t);
  m.open = true;
  m.start_read();
}

WsClient::~WsClient() {
  try {
    close();
  } catch (...) {
  }
}

void WsClient::send(const std::string& text) {
  Impl& m = *impl_;
  if (!m.open) throw std::runtime_error(m.url + ": connection is closed");
  bool done = false;
  beast::error_code result;
  m.ws.text(true);
  m.ws.async_write(net::buffer(text), [&](beast::error_code ec, size_t) {
    result = ec;
    done = true;
  });
  if (!m.run_until([&] { return done; }, std::chrono::steady_clock::now() + kWsTimeout)) {
    // The write is still pending and references `text`: the connection cannot be used any more.
    beast::get_lowest_layer(m.ws).close();
    m.run_until([&] { return done; }, std::chrono::steady_clock::now() + kWsTimeout);
    m.open = false;
    throw std::runtime_error(m.url + ": send timed out");
  }
  if (result) {
    m.open = false;
    throw std::runtime_error(m.url + ": send failed: " + result.message());
  }
}

std::optional<std::string> WsClient::receive(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  m.run_until([&] { return !m.inbox.empty() || !m.open; }, std::chrono::steady_clock::now() + timeout);
  if (m.inbox.empty()) return std::nullopt;
  std::string msg = std::move(m.inbox.front());
  m.inbox.pop_front();
  return msg;
}

void WsClient::close() {
  Impl& m = *impl_;
  if (m.open) {
    bool done = false;
    m.ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    m.run_until([&] { return done; }, std::chrono::steady_clock::now() + kWsTimeout);
    m.open = false;
  }
  // Closing the socket completes the outstanding read (and anything else) before `m` can go away.
  beast::error_code ec;
  beast::get_lowest_layer(m.ws).socket().close(ec);
  m.ioc.restart();
  m.ioc.poll();
}

bool WsClient::is_open() const {
  return impl_->open;
}

}  // namespace opt::http

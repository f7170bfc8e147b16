// A bare Boost.Beast HTTP server (`beast_hello`): the bound the API's read benchmarks are measured against.
// Plain Beast and Asio only — none of the project's HTTP stack — in the shape of Beast's asynchronous
// server example: one io_context run by N threads, one strand per connection, keep-alive, a fixed small
// JSON body for every GET.
//
//   beast_hello [--threads N]      listens on 127.0.0.1 on an ephemeral port, prints "port: P pid: N" on
//                                  stdout and serves until SIGTERM or SIGINT (or its parent dies).
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

const std::string kBody = R"({"hello":"world"})";

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : stream_(std::move(socket)) {}
  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->answer();
    });
  }
  void answer() {
    res_ = {};
    res_.version(req_.version());
    res_.keep_alive(req_.keep_alive());
    res_.result(req_.method() == http::verb::get ? http::status::ok : http::status::method_not_allowed);
    res_.set(http::field::content_type, "application/json");
    res_.body() = kBody;
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->res_.keep_alive()) return self->close();
      self->read();
    });
  }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::endpoint ep) : ioc_(ioc), acceptor_(net::make_strand(ioc)) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(s))->run();
      }
      if (ec != net::error::operation_aborted) self->accept();
    });
  }
  void stop() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      if (threads < 1 || threads > 256) {
        std::fprintf(stderr, "beast_hello: --threads must be 1-256\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: beast_hello [--threads N]\n");
      return 2;
    }
  }
  net::io_context ioc(threads);
  auto listener = std::make_shared<Listener>(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  listener->accept();
  // A benchmark that dies must not leave its bound serving: the parent's death ends this process too.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::printf("port: %u pid: %d\n", static_cast<unsigned>(listener->port()), static_cast<int>(::getpid()));
  std::fflush(stdout);

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  listener->stop();
  return 0;
}

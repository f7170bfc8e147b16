// The HTTP/WebSocket plumbing: the Router without sockets, then the Server and clients over real sockets on
// 127.0.0.1 (ephemeral ports), including the hostile cases the server must survive (oversized bodies,
// slowloris, garbage, slow WebSocket consumers) and a prompt stop().
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/net/http.h"
#include "tests/api/load_gen.h"

using namespace opt::http;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

Request make_request(const std::string& method, const std::string& target, const std::string& body = "") {
  Request r;
  r.method = method;
  r.target = target;
  r.body = body;
  return r;
}

json body_of(const Response& r) {
  return json::parse(r.body);
}
std::string error_code(const Response& r) {
  return body_of(r)["error"]["code"].get<std::string>();
}

std::shared_ptr<Router> test_router() {
  auto router = std::make_shared<Router>();
  router->add("GET", "/v1/health", [](const Request&) { return json_response(200, {{"ok", true}}); });
  router->add("POST", "/v1/health", [](const Request&) { return json_response(200, {{"posted", true}}); });
  router->add("GET", "/v1/items/{id}", [](const Request& r) { return json_response(200, {{"id", *r.param("id")}}); });
  router->add("GET", "/v1/items/special", [](const Request&) { return json_response(200, {{"special", true}}); });
  router->add("GET", "/v1/a/{x}/b/{y}", [](const Request& r) {
    return json_response(200, {{"x", *r.param("x")}, {"y", *r.param("y")}});
  });
  router->add("GET", "/v1/query", [](const Request& r) {
    json q = json::object();
    for (const auto& [k, v] : r.query) q[k] = v;
    return json_response(200, {{"query", q}, {"path", r.path}});
  });
  router->add("POST", "/v1/echo", [](const Request& r) {
    json in = json::parse(r.body);
    return json_response(200, {{"got", in}, {"name", in.at("name").get<std::string>()}});
  });
  router->add("POST", "/v1/orders", [](const Request& r) {
    json in = json::parse(r.body);
    if (!in.contains("order")) throw ApiError(422, "invalid_order", "missing field 'order'");
    return json_response(200, {{"status", "accepted"}});
  });
  router->add("GET", "/v1/boom", [](const Request&) -> Response { throw std::runtime_error("secret detail"); });
  router->add("GET", "/v1/sleep", [](const Request& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(r.query_param("ms").value_or("0"))));
    return json_response(200, {{"slept", true}});
  });
  router->add("GET", "/v1/headers", [](const Request& r) {
    Response res = json_response(200, {{"ua", r.headers.count("user-agent") ? r.headers.at("user-agent") : ""}});
    res.headers["X-Custom"] = "yes";
    return res;
  });
  return router;
}

ServerOptions test_options() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  return o;
}

std::string base_url(const Server& s) {
  return "http://127.0.0.1:" + std::to_string(s.port());
}

// A raw blocking socket, for what a well-behaved client never sends.
class RawConn {
 public:
  explicit RawConn(uint16_t port) : fd_(opt::loadgen::connect_tcp("127.0.0.1", port)) { REQUIRE(fd_ >= 0); }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until a complete response is buffered, the peer closes, or the timeout passes.
  std::optional<opt::loadgen::RawResponse> response(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      if (auto r = opt::loadgen::take_response(in_)) return r;
      if (!read_some(deadline)) return std::nullopt;
    }
  }
  // Waits for the peer to close; returns how long it took, or nullopt if it is still open at the timeout.
  std::optional<std::chrono::milliseconds> wait_closed(std::chrono::milliseconds timeout) {
    auto t0 = Clock::now();
    auto deadline = t0 + timeout;
    while (!closed_) {
      if (!read_some(deadline) && !closed_) return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  }
  bool closed() const { return closed_; }
  const std::string& buffered() const { return in_; }

 private:
  bool read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string in_;
  bool closed_ = false;
};

template <class F>
bool eventually(F&& f, std::chrono::milliseconds timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Helpers and Router, no sockets

TEST_CASE("url_decode and parse_query") {
  CHECK(url_decode("a%20b%2Fc", false) == "a b/c");
  CHECK(url_decode("a+b", false) == "a+b");
  CHECK(url_decode("a+b", true) == "a b");
  CHECK(url_decode("%41%6a", false) == "Aj");
  CHECK_FALSE(url_decode("%", false));
  CHECK_FALSE(url_decode("%4", false));
  CHECK_FALSE(url_decode("ab%zz", false));
  CHECK_FALSE(url_decode("%g0", false));

  auto q = parse_query("instrument=ETH-20261231-3000-C&limit=10&note=a+b%21&flag&limit=20&&empty=");
  CHECK(q.at("instrument") == "ETH-20261231-3000-C");
  CHECK(q.at("limit") == "20");  // last one wins
  CHECK(q.at("note") == "a b!");
  CHECK(q.at("flag") == "");
  CHECK(q.at("empty") == "");
  CHECK(q.size() == 5);
  CHECK(parse_query("").empty());

  try {
    parse_query("a=%zz");
    FAIL("expected ApiError");
  } catch (const ApiError& e) {
    CHECK(e.status == 400);
    CHECK(e.code == "bad_request");
  }

  Request r = make_request("GET", "/v1/items/a%20b?x=1%2B1");
  parse_target(r);
  CHECK(r.path == "/v1/items/a b");
  CHECK(r.query.at("x") == "1+1");
  Request bad = make_request("GET", "http://example.com/v1/health");
  CHECK_THROWS_AS(parse_target(bad), ApiError);
}

TEST_CASE("json_response and error_response shapes") {
  Response r = json_response(201, {{"a", 1}});
  CHECK(r.status == 201);
  CHECK(r.content_type == "application/json");
  CHECK(body_of(r) == json{{"a", 1}});
  Response e = error_response(404, "not_found", "nothing here");
  CHECK(e.status == 404);
  CHECK(body_of(e) == json{{"error", {{"code", "not_found"}, {"message", "nothing here"}}}});
  // Invalid UTF-8 coming from a client must not make the response builder throw.
  Response u = json_response(200, {{"s", std::string("\xff\xfe")}});
  CHECK(u.status == 200);
}

TEST_CASE("Router: patterns, parameters and specificity") {
  auto router = test_router();
  Response r = router->handle(make_request("GET", "/v1/health"));
  CHECK(r.status == 200);
  CHECK(body_of(r)["ok"] == true);

  r = router->handle(make_request("POST", "/v1/health"));
  CHECK(body_of(r)["posted"] == true);

  r = router->handle(make_request("GET", "/v1/items/0xabc"));
  CHECK(r.status == 200);
  CHECK(body_of(r)["id"] == "0xabc");

  r = router->handle(make_request("GET", "/v1/items/a%20b"));
  CHECK(body_of(r)["id"] == "a b");

  // A literal segment wins over a {param}, though it was added later.
  r = router->handle(make_request("GET", "/v1/items/special"));
  CHECK(body_of(r)["special"] == true);

  r = router->handle(make_request("GET", "/v1/a/1/b/2"));
  CHECK(body_of(r) == json{{"x", "1"}, {"y", "2"}});

  r = router->handle(make_request("GET", "/v1/query?instrument=ETH-1&limit=5"));
  CHECK(body_of(r)["query"] == json{{"instrument", "ETH-1"}, {"limit", "5"}});

  // A request whose path the caller already filled is routed on it.
  Request pre;
  pre.method = "GET";
  pre.path = "/v1/items/x";
  CHECK(body_of(router->handle(pre))["id"] == "x");

  CHECK_THROWS_AS(router->add("GET", "/v1/items/{other}", [](const Request&) { return Response{}; }),
                  std::invalid_argument);
  CHECK_THROWS_AS(router->add("GET", "no-slash", [](const Request&) { return Response{}; }), std::invalid_argument);
}

TEST_CASE("Router: 404, 405 and bad targets") {
  auto router = test_router();
  Response r = router->handle(make_request("GET", "/v1/nothing"));
  CHECK(r.status == 404);
  CHECK(error_code(r) == "not_found");

  // Empty segments and trailing slashes do not match, and {param} never matches an empty segment.
  CHECK(router->handle(make_request("GET", "/v1/health/")).status == 404);
  CHECK(router->handle(make_request("GET", "/v1//health")).status == 404);
  CHECK(router->handle(make_request("GET", "/v1/items/")).status == 404);
  CHECK(router->handle(make_request("GET", "/v1/items/a/b")).status == 404);

  r = router->handle(make_request("DELETE", "/v1/health"));
  CHECK(r.status == 405);
  CHECK(error_code(r) == "method_not_allowed");
  CHECK(r.headers.at("Allow") == "GET, POST");

  r = router->handle(make_request("HEAD", "/v1/items/1"));
  CHECK(r.status == 405);
  CHECK(r.headers.at("Allow") == "GET");

  r = router->handle(make_request("GET", "/v1/query?a=%2"));
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_request");
}

TEST_CASE("Router: errors thrown by handlers") {
  auto router = test_router();
  Response r = router->handle(make_request("POST", "/v1/echo", "{\"name\": "));
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_json");
  std::string msg = body_of(r)["error"]["message"];
  CHECK(msg.find("malformed JSON") != std::string::npos);
  CHECK(msg.find("parse error") != std::string::npos);

  r = router->handle(make_request("POST", "/v1/echo", "{\"name\": 5}"));  // wrong type
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_json");
  CHECK(body_of(r)["error"]["message"].get<std::string>().find("string") != std::string::npos);

  r = router->handle(make_request("POST", "/v1/echo", "{}"));  // missing field
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_json");

  r = router->handle(make_request("POST", "/v1/echo", "{\"name\": \"x\"}"));
  CHECK(r.status == 200);
  CHECK(body_of(r)["name"] == "x");

  r = router->handle(make_request("POST", "/v1/orders", "{}"));
  CHECK(r.status == 422);
  CHECK(error_code(r) == "invalid_order");
  CHECK(body_of(r)["error"]["message"] == "missing field 'order'");

  r = router->handle(make_request("GET", "/v1/boom"));
  CHECK(r.status == 500);
  CHECK(error_code(r) == "internal");
  // The detail goes to the log, not to the client.
  CHECK(r.body.find("secret") == std::string::npos);

  Router odd;
  odd.add("GET", "/x", [](const Request&) -> Response { throw 42; });
  odd.add("GET", "/y", [](const Request&) -> Response { throw ApiError(200, "weird", "not an error status"); });
  CHECK(odd.handle(make_request("GET", "/x")).status == 500);
  CHECK(odd.handle(make_request("GET", "/y")).status == 500);
}

// ---------------------------------------------------------------------------------------------------------
// Server and Client over sockets

TEST_CASE("Server: round trips, headers and keep-alive reuse") {
  Server server(test_options(), test_router());
  server.start();
  REQUIRE(server.port() != 0);
  Client client(base_url(server));

  Response r = client.get("/v1/health");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.headers.at("server") == "optrollup");
  CHECK(r.headers.at("content-length") == std::to_string(r.body.size()));
  CHECK(body_of(r)["ok"] == true);

  r = client.post("/v1/echo", {{"name", "alice"}, {"n", 7}});
  CHECK(r.status == 200);
  CHECK(body_of(r)["got"]["n"] == 7);

  r = client.get("/v1/headers");
  CHECK(r.headers.at("x-custom") == "yes");
  CHECK(body_of(r)["ua"] == "optrollup");

  r = client.get("/v1/query?instrument=ETH-20261231-3000-C&note=a%20b+c&limit=3");
  CHECK(body_of(r)["query"] == json{{"instrument", "ETH-20261231-3000-C"}, {"note", "a b c"}, {"limit", "3"}});
  r = client.get("/v1/query?x=%G1");
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_request");

  r = client.get("/v1/items/a%20b");
  CHECK(body_of(r)["id"] == "a b");

  r = client.get("/v1/nothing");
  CHECK(r.status == 404);
  r = client.request("HEAD", "/v1/health");
  CHECK(r.status == 405);
  CHECK(r.headers.at("allow") == "GET, POST");
  r = client.request("BREW", "/v1/health");
  CHECK(r.status == 405);
  r = client.get("/v1/boom");
  CHECK(r.status == 500);
  CHECK(error_code(r) == "internal");
  r = client.post("/v1/echo", json("not an object"));
  CHECK(r.status == 400);
  CHECK(error_code(r) == "bad_json");

  // All of the above, and 200 more, over one kept-alive connection.
  for (int i = 0; i < 200; ++i) {
    r = client.post("/v1/echo", {{"name", "n" + std::to_string(i)}});
    REQUIRE(r.status == 200);
    REQUIRE(body_of(r)["name"] == "n" + std::to_string(i));
  }
  CHECK(server.connections_accepted() == 1);
  CHECK(server.open_connections() == 1);
}

TEST_CASE("Server: keep-alive over a raw socket and Connection: close") {
  Server server(test_options(), test_router());
  server.start();
  RawConn c(server.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send("GET /v1/items/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body)["id"] == std::to_string(i));
  }
  REQUIRE(c.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.response();
  REQUIRE(r);
  CHECK(r->headers.at("connection") == "close");
  CHECK(c.wait_closed(2s));

  // HTTP/1.0 without keep-alive: one response, then the server closes.
  RawConn old(server.port());
  REQUIRE(old.send("GET /v1/health HTTP/1.0\r\n\r\n"));
  r = old.response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(old.wait_closed(2s));

  // Expect: 100-continue gets the go-ahead before the body is sent.
  RawConn ex(server.port());
  std::string body = R"({"name":"bob"})";
  REQUIRE(ex.send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
  r = ex.response();
  REQUIRE(r);
  CHECK(r->status == 100);
  REQUIRE(ex.send(body));
  r = ex.response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(json::parse(r->body)["name"] == "bob");
}

TEST_CASE("Server: oversized body gets 413, oversized headers 431, and the server stays up") {
  ServerOptions o = test_options();
  o.max_body_bytes = 1024;
  Server server(o, test_router());
  server.start();
  Client client(base_url(server));

  std::string small = json{{"name", std::string(900, 'a')}}.dump();
  REQUIRE(small.size() <= 1024);
  CHECK(client.request("POST", "/v1/echo", small).status == 200);

  std::string big = json{{"name", std::string(256 * 1024, 'a')}}.dump();
  Response r = client.request("POST", "/v1/echo", big);
  CHECK(r.status == 413);
  CHECK(error_code(r) == "body_too_large");
  // The server closed that connection; the client reconnects by itself.
  CHECK(client.get("/v1/health").status == 200);

  // Chunked bodies are counted too, not only a declared Content-Length.
  RawConn chunked(server.port());
  REQUIRE(chunked.send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(512, 'x');
  for (int i = 0; i < 4 && !chunked.closed(); ++i) chunked.send("200\r\n" + chunk + "\r\n");
  auto rr = chunked.response();
  REQUIRE(rr);
  CHECK(rr->status == 413);

  RawConn headers(server.port());
  REQUIRE(headers.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n"));
  rr = headers.response();
  REQUIRE(rr);
  CHECK(rr->status == 431);
  CHECK(json::parse(rr->body)["error"]["code"] == "headers_too_large");

  CHECK(client.get("/v1/health").status == 200);
}

TEST_CASE("Server: garbage and malformed requests get 400 and a closed connection") {
  Server server(test_options(), test_router());
  server.start();
  const std::vector<std::string> garbage = {
      std::string("\x01\x02\x03garbage\xff\r\n\r\n", 15),
      "GET /v1/health HTTP/9.9\r\n\r\n",
      "G@T /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /v1/health HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const auto& g : garbage) {
    CAPTURE(g);
    RawConn c(server.port());
    REQUIRE(c.send(g));
    auto r = c.response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["error"]["code"] == "bad_request");
    CHECK(c.wait_closed(2s));
  }
  // A target that is not a path is refused, but the request itself was well-formed: keep-alive goes on.
  RawConn c(server.port());
  REQUIRE(c.send("GET http://x/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.response();
  REQUIRE(r);
  CHECK(r->status == 400);

  Client client(base_url(server));
  CHECK(client.get("/v1/health").status == 200);
}

TEST_CASE("Server: a slow client is cut off after read_timeout while others are served") {
  ServerOptions o = test_options();
  o.read_timeout = 300ms;
  Server server(o, test_router());
  server.start();

  // Half a request, then nothing.
  RawConn half(server.port());
  REQUIRE(half.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n"));
  // A connection that sends nothing at all.
  RawConn silent(server.port());
  // Slowloris proper: a byte every 100 ms, so no single read ever waits long.
  RawConn trickle(server.port());
  std::atomic<bool> trickle_stop = false;
  std::thread trickler([&] {
    const std::string req = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 's');
    for (char ch : req) {
      if (trickle_stop || !trickle.send(std::string(1, ch))) break;
      std::this_thread::sleep_for(100ms);
    }
  });

  // Meanwhile everybody else is served.
  Client client(base_url(server));
  for (int i = 0; i < 20; ++i) CHECK(client.get("/v1/health").status == 200);

  auto t_half = half.wait_closed(3s);
  REQUIRE(t_half);
  CHECK(half.buffered().empty());  // closed without an answer
  CHECK(silent.wait_closed(3s));
  auto t0 = Clock::now();
  bool trickle_closed = eventually([&] { return trickle.wait_closed(50ms).has_value(); }, 3s);
  CHECK(trickle_closed);
  CHECK(Clock::now() - t0 < 2s);
  trickle_stop = true;
  trickler.join();

  CHECK(client.get("/v1/health").status == 200);
}

TEST_CASE("Server: idle keep-alive connections are closed and the Client reconnects") {
  ServerOptions o = test_options();
  o.idle_timeout = 200ms;
  Server server(o, test_router());
  server.start();
  Client client(base_url(server));
  CHECK(client.get("/v1/health").status == 200);
  CHECK(eventually([&] { return server.open_connections() == 0; }, 3s));
  CHECK(client.get("/v1/health").status == 200);
  CHECK(server.connections_accepted() == 2);

  // The server restarts on the same port: the kept-alive connection is dead, the next request still works.
  uint16_t port = server.port();
  server.stop();
  ServerOptions o2 = test_options();
  o2.port = port;
  Server again(o2, test_router());
  again.start();
  CHECK(client.get("/v1/health").status == 200);
}

TEST_CASE("Server: many concurrent clients all get answers") {
  Server server(test_options(), test_router());
  server.start();
  constexpr int kThreads = 16;
  constexpr int kRequests = 50;
  std::atomic<int> ok = 0;
  std::atomic<int> failed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Client client(base_url(server));
        for (int i = 0; i < kRequests; ++i) {
          std::string name = std::to_string(t) + "-" + std::to_string(i);
          Response r = client.post("/v1/echo", {{"name", name}});
          if (r.status == 200 && json::parse(r.body)["name"] == name)
            ++ok;
          else
            ++failed;
        }
      } catch (const std::exception&) {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == kThreads * kRequests);
  CHECK(failed == 0);
}

// Answers a request from a thread of its own after a delay, as the node answers an order once it is
// durable: the io thread is free meanwhile.
struct LateAnswers {
  std::mutex mu;
  std::vector<std::thread> threads;
  ~LateAnswers() { join(); }
  void join() {
    std::vector<std::thread> t;
    {
      std::lock_guard lock(mu);
      t.swap(threads);
    }
    for (auto& x : t) x.join();
  }
  void later(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::lock_guard lock(mu);
    threads.emplace_back([delay, fn = std::move(fn)] {
      std::this_thread::sleep_for(delay);
      fn();
    });
  }
};

TEST_CASE("Router: asynchronous handlers answer once, and what they throw is mapped") {
  LateAnswers late;
  Router router;
  router.add_async("GET", "/late", [&](const Request& r, Respond respond) {
    std::string who = r.query_param("who").value_or("");
    late.later(20ms, [respond, who] {
      respond(json_response(200, {{"who", who}}));
      respond(json_response(500, {{"second", true}}));  // ignored: one answer per request
    });
  });
  router.add_async("GET", "/throws", [](const Request&, Respond) { throw ApiError(409, "conflict", "no"); });
  router.add_async("GET", "/answers-then-throws", [](const Request&, Respond respond) {
    respond(json_response(201, {{"first", true}}));
    throw std::runtime_error("after the answer");
  });

  Response r = router.handle(make_request("GET", "/late?who=alice"));
  CHECK(r.status == 200);
  CHECK(body_of(r)["who"] == "alice");
  Response t = router.handle(make_request("GET", "/throws"));
  CHECK(t.status == 409);
  CHECK(error_code(t) == "conflict");
  Response a = router.handle(make_request("GET", "/answers-then-throws"));
  CHECK(a.status == 201);
  // Routing errors come the same way for asynchronous routes.
  CHECK(router.handle(make_request("POST", "/late")).status == 405);
  late.join();
}

TEST_CASE("Server: asynchronous handlers hold no io thread while they wait") {
  LateAnswers late;
  auto router = std::make_shared<Router>();
  router->add_async("GET", "/slow", [&](const Request&, Respond respond) {
    late.later(300ms, [respond] { respond(json_response(200, {{"done", true}})); });
  });
  ServerOptions o = test_options();
  o.threads = 1;  // one io thread: blocking handlers would answer these one after another (24 x 300 ms)
  Server server(o, router);
  server.start();
  constexpr int kClients = 24;
  std::atomic<int> ok = 0;
  auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&] {
      try {
        Client c(base_url(server));
        if (c.get("/slow").status == 200) ++ok;
      } catch (const std::exception&) {
      }
    });
  for (auto& c : clients) c.join();
  auto took = Clock::now() - t0;
  CHECK(ok == kClients);
  CHECK(took < 3s);  // all in flight at once: about 300 ms, far from the 7.2 s of one at a time
  server.stop();
  late.join();
}

TEST_CASE("Server: an answer that arrives after stop() is dropped") {
  LateAnswers late;
  std::atomic<int> answered = 0;
  auto router = std::make_shared<Router>();
  router->add_async("GET", "/never-soon", [&](const Request&, Respond respond) {
    late.later(700ms, [&answered, respond] {
      respond(json_response(200, {{"late", true}}));
      ++answered;
    });
  });
  {
    Server server(test_options(), router);
    server.start();
    std::thread client([&] {
      try {
        Client c(base_url(server), 2s);
        (void)c.get("/never-soon");
      } catch (const std::exception&) {
        // the server went away first: expected
      }
    });
    std::this_thread::sleep_for(100ms);
    server.stop();
    client.join();
  }  // the server and its io_context are gone before the answer comes
  late.join();
  CHECK(answered == 1);  // the late answer ran, and (under the sanitizers) touched nothing freed
}

TEST_CASE("Server: start() errors and stop() semantics") {
  Server a(test_options(), test_router());
  a.start();
  ServerOptions o = test_options();
  o.port = a.port();
  Server b(o, test_router());
  try {
    b.start();
    FAIL("expected the second bind to fail");
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    CHECK(msg.find("cannot listen on 127.0.0.1:" + std::to_string(a.port())) != std::string::npos);
    CHECK(msg.find("in use") != std::string::npos);
  }
  ServerOptions bad = test_options();
  bad.host = "256.1.1.1";
  Server c(bad, test_router());
  CHECK_THROWS_AS(c.start(), std::runtime_error);

  a.stop();
  a.stop();  // twice is fine; the destructor is a third time
  Server never_started(test_options(), test_router());
  never_started.stop();
}

TEST_CASE("Client: errors name the URL, and requests time out") {
  uint16_t dead_port;
  {
    Server s(test_options(), test_router());
    s.start();
    dead_port = s.port();
  }
  Client dead("http://127.0.0.1:" + std::to_string(dead_port), 1s);
  try {
    dead.get("/v1/health");
    FAIL("expected a connection error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("http://127.0.0.1:" + std::to_string(dead_port) + "/v1/health") !=
          std::string::npos);
  }
  CHECK_THROWS_AS(Client("https://example.com"), std::invalid_argument);

  Server server(test_options(), test_router());
  server.start();
  Client slow(base_url(server), 150ms);
  auto t0 = Clock::now();
  try {
    slow.get("/v1/sleep?ms=600");
    FAIL("expected a timeout");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("timed out") != std::string::npos);
  }
  CHECK(Clock::now() - t0 < 500ms);
  // The client is usable again afterwards (on a new connection).
  CHECK(slow.get("/v1/health").status == 200);
}

// ---------------------------------------------------------------------------------------------------------
// WebSocket

namespace {

// {"op": "subscribe"|"unsubscribe", "channel": "..."} -> {"subscribed": [...]}; anything else -> ApiError.
std::string ws_handler(WsSession& s, const std::string& text) {
  json in = json::parse(text);
  std::string op = in.at("op");
  if (op == "ping") return "";
  std::string channel = in.at("channel");
  if (op == "subscribe") {
    s.subscriptions.push_back(channel);
  } else if (op == "unsubscribe") {
    std::erase(s.subscriptions, channel);
  } else {
    throw ApiError(400, "bad_request", "unknown op " + op);
  }
  return json{{"subscribed", s.subscriptions}}.dump();
}

void subscribe(WsClient& c, const std::string& channel) {
  c.send(json{{"op", "subscribe"}, {"channel", channel}}.dump());
  auto reply = c.receive(2s);
  REQUIRE(reply);
  REQUIRE(json::parse(*reply)["subscribed"].back() == channel);
}

}  // namespace

TEST_CASE("WebSocket: subscriptions and publish") {
  Server server(test_options(), test_router());
  server.set_websocket("/v1/ws", ws_handler);
  server.start();

  WsClient trades("127.0.0.1", server.port(), "/v1/ws");
  WsClient batches("127.0.0.1", server.port(), "/v1/ws");
  WsClient idle("127.0.0.1", server.port(), "/v1/ws");
  subscribe(trades, "trades");
  subscribe(batches, "batches");
  CHECK(eventually([&] { return server.websocket_sessions() == 3; }));

  server.publish("trades", R"({"trade":1})");
  CHECK(trades.receive(2s) == std::optional<std::string>(R"({"trade":1})"));
  CHECK_FALSE(batches.receive(200ms));
  CHECK_FALSE(idle.receive(50ms));

  server.publish("batches", "b1");
  CHECK(batches.receive(2s) == std::optional<std::string>("b1"));
  CHECK_FALSE(trades.receive(200ms));

  // Replies and errors come back on the same connection; an empty reply sends nothing.
  idle.send(R"({"op":"ping"})");
  CHECK_FALSE(idle.receive(200ms));
  idle.send("{nope");
  auto err = idle.receive(2s);
  REQUIRE(err);
  CHECK(json::parse(*err)["error"]["code"] == "bad_json");
  idle.send(R"({"op":"dance","channel":"x"})");
  err = idle.receive(2s);
  REQUIRE(err);
  CHECK(json::parse(*err)["error"]["code"] == "bad_request");

  trades.send(R"({"op":"unsubscribe","channel":"trades"})");
  REQUIRE(trades.receive(2s));
  server.publish("trades", "t2");
  CHECK_FALSE(trades.receive(200ms));

  // publish from many threads at once: every message arrives, none twice.
  subscribe(batches, "fast");
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) server.publish("fast", std::to_string(t * 1000 + i));
    });
  for (auto& t : publishers) t.join();
  std::set<std::string> got;
  while (auto m = batches.receive(1s)) got.insert(*m);
  CHECK(got.size() == 400);

  // Plain HTTP routes still work next to the WebSocket endpoint.
  Client client(base_url(server));
  CHECK(client.get("/v1/health").status == 200);
  CHECK(client.get("/v1/ws").status == 404);  // not an upgrade: routed, and no route exists

  trades.close();
  CHECK_FALSE(trades.is_open());
  CHECK(eventually([&] { return server.websocket_sessions() == 2; }));
}

TEST_CASE("WebSocket: a client that does not read is disconnected instead of growing the queue") {
  Server server(test_options(), test_router());
  server.set_websocket("/v1/ws", ws_handler);
  server.start();
  WsClient stuck("127.0.0.1", server.port(), "/v1/ws");
  subscribe(stuck, "firehose");
  REQUIRE(eventually([&] { return server.websocket_sessions() == 1; }));

  // Far more than the socket buffers and the 1024-message queue hold.
  std::string big(64 * 1024, 'x');
  for (int i = 0; i < 3000 && server.websocket_sessions() > 0; ++i) server.publish("firehose", big);
  CHECK(eventually([&] { return server.websocket_sessions() == 0; }));

  WsClient fresh("127.0.0.1", server.port(), "/v1/ws");
  subscribe(fresh, "firehose");
  server.publish("firehose", "small");
  CHECK(fresh.receive(2s) == std::optional<std::string>("small"));
}

TEST_CASE("Server: stop() with open connections returns promptly") {
  auto server = std::make_unique<Server>(test_options(), test_router());
  server->set_websocket("/v1/ws", ws_handler);
  server->start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(base_url(*server)));
    REQUIRE(clients.back()->get("/v1/health").status == 200);
  }
  WsClient ws1("127.0.0.1", server->port(), "/v1/ws");
  WsClient ws2("127.0.0.1", server->port(), "/v1/ws");
  subscribe(ws1, "trades");
  RawConn half(server->port());
  REQUIRE(half.send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  REQUIRE(eventually([&] { return server->open_connections() == 6; }));

  auto t0 = Clock::now();
  server->stop();
  auto took = Clock::now() - t0;
  CHECK(took < 1500ms);
  CHECK(half.wait_closed(1s));
  // The WebSocket client sees the close (a close frame or the socket closing).
  CHECK_FALSE(ws1.receive(1s));
  CHECK_FALSE(ws1.is_open());
  server->publish("trades", "after stop");  // harmless
  server->stop();
  t0 = Clock::now();
  server.reset();
  CHECK(Clock::now() - t0 < 500ms);
  // The clients notice and fail cleanly.
  CHECK_THROWS_AS(clients[0]->get("/v1/health"), std::runtime_error);
}

// HTTP (and WebSocket) plumbing shared by the rollup API and the L1 API. Handlers are pure functions
// from a Request to a Response (as in Beast's http_server_awaitable example): they can be tested without
// sockets, and no Beast type appears in this header, so only http_server.cpp / http_client.cpp compile
// Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opt::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query as received
  std::string path;                            // percent-decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::map<std::string, std::string> params;  // path parameters filled by the Router ({name} segments)

  std::optional<std::string> param(const std::string& name) const;
  std::optional<std::string> query_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

Response json_response(int status, const nlohmann::json& body);
// The one error shape of every API: {"error": {"code": "snake_case", "message": "..."}}
Response error_response(int status, const std::string& code, const std::string& message);

// Thrown by handlers (or helpers they call) to answer with a 4xx error; the Router turns it into
// error_response. Anything else a handler throws becomes a 500 `internal` (a bug, logged).
struct ApiError : std::exception {
  int status;
  std::string code;
  std::string message;
  ApiError(int s, std::string c, std::string m) : status(s), code(std::move(c)), message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

// Handlers run on the server's io threads, several at once: they must be thread-safe, and one that blocks
// (e.g. until an order is durable) holds one of ServerOptions::threads meanwhile.
using Handler = std::function<Response(const Request&)>;
// An answer that comes later, from any thread: an asynchronous handler returns at once and calls its
// Respond exactly once (further calls are ignored), so a request that waits (an order until it is
// durable) holds no io thread meanwhile, and the number of requests in flight is not bounded by threads.
using Respond = std::function<void(Response)>;
using AsyncHandler = std::function<void(const Request&, Respond)>;

// Percent-decodes s ("%2F" -> "/"; in query strings also "+" -> " "). nullopt for a malformed escape
// ("%", "%4", "%zz"): such input is refused rather than passed through half-decoded.
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space);
// Splits and decodes "a=1&b=x%20y" (last value of a repeated name wins; "flag" alone maps to "").
// Throws ApiError 400 `bad_request` on malformed percent-encoding.
std::map<std::string, std::string> parse_query(std::string_view query);
// Fills req.path and req.query from req.target. Throws ApiError 400 `bad_request` if the target is not a
// path ("/...") or is malformed.
void parse_target(Request& req);
// What a client is told of JSON it sent that could not be parsed or had the wrong shape: the parser's
// reason without its internal tag ("malformed JSON: ...", "unexpected JSON content: ...").
std::string json_error_message(const nlohmann::json::exception& e);
// Runs fn and maps what it throws to the API's error shape: ApiError -> its status, nlohmann::json errors ->
// 400 `bad_json`, anything else -> 500 `internal` (logged to stderr with `context`, never shown to the client).
Response guarded(const std::string& context, const std::function<Response()>& fn) noexcept;

// Routes by method and path pattern ("/v1/orders/{hash}"). Unknown path -> 404 `not_found`; known path with
// another method -> 405 `method_not_allowed`; a malformed JSON body (nlohmann parse error) -> 400
// `bad_json`; ApiError -> its status.
class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler h);
  void add_async(const std::string& method, const std::string& pattern, AsyncHandler h);
  // Answers through `respond` (on this thread for plain handlers, maybe later from another for async ones).
  // What a handler throws before it responds is mapped as by guarded().
  void handle_async(Request req, Respond respond) const;
  // The same, waiting for the answer (tests and callers without an event loop).
  Response handle(Request req) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" matches one segment
    Handler handler;                    // one of the two is set
    AsyncHandler async_handler;
  };
  void add_route(Route route, const std::string& pattern);
  // The route for req (its params filled in), or the answer when there is none (404, 405, bad target).
  const Route* match(Request& req, std::optional<Response>& answer) const;
  std::vector<Route> routes_;
};

// WebSocket endpoint: each text message from a client goes to on_message, which returns the reply to send
// (may be empty) and may change the session's subscriptions; Server::publish sends to every session
// subscribed to a channel.
struct WsSession {
  std::vector<std::string> subscriptions;
};
// Called on io threads, concurrently for different sessions (never for one session twice at once); errors it
// throws are answered like HTTP errors, with the error JSON as the reply.
using WsHandler = std::function<std::string(WsSession& session, const std::string& message)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see Server::port())
  size_t max_body_bytes = 1 << 20;
  // A request must arrive completely within this from its first byte (a new connection's from the accept),
  // and each response must be written within it: slowloris and slow readers cannot hold a connection.
  std::chrono::milliseconds read_timeout{10'000};
  // Keep-alive connections idle longer are closed; WebSocket sessions are pinged, then closed.
  std::chrono::milliseconds idle_timeout{60'000};
  int threads = 2;
  std::string server_name = "optrollup";
};

class Server {
 public:
  Server(ServerOptions opts, std::shared_ptr<const Router> router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void set_websocket(const std::string& path, WsHandler handler);  // before start()
  void start();           // binds and starts serving on background threads; throws if it cannot bind
  void stop();            // closes the listener and every connection; joins the threads
  uint16_t port() const;  // the bound port
  // Thread-safe. A session whose queue of unsent messages is full (a client that does not read) is dropped.
  void publish(const std::string& channel, const std::string& text);
  size_t websocket_sessions() const;
  // For metrics (and tests): connections currently open (HTTP and WebSocket), and accepted since start().
  size_t open_connections() const;
  uint64_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A small blocking HTTP/1.1 client with a kept-alive connection per Client (used by the CLI, the node
// talking to the L1, the challenger and the tests).
class Client {
 public:
  explicit Client(std::string base_url, std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Throws std::runtime_error on connection failure or timeout (with a message naming the URL).
  Response request(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json");
  Response get(const std::string& target) { return request("GET", target); }
  Response post(const std::string& target, const nlohmann::json& body) { return request("POST", target, body.dump()); }
  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// A blocking WebSocket client, for tests and examples.
class WsClient {
 public:
  WsClient(const std::string& host, uint16_t port, const std::string& path);
  ~WsClient();
  void send(const std::string& text);
  // The next text message, or nullopt after the timeout.
  std::optional<std::string> receive(std::chrono::milliseconds timeout);
  void close();
  bool is_open() const;  // false once the server closed the connection (seen by send/receive) or after close()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opt::http

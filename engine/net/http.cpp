// The socket-free half of the HTTP layer: request helpers, the error shape and the Router. No Beast here, so
// handlers and routing compile fast and are tested without sockets.
#include "engine/net/http.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <set>
#include <stdexcept>
#include <utility>

namespace opt::http {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "/v1/orders/{hash}" -> {"v1", "orders", "{hash}"}; "/" -> {""}. Empty segments are kept so that
// "/v1//orders" and "/v1/orders/" do not silently match "/v1/orders".
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.emplace_back(path.substr(start));
      return out;
    }
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_param(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is what a client needs.
std::string json_reason(const char* what) {
  std::string s(what);
  if (!s.empty() && s.front() == '[') {
    size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

}  // namespace

std::string json_error_message(const nlohmann::json::exception& e) {
  // type_error / out_of_range: the JSON parsed but a field is missing or has the wrong type.
  const bool parse = dynamic_cast<const nlohmann::json::parse_error*>(&e) != nullptr;
  return (parse ? "malformed JSON: " : "unexpected JSON content: ") + json_reason(e.what());
}

std::optional<std::string> Request::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  // replace: a handler echoing a client's invalid UTF-8 must not turn into a 500 (dump() throws otherwise).
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response error_response(int status, const std::string& code, const std::string& message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::optional<std::string> url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]);
      int lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string_view raw_key = pair.substr(0, eq);
      std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      auto key = url_decode(raw_key, true);
      auto value = url_decode(raw_value, true);
      if (!key || !value)
        throw ApiError(400, "bad_request",
                       "malformed percent-encoding in query parameter '" + std::string(raw_key) + "'");
      out[*key] = std::move(*value);
    }
    start = amp + 1;
  }
  return out;
}

void parse_target(Request& req) {
  std::string_view target = req.target;
  // Only origin-form ("/path?query") is served; absolute-form and "*" are for proxies and OPTIONS.
  if (target.empty() || target.front() != '/')
    throw ApiError(400, "bad_request", "request target must be a path starting with '/'");
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  auto path = url_decode(raw_path, false);
  if (!path) throw ApiError(400, "bad_request", "malformed percent-encoding in path");
  req.path = std::move(*path);
  req.query = q == std::string_view::npos ? std::map<std::string, std::string>{} : parse_query(target.substr(q + 1));
}

Response guarded(const std::string& context, const std::function<Response()>& fn) noexcept {
  try {
    try {
      return fn();
    } catch (const ApiError& e) {
      // An ApiError is meant for 4xx (or a deliberate 5xx such as 503); anything else is a bug in the caller.
      if (e.status < 400 || e.status > 599) {
        std::fprintf(stderr, "optrollup http: %s: ApiError with invalid status %d (%s)\n", context.c_str(), e.status,
                     e.message.c_str());
        return error_response(500, "internal", "internal error");
      }
      return error_response(e.status, e.code, e.message);
    } catch (const nlohmann::json::exception& e) {
      return error_response(400, "bad_json", json_error_message(e));
    } catch (const std::exception& e) {
      // A bug, not bad input: log the detail for the operator and keep it from the client.
      std::fprintf(stderr, "optrollup http: %s: internal error: %s\n", context.c_str(), e.what());
      return error_response(500, "internal", "internal error");
    } catch (...) {
      std::fprintf(stderr, "optrollup http: %s: internal error: unknown exception\n", context.c_str());
      return error_response(500, "internal", "internal error");
    }
  } catch (...) {
    // Building the error response itself failed (out of memory): answer with a fixed body.
    Response r;
    r.status = 500;
    r.body = R"({"error":{"code":"internal","message":"internal error"}})";
    return r;
  }
}

void Router::add(const std::string& method, const std::string& pattern, Handler h) {
  if (!h) throw std::invalid_argument("route " + method + " " + pattern + " has no handler");
  add_route(Route{method, split_path(pattern), std::move(h), {}}, pattern);
}

void Router::add_async(const std::string& method, const std::string& pattern, AsyncHandler h) {
  if (!h) throw std::invalid_argument("route " + method + " " + pattern + " has no handler");
  add_route(Route{method, split_path(pattern), {}, std::move(h)}, pattern);
}

void Router::add_route(Route route, const std::string& pattern) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': " + pattern);
  // Two routes of one shape would make the second unreachable: refuse it at startup, not at request time.
  for (const auto& r : routes_) {
    if (r.method != route.method || r.segments.size() != route.segments.size()) continue;
    bool same = true;
    for (size_t i = 0; i < r.segments.size() && same; ++i) {
      bool p1 = is_param(r.segments[i]), p2 = is_param(route.segments[i]);
      same = (p1 && p2) || (!p1 && !p2 && r.segments[i] == route.segments[i]);
    }
    if (same) throw std::invalid_argument("duplicate route " + route.method + " " + pattern);
  }
  routes_.push_back(std::move(route));
}

const Router::Route* Router::match(Request& req, std::optional<Response>& answer) const {
  const Route* found = nullptr;
  answer = guarded(req.method + " " + req.target, [&]() -> Response {
    if (req.path.empty()) parse_target(req);
    std::vector<std::string> segments = split_path(req.path);

    // Among the routes matching the method, the most specific wins: a literal segment beats a {param} at
    // the first place they differ ("/v1/orders/pending" before "/v1/orders/{hash}"), whatever the order
    // in which they were added.
    const Route* best = nullptr;
    std::vector<bool> best_score;
    std::set<std::string> allowed;
    for (const auto& route : routes_) {
      if (route.segments.size() != segments.size()) continue;
      std::vector<bool> score(segments.size());
      bool match = true;
      for (size_t i = 0; i < segments.size() && match; ++i) {
        if (is_param(route.segments[i])) {
          match = !segments[i].empty();
        } else {
          match = route.segments[i] == segments[i];
          score[i] = true;
        }
      }
      if (!match) continue;
      allowed.insert(route.method);
      if (route.method != req.method) continue;
      if (!best || score > best_score) {
        best = &route;
        best_score = std::move(score);
      }
    }
    if (!best) {
      if (allowed.empty()) return error_response(404, "not_found", "no route for " + req.path);
      std::string allow;
      for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      Response r =
          error_response(405, "method_not_allowed",
                         "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")");
      r.headers["Allow"] = allow;
      return r;
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& seg = best->segments[i];
      if (is_param(seg)) req.params[seg.substr(1, seg.size() - 2)] = segments[i];
    }
    found = best;
    return Response{};
  });
  if (found) answer.reset();
  return found;
}

void Router::handle_async(Request req, Respond respond) const {
  std::optional<Response> answer;
  const Route* route = match(req, answer);
  if (!route) return respond(std::move(*answer));
  const std::string context = req.method + " " + req.target;
  if (route->handler) return respond(guarded(context, [&] { return route->handler(req); }));
  // Exactly once: a handler that answered and then threw (or answers twice) cannot write two responses.
  auto once = std::make_shared<std::atomic<bool>>(false);
  Respond reply = [once, respond = std::move(respond)](Response r) {
    if (!once->exchange(true)) respond(std::move(r));
  };
  bool returned = false;
  Response failed = guarded(context, [&] {
    route->async_handler(req, reply);
    returned = true;
    return Response{};
  });
  if (!returned) reply(std::move(failed));
}

Response Router::handle(Request req) const {
  auto answer = std::make_shared<std::promise<Response>>();
  auto got = answer->get_future();
  handle_async(std::move(req), [answer](Response r) { answer->set_value(std::move(r)); });
  return got.get();
}

}  // namespace opt::http

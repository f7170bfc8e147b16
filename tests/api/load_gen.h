// A closed-loop HTTP/1.1 load generator for the API benchmarks: N keep-alive connections spread over a few
// threads, each connection with one request in flight, answered -> next request at once. Plain POSIX
// sockets and poll(), so benchmarks measure the server and not a client library, and build without Beast.
//
// Usage: a RequestFactory returns the request for (connection, sequence number), so a benchmark can send
// a different body each time (e.g. POST /v1/orders with fresh signed orders):
//
//   opt::loadgen::Options o;
//   o.port = server.port();
//   auto r = opt::loadgen::run(o, [](size_t conn, uint64_t seq) {
//     return opt::loadgen::RequestSpec{"POST", "/v1/orders", make_order_json(conn, seq)};
//   });
//   std::printf("%.0f req/s, p99 %.3f ms\n", r.rate(), r.percentile_ms(99));
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace opt::loadgen {

using Clock = std::chrono::steady_clock;

struct RequestSpec {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string content_type = "application/json";
};

// Called from the generator threads (possibly concurrently): it must be thread-safe. `connection` is the
// global connection index, `seq` counts that connection's requests from 0.
using RequestFactory = std::function<RequestSpec(size_t connection, uint64_t seq)>;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t connections = 32;
  size_t threads = 2;
  std::chrono::milliseconds warmup{500};      // requests completed before this are not counted
  std::chrono::milliseconds duration{5'000};  // measured time after the warmup
};

struct Result {
  uint64_t requests = 0;          // completed responses in the measured window
  uint64_t transport_errors = 0;  // connections lost or refused (each is reopened)
  std::map<int, uint64_t> statuses;
  double seconds = 0;
  std::vector<double> latencies_ms;  // sorted

  double rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
  double percentile_ms(double p) const {
    if (latencies_ms.empty()) return 0;
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(latencies_ms.size() - 1) + 0.5);
    return latencies_ms[std::min(i, latencies_ms.size() - 1)];
  }
  uint64_t non_2xx() const {
    uint64_t n = 0;
    for (const auto& [status, count] : statuses)
      if (status < 200 || status > 299) n += count;
    return n;
  }
};

inline std::string build_request(const RequestSpec& r, const std::string& host_header) {
  std::string s;
  s.reserve(128 + r.body.size());
  s += r.method + " " + r.target + " HTTP/1.1\r\nHost: " + host_header + "\r\n";
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    s += "Content-Type: " + r.content_type + "\r\n";
    s += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  s += "\r\n";
  s += r.body;
  return s;
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Takes one complete response (framed by Content-Length, which the server always sends) off the front of
// buf; nullopt if buf does not hold a complete one yet. Throws on a response it cannot frame.
inline std::optional<RawResponse> take_response(std::string& buf, bool head_request = false) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  RawResponse r;
  size_t line_end = buf.find("\r\n");
  std::string status_line = buf.substr(0, line_end);
  if (status_line.compare(0, 5, "HTTP/") != 0 || status_line.size() < 12)
    throw std::runtime_error("bad status line: " + status_line);
  r.status = std::stoi(status_line.substr(9, 3));
  size_t pos = line_end + 2;
  while (pos < end) {
    size_t eol = buf.find("\r\n", pos);
    std::string line = buf.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      size_t v = line.find_first_not_of(" \t", colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = eol + 2;
  }
  size_t length = 0;
  if (!head_request && r.status >= 200 && r.status != 204 && r.status != 304) {
    auto it = r.headers.find("content-length");
    if (it == r.headers.end()) throw std::runtime_error("response without Content-Length");
    length = std::stoul(it->second);
  }
  if (buf.size() < end + 4 + length) return std::nullopt;
  r.body = buf.substr(end + 4, length);
  buf.erase(0, end + 4 + length);
  return r;
}

// A connected TCP socket (blocking), TCP_NODELAY set; -1 on failure.
inline int connect_tcp(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

namespace detail {

struct Conn {
  size_t index = 0;
  int fd = -1;
  uint64_t seq = 0;
  std::string out;
  size_t out_pos = 0;
  std::string in;
  Clock::time_point sent;
};

struct ThreadResult {
  uint64_t requests = 0;
  uint64_t transport_errors = 0;
  std::map<int, uint64_t> statuses;
  std::vector<double> latencies_ms;
};

inline void worker(const Options& o, const RequestFactory& factory, std::vector<Conn> conns,
                   Clock::time_point measure_from, Clock::time_point stop_at, ThreadResult& out) {
  const std::string host_header = o.host + ":" + std::to_string(o.port);
  auto next_request = [&](Conn& c) {
    c.out = build_request(factory(c.index, c.seq++), host_header);
    c.out_pos = 0;
    c.sent = Clock::now();
  };
  auto open = [&](Conn& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = connect_tcp(o.host, o.port);
    c.in.clear();
    if (c.fd >= 0)
      ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    else
      ++out.transport_errors;  // retried on the next round, after poll's timeout
    next_request(c);
  };
  auto fail = [&](Conn& c) {
    ++out.transport_errors;
    open(c);
  };
  for (auto& c : conns) open(c);

  std::vector<pollfd> fds(conns.size());
  while (Clock::now() < stop_at) {
    for (size_t i = 0; i < conns.size(); ++i) {
      if (conns[i].fd < 0) open(conns[i]);
      fds[i].fd = conns[i].fd;
      fds[i].events = static_cast<short>(POLLIN | (conns[i].out_pos < conns[i].out.size() ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    if (::poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if (c.fd < 0 || fds[i].revents == 0) continue;
      if (fds[i].revents & POLLOUT) {
        ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
          fail(c);
          continue;
        }
        if (n > 0) c.out_pos += static_cast<size_t>(n);
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[16384];
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          fail(c);
          continue;
        }
        if (n > 0) c.in.append(buf, static_cast<size_t>(n));
        std::optional<RawResponse> r;
        try {
          r = take_response(c.in);
        } catch (const std::exception&) {
          fail(c);
          continue;
        }
        if (!r) continue;
        auto now = Clock::now();
        if (now >= measure_from && now < stop_at) {
          ++out.requests;
          ++out.statuses[r->status];
          out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - c.sent).count());
        }
        auto conn_hdr = r->headers.find("connection");
        if (conn_hdr != r->headers.end() && conn_hdr->second == "close")
          open(c);
        else
          next_request(c);
      }
    }
  }
  for (auto& c : conns)
    if (c.fd >= 0) ::close(c.fd);
}

}  // namespace detail

inline Result run(const Options& o, const RequestFactory& factory) {
  size_t nthreads = std::max<size_t>(1, std::min(o.threads, o.connections));
  std::vector<std::vector<detail::Conn>> per_thread(nthreads);
  for (size_t i = 0; i < o.connections; ++i) {
    detail::Conn c;
    c.index = i;
    per_thread[i % nthreads].push_back(std::move(c));
  }
  auto start = Clock::now();
  auto measure_from = start + o.warmup;
  auto stop_at = measure_from + o.duration;
  std::vector<detail::ThreadResult> results(nthreads);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < nthreads; ++t)
    threads.emplace_back(detail::worker, std::cref(o), std::cref(factory), std::move(per_thread[t]), measure_from,
                         stop_at, std::ref(results[t]));
  for (auto& t : threads) t.join();

  Result r;
  r.seconds = std::chrono::duration<double>(o.duration).count();
  for (auto& t : results) {
    r.requests += t.requests;
    r.transport_errors += t.transport_errors;
    for (auto& [s, n] : t.statuses) r.statuses[s] += n;
    r.latencies_ms.insert(r.latencies_ms.end(), t.latencies_ms.begin(), t.latencies_ms.end());
  }
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

}  // namespace opt::loadgen

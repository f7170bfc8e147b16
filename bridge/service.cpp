#include "bridge/service.h"

#include <algorithm>
#include <stdexcept>

#include "bridge/api.h"

namespace opt::l1 {

Result<std::unique_ptr<L1Service>, std::string> L1Service::start(ServiceOptions options) {
  std::unique_ptr<L1Service> s(new L1Service());
  s->clock_ = options.clock ? options.clock : &s->system_clock_;
  auto chain = L1Chain::open(options.db_path, *s->clock_, std::move(options.open));
  if (!chain) return err(chain.error());
  s->chain_ = std::move(*chain);
  s->chain_->tick();  // catch up with the clock before serving

  s->router_ = std::make_shared<http::Router>();
  add_l1_routes(*s->router_, *s->chain_);

  http::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.max_body_bytes = options.max_body_bytes;
  so.threads = options.http_threads;
  so.server_name = "optrollup-l1";
  s->server_ = std::make_unique<http::Server>(so, s->router_);
  try {
    s->server_->start();
  } catch (const std::exception& e) {
    return err(std::string(e.what()));
  }
  s->host_ = options.host;
  s->port_ = s->server_->port();
  s->ticker_ = std::thread([p = s.get()] { p->run_ticker(); });
  return s;
}

L1Service::~L1Service() {
  stop();
}

std::string L1Service::url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

void L1Service::run_ticker() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    chain_->tick();
    uint64_t due = chain_->next_block_due_ms(), now = clock_->now_ms();
    // Wake at the next block, but at least every 50 ms: a manual clock may move without notice.
    uint64_t wait = due > now ? std::min<uint64_t>(due - now, 50) : 1;
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_; });
  }
}

void L1Service::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (server_) server_->stop();
  if (ticker_.joinable()) ticker_.join();
}

}  // namespace opt::l1

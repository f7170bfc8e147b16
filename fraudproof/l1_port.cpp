#include "fraudproof/l1_port.h"

#include "bridge/compress.h"
#include "engine/core/tx.h"

namespace opt::fp {

namespace {
PortError from(const l1::Refusal& r) {
  return PortError{r.wire_code(), r.message};
}
PortError from(const l1::L1Error& e) {
  return PortError{e.code.empty() ? "unreachable" : e.code, e.message};
}

PortResult<std::vector<Bytes>> unframe(const Bytes& compressed) {
  auto raw = l1::zstd_decompress(compressed);
  if (!raw) return err(PortError{"bad_data", l1::to_string(raw.error())});
  auto frames = decode_batch(*raw);
  if (!frames) return err(PortError{"bad_data", to_string(frames.error())});
  return std::move(*frames);
}
}  // namespace

// ---- in process ----

PortResult<l1::L1Config> LocalL1::config() {
  return chain_.config();
}
PortResult<l1::Head> LocalL1::head() {
  return chain_.head();
}

PortResult<EventsPage> LocalL1::events(uint64_t from_block) {
  EventsPage page;
  l1::Head h = chain_.head();
  page.next = from_block;
  if (from_block > h.block) return page;
  page.events = chain_.events(from_block, h.block, 10'000, &page.more);
  // The open block may still receive events: it is read again next time (readers skip what they saw).
  page.next = page.more && !page.events.empty() ? page.events.back().block + 1 : h.block;
  return page;
}

PortResult<l1::BatchRecord> LocalL1::batch(uint64_t index) {
  auto b = chain_.batch(index);
  if (!b) return err(PortError{"unknown_batch", "no batch " + std::to_string(index)});
  return *b;
}

PortResult<std::vector<Bytes>> LocalL1::frames(uint64_t index) {
  auto f = chain_.batch_frames(index);
  if (!f) return err(from(f.error()));
  return std::move(*f);
}

PortResult<std::vector<l1::InboxMessage>> LocalL1::inbox(uint64_t from_index, size_t limit) {
  return chain_.inbox(from_index, limit);
}

PortResult<std::optional<Game>> LocalL1::game(uint64_t id) {
  return games_.game(id);
}
PortResult<std::vector<Game>> LocalL1::games_of_batch(uint64_t batch) {
  return games_.games_of_batch(batch);
}
PortResult<l1::L1Account> LocalL1::account(const Address& a) {
  return chain_.account(a);
}

PortResult<l1::Accepted> LocalL1::submit(const PrivateKey& key, l1::Action action) {
  auto who = address_of(key);
  if (!who) return err(PortError{"bad_key", to_string(who.error())});
  action.set("sender", *who);
  action.set("nonce", chain_.account(*who).nonce);
  if (auto s = l1::sign_action(action, key, chain_.domain_separator()); !s) return err(from(s.error()));
  auto r = chain_.submit(action);
  if (!r) return err(from(r.error()));
  return *r;
}

// ---- over HTTP ----

RemoteL1::RemoteL1(std::string url) : client_(std::move(url)) {}

PortResult<l1::L1Config> RemoteL1::config() {
  std::lock_guard lock(mu_);
  auto c = client_.config();
  if (!c) return err(from(c.error()));
  return *c;
}

PortResult<l1::Head> RemoteL1::head() {
  std::lock_guard lock(mu_);
  auto h = client_.head();
  if (!h) return err(from(h.error()));
  return *h;
}

PortResult<EventsPage> RemoteL1::events(uint64_t from_block) {
  std::lock_guard lock(mu_);
  // The head first, as LocalL1 does: every block before its open block is sealed and is read in full; the
  // open block may still receive events, so the next read starts at it again (readers skip what they saw).
  // Starting after the last event read instead would lose any event added to the open block later.
  auto h = client_.head();
  if (!h) return err(from(h.error()));
  EventsPage page;
  page.next = from_block;
  if (from_block > h->block) return page;
  auto p = client_.events(from_block, h->block);
  if (!p) return err(from(p.error()));
  page.events = std::move(p->events);
  page.more = p->more;
  page.next = page.more ? p->next : h->block;
  return page;
}

PortResult<l1::BatchRecord> RemoteL1::batch(uint64_t index) {
  std::lock_guard lock(mu_);
  auto b = client_.batch(index);
  if (!b) return err(from(b.error()));
  return *b;
}

PortResult<std::vector<Bytes>> RemoteL1::frames(uint64_t index) {
  std::lock_guard lock(mu_);
  Bytes data;
  auto b = client_.batch(index, &data);
  if (!b) return err(from(b.error()));
  return unframe(data);
}

PortResult<std::vector<l1::InboxMessage>> RemoteL1::inbox(uint64_t from_index, size_t limit) {
  std::lock_guard lock(mu_);
  auto p = client_.inbox(from_index, limit);
  if (!p) return err(from(p.error()));
  return std::move(p->messages);
}

PortResult<std::optional<Game>> RemoteL1::game(uint64_t id) {
  std::lock_guard lock(mu_);
  http::Response r;
  try {
    r = client_.http().get("/l1/v1/games/" + std::to_string(id));
  } catch (const std::exception& e) {
    return err(PortError{"unreachable", e.what()});
  }
  if (r.status == 404) return std::optional<Game>();
  if (r.status != 200) return err(PortError{"http_" + std::to_string(r.status), r.body});
  try {
    auto g = game_from_json(nlohmann::json::parse(r.body));
    if (!g) return err(PortError{"bad_response", g.error()});
    return std::optional<Game>(std::move(*g));
  } catch (const std::exception& e) {
    return err(PortError{"bad_response", e.what()});
  }
}

PortResult<std::vector<Game>> RemoteL1::games_of_batch(uint64_t batch) {
  std::lock_guard lock(mu_);
  http::Response r;
  try {
    r = client_.http().get("/l1/v1/games?batch=" + std::to_string(batch));
  } catch (const std::exception& e) {
    return err(PortError{"unreachable", e.what()});
  }
  if (r.status != 200) return err(PortError{"http_" + std::to_string(r.status), r.body});
  try {
    std::vector<Game> out;
    // Named: a range-for over a member of a temporary would iterate a destroyed object.
    const nlohmann::json body = nlohmann::json::parse(r.body);
    for (const auto& j : body.at("games")) {
      auto g = game_from_json(j);
      if (!g) return err(PortError{"bad_response", g.error()});
      out.push_back(std::move(*g));
    }
    return out;
  } catch (const std::exception& e) {
    return err(PortError{"bad_response", e.what()});
  }
}

PortResult<l1::L1Account> RemoteL1::account(const Address& a) {
  std::lock_guard lock(mu_);
  auto r = client_.account(a);
  if (!r) return err(from(r.error()));
  return *r;
}

PortResult<l1::Accepted> RemoteL1::submit(const PrivateKey& key, l1::Action action) {
  std::lock_guard lock(mu_);
  auto r = client_.submit(key, std::move(action));
  if (!r) return err(from(r.error()));
  return *r;
}

Result<Game, std::string> game_from_json(const nlohmann::json& j) {
  try {
    Game g;
    g.id = j.at("id");
    g.batch = j.at("batch");
    auto p = parse_address(j.at("proposer").get<std::string>());
    auto c = parse_address(j.at("challenger").get<std::string>());
    if (!p || !c) return err(std::string("bad address"));
    g.proposer = *p;
    g.challenger = *c;
    g.steps = j.at("steps");
    g.span = j.at("span");
    g.rounds = j.at("rounds");
    g.degree = j.at("degree");
    const auto& seg = j.at("segment");
    g.a = seg.at("from");
    g.b = seg.at("to");
    g.root_a = *Hash32::from_hex(seg.at("fromRoot").get<std::string>());
    g.root_b = *Hash32::from_hex(seg.at("toRoot").get<std::string>());
    for (const auto& r : j.at("pendingRoots")) g.roots.push_back(*Hash32::from_hex(r.get<std::string>()));
    std::string status = j.at("status");
    for (auto s : {GameStatus::kOpen, GameStatus::kChallengerWon, GameStatus::kProposerWon, GameStatus::kCancelled})
      if (status == to_string(s)) g.status = s;
    std::string turn = j.at("turn");
    for (auto t : {Turn::kDissect, Turn::kChoose, Turn::kProve})
      if (turn == to_string(t)) g.turn = t;
    g.proposer_left = j.at("clocks").at("proposer");
    g.challenger_left = j.at("clocks").at("challenger");
    g.turn_started = j.at("turnStarted");
    (void)j.value("mover", nlohmann::json());
    g.moves = j.at("moves");
    g.started = j.at("started");
    if (j.contains("ended")) {
      g.ended = j.at("ended");
      g.end_reason = j.at("endReason");
    }
    return g;
  } catch (const std::exception& e) {
    return err(std::string(e.what()));
  }
}

}  // namespace opt::fp

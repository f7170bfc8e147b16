// The game's read routes on the L1's HTTP API, registered through L1Extension::add_routes:
//   GET /l1/v1/games/{id}                    one game (404 unknown_game)
//   GET /l1/v1/games?batch=&from=&limit=     the games of a batch, or a page of all games
// The game owns this JSON (to_json(Game)); the L1 only serves it.
#include "bridge/api.h"
#include "engine/net/http.h"
#include "fraudproof/game.h"

namespace opt::fp {

using l1::allow_query;
using l1::api_error;
using nlohmann::json;

void GameModule::add_routes(http::Router& router) const {
  const GameModule& games = *this;
  router.add("GET", "/l1/v1/games/{id}", [&games](const http::Request& req) {
    allow_query(req, {});
    auto id = l1::parse_u64(*req.param("id"), "game id");
    if (!id) throw api_error(id.error());
    auto g = games.game(*id);
    if (!g)
      throw api_error(l1::Refusal{l1::RefusalCode::kExtensionNotFound, "no game " + std::to_string(*id),
                                  to_string(GameRefusal::kUnknownGame)});
    return http::json_response(200, to_json(*g));
  });
  router.add("GET", "/l1/v1/games", [&games](const http::Request& req) {
    allow_query(req, {"batch", "from", "limit"});
    json out = json::array();
    if (auto b = req.query_param("batch")) {
      auto batch = l1::parse_u64(*b, "batch");
      if (!batch) throw api_error(batch.error());
      for (const auto& g : games.games_of_batch(*batch)) out.push_back(to_json(g));
    } else {
      uint64_t from = 0;
      size_t limit = 100;
      if (auto f = req.query_param("from")) {
        auto v = l1::parse_u64(*f, "from");
        if (!v) throw api_error(v.error());
        from = *v;
      }
      if (auto l = req.query_param("limit")) {
        auto v = l1::parse_u64(*l, "limit");
        if (!v || *v == 0 || *v > 1000) throw api_error(l1::RefusalCode::kBadQuery, "limit must be 1..1000");
        limit = *v;
      }
      for (const auto& g : games.games(from, limit)) out.push_back(to_json(g));
    }
    return http::json_response(200, json{{"games", out}});
  });
}

}  // namespace opt::fp

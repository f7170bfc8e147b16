#include "engine/node/state_reads.h"

#include <algorithm>

#include "engine/risk/margin.h"

namespace opt::node::reads {

std::optional<InstrumentLeaf> instrument(const FullState& s, uint64_t id) {
  const Bytes* v = s.find(instrument_key(id));
  if (!v) return std::nullopt;
  auto l = decode_instrument(*v);
  if (!l) return std::nullopt;
  return *l;
}

GlobalLeaf global(const FullState& s) {
  const Bytes* v = s.find(global_key());
  auto g = v ? decode_global(*v) : Result<GlobalLeaf, CodecError>(GlobalLeaf{});
  return g ? *g : GlobalLeaf{};
}

std::optional<OracleLeaf> oracle(const FullState& s, uint32_t u) {
  const Bytes* v = s.find(oracle_key(u));
  if (!v) return std::nullopt;
  auto o = decode_oracle(*v);
  if (!o) return std::nullopt;
  return *o;
}

AccountLeaf account(const FullState& s, const Address& a) {
  const Bytes* v = s.find(account_key(a));
  if (!v) return {};
  auto acc = decode_account(*v);
  return acc ? *acc : AccountLeaf{};
}

AccountView account_view(const FullState& s, const Params& params, const Address& a, uint64_t now) {
  AccountView v;
  v.address = a;
  AccountLeaf acc = account(s, a);
  v.nonce = acc.nonce;
  v.collateral = acc.collateral;
  std::vector<OracleLeaf> oracles;
  for (const auto& p : acc.positions) {
    if (std::none_of(oracles.begin(), oracles.end(), [&](const OracleLeaf& o) { return o.underlying == p.underlying; }))
      if (auto o = oracle(s, p.underlying)) oracles.push_back(*o);
  }
  auto m = compute_margin(acc.collateral, acc.positions, oracles, now, params);
  for (size_t i = 0; i < acc.positions.size(); ++i) v.positions.push_back({acc.positions[i], m ? m->marks[i] : 0});
  if (m) {
    v.equity = m->equity;
    v.initial_margin = m->initial;
    v.maintenance_margin = m->maintenance;
    v.marks_stale = m->stale;
  } else {
    v.equity = acc.collateral;
    v.marks_stale = true;
  }
  return v;
}

std::vector<InstrumentView> instrument_views(const FullState& s) {
  std::vector<InstrumentView> out;
  GlobalLeaf g = global(s);
  for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
    auto l = instrument(s, id);
    if (!l) continue;
    std::string status = l->status == InstrumentStatus::kActive ? "active"
                         : (l->long_open || l->short_open)      ? "expired"
                                                                : "settled";
    out.push_back({*l, instrument_name(*l), status});
  }
  return out;
}

}  // namespace opt::node::reads

#include "engine/common/genesis_json.h"

namespace opt {

using nlohmann::json;

json genesis_to_json(const Genesis& g) {
  const Params& p = g.params;
  json committee = json::array();
  for (const auto& a : p.oracle_committee) committee.push_back(to_checksum(a));
  json ladder = json::array();
  for (const auto& l : g.ladder)
    ladder.push_back({{"underlying", l.underlying},
                      {"strike", std::to_string(l.strike)},
                      {"expiry", l.expiry},
                      {"isCall", l.is_call}});
  return {
      {"time", g.time},
      {"chainId", p.chain_id},
      {"rollupAddress", to_checksum(p.rollup_address)},
      {"admin", to_checksum(p.admin)},
      {"oracleCommittee", committee},
      {"oracleThreshold", p.oracle_threshold},
      {"oracleStalenessSeconds", p.oracle_staleness},
      {"maxVolatility", std::to_string(p.max_volatility)},
      {"fees", {{"makerFee", std::to_string(p.fees.maker_fee)}, {"takerFee", std::to_string(p.fees.taker_fee)}}},
      {"margin",
       {{"initialAPpm", p.margin.initial_a_ppm},
        {"initialBPpm", p.margin.initial_b_ppm},
        {"maintenanceAPpm", p.margin.maintenance_a_ppm},
        {"maintenanceBPpm", p.margin.maintenance_b_ppm}}},
      {"liquidationPenaltyPpm", p.liquidation_penalty_ppm},
      {"liquidatorSharePpm", p.liquidator_share_ppm},
      {"ladder", ladder},
  };
}

namespace {

uint64_t u64_of(const json& v, const char* what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument(std::string(what) + " must be a non-negative integer");
    return std::stoull(s);
  }
  throw std::invalid_argument(std::string(what) + " must be a non-negative integer");
}
uint32_t u32_of(const json& v, const char* what) {
  uint64_t x = u64_of(v, what);
  if (x > UINT32_MAX) throw std::invalid_argument(std::string(what) + " is out of range");
  return static_cast<uint32_t>(x);
}
Address addr_of(const json& v, const char* what) {
  auto a =
      v.is_string() ? parse_address(v.get<std::string>()) : Result<Address, HexError>(err(HexError::kBadCharacter));
  if (!a) throw std::invalid_argument(std::string(what) + " must be an address");
  return *a;
}

}  // namespace

Result<Genesis, std::string> genesis_from_json(const json& j) {
  try {
    Genesis g;
    Params& p = g.params;
    g.time = u64_of(j.at("time"), "time");
    p.chain_id = u64_of(j.at("chainId"), "chainId");
    p.rollup_address = addr_of(j.at("rollupAddress"), "rollupAddress");
    p.admin = addr_of(j.at("admin"), "admin");
    for (const auto& a : j.at("oracleCommittee")) p.oracle_committee.push_back(addr_of(a, "oracleCommittee"));
    p.oracle_threshold = u32_of(j.at("oracleThreshold"), "oracleThreshold");
    if (p.oracle_threshold == 0 || p.oracle_threshold > p.oracle_committee.size())
      return err(std::string("oracleThreshold must be between 1 and the committee size"));
    p.oracle_staleness = u64_of(j.at("oracleStalenessSeconds"), "oracleStalenessSeconds");
    p.max_volatility = u64_of(j.at("maxVolatility"), "maxVolatility");
    p.fees.maker_fee = u64_of(j.at("fees").at("makerFee"), "makerFee");
    p.fees.taker_fee = u64_of(j.at("fees").at("takerFee"), "takerFee");
    const json& m = j.at("margin");
    p.margin.initial_a_ppm = u32_of(m.at("initialAPpm"), "initialAPpm");
    p.margin.initial_b_ppm = u32_of(m.at("initialBPpm"), "initialBPpm");
    p.margin.maintenance_a_ppm = u32_of(m.at("maintenanceAPpm"), "maintenanceAPpm");
    p.margin.maintenance_b_ppm = u32_of(m.at("maintenanceBPpm"), "maintenanceBPpm");
    p.liquidation_penalty_ppm = u32_of(j.at("liquidationPenaltyPpm"), "liquidationPenaltyPpm");
    p.liquidator_share_ppm = u32_of(j.at("liquidatorSharePpm"), "liquidatorSharePpm");
    if (p.liquidator_share_ppm > 1'000'000) return err(std::string("liquidatorSharePpm above 1000000"));
    for (const auto& l : j.at("ladder")) {
      if (!l.at("isCall").is_boolean()) return err(std::string("ladder isCall must be a boolean"));
      g.ladder.push_back({u32_of(l.at("underlying"), "underlying"), u64_of(l.at("strike"), "strike"),
                          u64_of(l.at("expiry"), "expiry"), l.at("isCall").get<bool>()});
    }
    p.seal();
    return g;
  } catch (const std::exception& e) {
    return err(std::string("l2 genesis: ") + e.what());
  }
}

}  // namespace opt

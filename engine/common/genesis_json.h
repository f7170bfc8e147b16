// The JSON form of the L2 genesis (engine/stf/genesis.h), as stored in the L1 config (l2Genesis) and
// served by GET /l1/v1/config and GET /v1/config, so every party builds the same genesis state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/stf/genesis.h"

namespace opt {

nlohmann::json genesis_to_json(const Genesis& g);
// Strict: every field present with the right type; the domain separator is recomputed (seal()).
Result<Genesis, std::string> genesis_from_json(const nlohmann::json& j);

}  // namespace opt

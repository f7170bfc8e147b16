#include "engine/stf/conservation.h"

#include "engine/stf/leaves.h"

namespace opt {

Result<ConservationTotals, CodecError> conservation_totals(const FullState& state, std::span<const Address> accounts) {
  GlobalLeaf g;
  if (const Bytes* v = state.find(global_key())) {
    auto d = decode_global(*v);
    if (!d) return err(d.error());
    g = *d;
  }
  ConservationTotals t;
  t.owed = static_cast<i128>(g.total_deposits) - g.total_withdrawals;
  t.held = static_cast<i128>(g.fee_pool) + g.insurance_fund;
  for (const auto& a : accounts) {
    const Bytes* v = state.find(account_key(a));
    if (!v) continue;
    auto acc = decode_account(*v);
    if (!acc) return err(acc.error());
    t.held += acc->collateral;
  }
  for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
    const Bytes* v = state.find(instrument_key(id));
    if (!v) continue;
    auto inst = decode_instrument(*v);
    if (!inst) return err(inst.error());
    t.held += inst->settlement_pool;
  }
  return t;
}

}  // namespace opt

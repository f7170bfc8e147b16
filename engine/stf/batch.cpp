#include "engine/stf/batch.h"

namespace opt {

Result<std::vector<Receipt>, StateError> apply_steps(const Params& params, uint64_t timestamp,
                                                     std::span<const Bytes> steps, size_t inbox_steps, StateView& state,
                                                     SigCache* cache,
                                                     const std::function<void(size_t, const Receipt&)>& after_step) {
  std::vector<Receipt> receipts;
  receipts.reserve(steps.size());
  ApplyOptions opts;
  opts.sig_cache = cache;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto r = apply(params, StepContext{timestamp, i < inbox_steps}, steps[i], state, opts);
    if (!r) return err(r.error());
    receipts.push_back(*r);
    if (after_step) after_step(i, *r);
  }
  return receipts;
}

Result<std::vector<StateRoot>, StateError> intermediate_roots(const Params& params, uint64_t timestamp,
                                                              std::span<const Bytes> steps, size_t inbox_steps,
                                                              FullState& state) {
  std::vector<StateRoot> roots;
  roots.reserve(steps.size());
  auto r = apply_steps(params, timestamp, steps, inbox_steps, state, nullptr,
                       [&](size_t, const Receipt&) { roots.push_back(state.root()); });
  if (!r) return err(r.error());
  return roots;
}

}  // namespace opt

#include "engine/stf/genesis.h"

#include "engine/stf/apply.h"

namespace opt {

Status<StateError> Genesis::build(StateView& state) const {
  return write_genesis(state, ladder, time);
}

StateRoot Genesis::root() const {
  FullState s;
  s.set_journaling(false);
  (void)build(s);
  return s.root();
}

}  // namespace opt

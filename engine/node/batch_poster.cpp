#include "engine/node/batch_poster.h"

#include "bridge/compress.h"
#include "engine/common/wall_clock.h"
#include "engine/core/keccak.h"

namespace opt::node {

void BatchPoster::post() {
  for (;;) {
    std::optional<LocalBatch> next = sequencer_.next_to_post();
    if (!next) return;
    const LocalBatch& b = *next;
    auto head = l1_.head();
    if (!head) return;
    if (head->tip_root != b.roots.front()) {
      // Posted already, with the record of it lost (killed between the L1's answer and the log)? Then
      // the L1's tip is this batch: adopt it. Otherwise wait for a dispute to remove a wrong batch.
      if (head->next_batch_index > 0 && adopt(b, head->next_batch_index - 1)) continue;
      if (waiting_logged_ != std::pair{b.seq, head->tip_root}) {  // once per batch and tip, not per poll
        waiting_logged_ = std::pair{b.seq, head->tip_root};
        log("waiting to post batch " + std::to_string(b.seq) + ": the L1 tip root " +
            head->tip_root.hex().substr(0, 12) + " is not its start root " + b.roots.front().hex().substr(0, 12) +
            " (a dispute of a wrong batch in progress, or this node's log is behind the L1)");
      }
      return;
    }
    if (auto stake = ensure_stake(); !stake) return;
    uint64_t index = head->next_batch_index;
    Hash32 post = b.roots.back();
    bool fault = cfg_.fault_at_batch && *cfg_.fault_at_batch == index;
    if (fault) post = keccak256(post.view());  // fault injection: a root nobody can justify
    l1::PostBatchArgs args{
        index,  b.roots.front(), post, b.steps.size() - b.inbox_steps, b.inbox_to, follower_.accumulator(b.inbox_to),
        b.l2_ts};
    Bytes data = l1::compress_batch(b.frames());
    auto r = l1_.submit(cfg_.proposer_key, l1::make_post_batch(cfg_.proposer, args, data, 0));
    if (!r) {
      counters_.l1_errors++;
      log("posting batch " + std::to_string(b.seq) + " refused: " + r.error().code + " " + r.error().message);
      adopt(b, index);
      return;
    }
    mark_posted(b.seq, index, post, fault);
  }
}

// The stake can be slashed by a lost game: it is topped up from the proposer's bond tokens.
Status<std::string> BatchPoster::ensure_stake() {
  auto a = l1_.account(cfg_.proposer);
  if (!a) return err(a.error().message);
  const uint64_t min = cfg_.min_proposer_stake;
  if (a->stake >= min) return {};
  auto r = l1_.submit(cfg_.proposer_key, l1::make_register_proposer(cfg_.proposer, min - a->stake, 0));
  if (!r) {
    log("cannot stake as proposer: " + r.error().code + " " + r.error().message);
    return err(r.error().message);
  }
  log("staked " + format_decimal(static_cast<int64_t>(min - a->stake)) + " bond tokens as proposer");
  return {};
}

// A posting whose answer was lost (or a restart after posting): the L1 may already hold the batch.
bool BatchPoster::adopt(const LocalBatch& b, uint64_t from_index) {
  for (uint64_t i = from_index > 2 ? from_index - 2 : 0; i <= from_index; ++i) {
    auto rec = l1_.batch(i);
    if (!rec) continue;
    if (rec->status != l1::BatchStatus::kRemoved && rec->proposer == cfg_.proposer &&
        rec->prev_root == b.roots.front() && rec->data_hash == keccak256(l1::compress_batch(b.frames()))) {
      log("batch " + std::to_string(b.seq) + " is already L1 batch " + std::to_string(i) + ": adopted");
      mark_posted(b.seq, i, rec->post_root, rec->post_root != b.roots.back());
      return true;
    }
  }
  return false;
}

void BatchPoster::mark_posted(uint64_t seq, uint64_t index, const Hash32& post, bool faulted) {
  Writer w;
  w.u64(seq).u64(index);
  // Without this record a restart still finds the batch on the L1 (adopt()); but a log that cannot be
  // written stops the node.
  if (auto st = log_.append({LogRecord{LogKind::kBatchPosted, wall_ms(), w.take()}}); !st && cfg_.fail)
    cfg_.fail("cannot write its log " + st.error());
  sequencer_.mark_posted(seq, index, post, faulted);
  counters_.batches_posted++;
  log("posted batch " + std::to_string(seq) + " as L1 batch " + std::to_string(index) +
      (faulted ? " WITH A WRONG ROOT (fault injection)" : ""));
  if (events_.active()) events_.emit(BatchStatusEvent{index, BatchStatus::kPending, post});
}

}  // namespace opt::node

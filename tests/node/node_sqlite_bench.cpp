// The bound for durable order intake: rows/s that SQLite commits with synchronous=FULL on this disk, one
// row per transaction (no group commit) and 256 rows per transaction (the node's group commit), with
// rows the size of a logged order.
#include <unistd.h>

#include <filesystem>

#include "engine/common/sqlite.h"
#include "tests/bench_util.h"
#include "tests/support/temp_dir.h"

using namespace opt;

int main() {
  const opt::test::TempDir dir("optrollup-sqlite-bench");
  auto db = db::Db::open(dir.file("bench.sqlite"), true);
  if (!db) {
    std::printf("error: %s\n", db.error().c_str());
    return 1;
  }
  (void)(*db)->exec(
      "CREATE TABLE log (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, at INTEGER NOT NULL, body BLOB NOT NULL)");
  Bytes body(167, 0xab);  // an order record: 70-byte order, 65-byte signature, 32-byte hash
  auto run = [&](size_t per_tx, double seconds) {
    size_t rows = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < seconds) {
      (void)(*db)->begin();
      auto st = (*db)->prepare("INSERT INTO log (kind, at, body) VALUES (2, ?1, ?2)");
      for (size_t i = 0; i < per_tx; ++i) {
        st->reset();
        (void)st->bind(1, static_cast<int64_t>(rows + i)).bind(2, ByteView(body)).run();
      }
      (void)(*db)->commit();
      rows += per_tx;
    }
    return static_cast<double>(rows) / bench::seconds_since(t0);
  };
  bench::report("sqlite_commit_rows_per_s_1_per_tx", run(1, 2.0), "rows/s", "synchronous=FULL, one fsync per row");
  bench::report("sqlite_group_commit_rows_per_s", run(256, 2.0), "rows/s", "synchronous=FULL, 256 rows per fsync");
  db->reset();
  return 0;
}

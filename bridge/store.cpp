#include "bridge/store.h"

#include <sqlite3.h>

#include "engine/common/sqlite.h"

namespace opt::l1 {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  number INTEGER PRIMARY KEY,
  timestamp INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  parent BLOB NOT NULL,
  hash BLOB
);
CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY,
  block INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  signature BLOB NOT NULL,
  data BLOB NOT NULL,
  hash BLOB NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS actions_by_block ON actions (block, idx);
)sql";

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  Stmt& bind(int i, uint64_t v) {
    ok_ = ok_ && sqlite3_bind_int64(s_, i, static_cast<sqlite3_int64>(v)) == SQLITE_OK;
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    ok_ = ok_ && sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) == SQLITE_OK;
    return *this;
  }
  Stmt& bind(int i, ByteView v) {
    // A zero-length blob must still be a blob (NOT NULL), so bind an empty non-null pointer.
    static const uint8_t kEmpty = 0;
    const void* p = v.empty() ? static_cast<const void*>(&kEmpty) : v.data();
    ok_ = ok_ && sqlite3_bind_blob(s_, i, p, static_cast<int>(v.size()), SQLITE_TRANSIENT) == SQLITE_OK;
    return *this;
  }
  Stmt& bind_null(int i) {
    ok_ = ok_ && sqlite3_bind_null(s_, i) == SQLITE_OK;
    return *this;
  }
  int step() { return ok_ ? sqlite3_step(s_) : SQLITE_ERROR; }
  uint64_t u64(int c) const { return static_cast<uint64_t>(sqlite3_column_int64(s_, c)); }
  std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : std::string();
  }
  Bytes blob(int c) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, c));
    int n = sqlite3_column_bytes(s_, c);
    return p ? Bytes(p, p + n) : Bytes();
  }
  bool is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

Hash32 to_hash(const Bytes& b) {
  Hash32 h;
  if (b.size() == 32) h = Hash32::from(b);
  return h;
}

ActionRow read_action(const Stmt& s, bool with_data) {
  ActionRow r;
  r.seq = s.u64(0);
  r.block = s.u64(1);
  r.index = static_cast<uint32_t>(s.u64(2));
  r.type = s.text(3);
  r.message = s.text(4);
  r.signature = s.blob(5);
  r.hash = to_hash(s.blob(6));
  if (with_data) r.data = s.blob(7);
  return r;
}

}  // namespace

Result<std::unique_ptr<Store>, std::string> Store::open(const std::string& path, bool durable) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr); rc != SQLITE_OK) {
    std::string msg = db ? db::describe_error(db, rc) : "out of memory";
    sqlite3_close(db);
    return err("cannot open " + path + " (" + msg + ")");
  }
  std::unique_ptr<Store> s(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  if (path != ":memory:") {
    if (auto r = s->exec("PRAGMA journal_mode=WAL;"); !r) return err(r.error());
  }
  if (auto r = s->exec(durable ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;"); !r) return err(r.error());
  if (auto r = s->exec(kSchema); !r) return err(r.error());
  return s;
}

Store::~Store() {
  sqlite3_close(db_);
}

std::string Store::error_text() const {
  return db::describe_error(db_);
}

Status<std::string> Store::exec(const char* sql) {
  char* msg = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg); rc != SQLITE_OK) {
    sqlite3_free(msg);
    return err("sqlite: " + db::describe_error(db_, rc));
  }
  return {};
}

std::optional<std::string> Store::meta(const std::string& key) {
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?1");
  s.bind(1, key);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return s.text(0);
}

Status<std::string> Store::create(const std::string& config_json, const BlockRow& genesis) {
  if (auto r = exec("BEGIN IMMEDIATE;"); !r) return r;
  auto fail = [&](const std::string& what) -> Status<std::string> {
    std::string e = what + ": " + error_text();
    (void)exec("ROLLBACK;");
    return err(e);
  };
  {
    Stmt s(db_, "INSERT INTO meta (key, value) VALUES ('config', ?1), ('schema', '1')");
    s.bind(1, config_json);
    if (s.step() != SQLITE_DONE) return fail("writing the config");
  }
  {
    Stmt s(db_, "INSERT INTO blocks (number, timestamp, time_ms, parent, hash) VALUES (?1, ?2, ?3, ?4, NULL)");
    s.bind(1, genesis.number).bind(2, genesis.timestamp).bind(3, genesis.time_ms).bind(4, genesis.parent.view());
    if (s.step() != SQLITE_DONE) return fail("writing the genesis block");
  }
  return exec("COMMIT;");
}

Result<std::vector<BlockRow>, std::string> Store::blocks() {
  Stmt s(db_, "SELECT number, timestamp, time_ms, parent, hash FROM blocks ORDER BY number");
  if (!s.ok()) return err("sqlite: " + error_text());
  std::vector<BlockRow> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    BlockRow b;
    b.number = s.u64(0);
    b.timestamp = s.u64(1);
    b.time_ms = s.u64(2);
    b.parent = to_hash(s.blob(3));
    if (!s.is_null(4)) b.hash = to_hash(s.blob(4));
    out.push_back(b);
  }
  if (rc != SQLITE_DONE) return err("sqlite: " + error_text());
  return out;
}

Status<std::string> Store::for_each_action(const std::function<Status<std::string>(ActionRow&&)>& fn) {
  Stmt s(db_, "SELECT seq, block, idx, type, message, signature, hash, data FROM actions ORDER BY seq");
  if (!s.ok()) return err("sqlite: " + error_text());
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (auto r = fn(read_action(s, true)); !r) return r;
  }
  if (rc != SQLITE_DONE) return err("sqlite: " + error_text());
  return {};
}

Result<uint64_t, std::string> Store::append_action(const ActionRow& row) {
  Stmt s(db_,
         "INSERT INTO actions (block, idx, type, message, signature, data, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind(1, row.block).bind(2, uint64_t{row.index}).bind(3, row.type).bind(4, row.message);
  s.bind(5, ByteView(row.signature)).bind(6, ByteView(row.data)).bind(7, row.hash.view());
  if (s.step() != SQLITE_DONE) return err("sqlite: " + error_text());
  return static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
}

Status<std::string> Store::seal(uint64_t sealed, const Hash32& hash, const BlockRow& next) {
  if (auto r = exec("BEGIN IMMEDIATE;"); !r) return r;
  auto fail = [&]() -> Status<std::string> {
    std::string e = "sqlite: " + error_text();
    (void)exec("ROLLBACK;");
    return err(e);
  };
  {
    Stmt s(db_, "UPDATE blocks SET hash = ?1 WHERE number = ?2 AND hash IS NULL");
    s.bind(1, hash.view()).bind(2, sealed);
    if (s.step() != SQLITE_DONE || sqlite3_changes(db_) != 1) return fail();
  }
  {
    Stmt s(db_, "INSERT INTO blocks (number, timestamp, time_ms, parent, hash) VALUES (?1, ?2, ?3, ?4, NULL)");
    s.bind(1, next.number).bind(2, next.timestamp).bind(3, next.time_ms).bind(4, next.parent.view());
    if (s.step() != SQLITE_DONE) return fail();
  }
  return exec("COMMIT;");
}

std::optional<Bytes> Store::action_data(uint64_t seq) {
  Stmt s(db_, "SELECT data FROM actions WHERE seq = ?1");
  s.bind(1, seq);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return s.blob(0);
}

std::vector<ActionRow> Store::block_actions(uint64_t block) {
  Stmt s(db_, "SELECT seq, block, idx, type, message, signature, hash FROM actions WHERE block = ?1 ORDER BY idx");
  s.bind(1, block);
  std::vector<ActionRow> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_action(s, false));
  return out;
}

std::optional<ActionRow> Store::find_action(const Hash32& hash) {
  Stmt s(db_, "SELECT seq, block, idx, type, message, signature, hash FROM actions WHERE hash = ?1");
  s.bind(1, hash.view());
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return read_action(s, false);
}

}  // namespace opt::l1

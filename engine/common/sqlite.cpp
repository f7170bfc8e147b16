#include "engine/common/sqlite.h"

#include <sqlite3.h>

namespace opt::db {

Stmt::Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), error_(std::move(o.error_)) { o.s_ = nullptr; }
Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (s_) sqlite3_finalize(s_);
    db_ = o.db_;
    s_ = o.s_;
    error_ = std::move(o.error_);
    o.s_ = nullptr;
  }
  return *this;
}
Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(s_, i, v) != SQLITE_OK) error_ = sqlite3_errmsg(db_);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    error_ = sqlite3_errmsg(db_);
  return *this;
}
Stmt& Stmt::bind(int i, ByteView v) {
  // A zero-length blob must still be a blob, not NULL.
  static const uint8_t kEmpty = 0;
  const void* p = v.empty() ? &kEmpty : v.data();
  if (sqlite3_bind_blob(s_, i, p, static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    error_ = sqlite3_errmsg(db_);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  if (sqlite3_bind_null(s_, i) != SQLITE_OK) error_ = sqlite3_errmsg(db_);
  return *this;
}

bool Stmt::step() {
  if (!error_.empty()) return false;
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) error_ = sqlite3_errmsg(db_);
  return false;
}

Status<std::string> Stmt::run() {
  while (step()) {
  }
  if (!error_.empty()) return err(error_);
  return {};
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  error_.clear();
}

int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }
std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
}
Bytes Stmt::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? Bytes(p, p + n) : Bytes{};
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Db>, std::string> Db::open(const std::string& path, bool durable) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    if (raw) sqlite3_close(raw);
    return err("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  if (path != ":memory:") {
    if (auto s = db->exec("PRAGMA journal_mode=WAL"); !s) return err("cannot open database " + path + ": " + s.error());
  }
  if (auto s = db->exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !s) return err(s.error());
  // Fails now, not at the first write, if the file is read-only.
  if (auto s = db->exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"); !s)
    return err("cannot write database " + path + ": " + s.error());
  return db;
}

Db::~Db() { sqlite3_close(db_); }

Status<std::string> Db::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string e = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return err(e);
  }
  return {};
}

Result<Stmt, std::string> Db::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return err(std::string(sqlite3_errmsg(db_)));
  return Stmt(db_, s);
}

Status<std::string> Db::put_meta(const std::string& key, const std::string& value) {
  auto st = prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
  if (!st) return err(st.error());
  return st->bind(1, key).bind(2, value).run();
}

std::optional<std::string> Db::meta(const std::string& key) {
  auto st = prepare("SELECT value FROM meta WHERE key = ?1");
  if (!st) return std::nullopt;
  st->bind(1, key);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

}  // namespace opt::db

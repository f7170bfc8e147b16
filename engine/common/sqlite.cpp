#include "engine/common/sqlite.h"

#include <sqlite3.h>

#include <cerrno>
#include <system_error>

namespace opt::db {

namespace {

std::string system_reason(int e) {
  return std::error_code(e, std::generic_category()).message();
}

bool out_of_space(int e) {
  return e == ENOSPC || e == EFBIG || e == EDQUOT;
}
bool not_writable(int e) {
  return e == EROFS || e == EACCES || e == EPERM;
}

std::string cause(sqlite3* db, int rc) {
  // SQLite records the system's errno only for I/O and open errors; elsewhere it may be stale.
  const int primary = rc & 0xff;
  const int sys = db && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) ? sqlite3_system_errno(db) : 0;
  const std::string because = sys ? " (" + system_reason(sys) + ")" : "";
  const std::string read_only = "read-only: the file or its directory cannot be written";
  switch (primary) {
    case SQLITE_FULL: return "no space left: the disk is full";
    case SQLITE_READONLY:
    case SQLITE_PERM: return read_only;
    case SQLITE_CANTOPEN:
      if (not_writable(sys)) return read_only + because;
      return "cannot open the file" + because;
    case SQLITE_IOERR:
      if (out_of_space(sys)) return "no space left: the disk is full or a file size limit is reached" + because;
      if (not_writable(sys)) return read_only + because;
      switch (rc) {
        case SQLITE_IOERR_WRITE:
        case SQLITE_IOERR_FSYNC:
        case SQLITE_IOERR_TRUNCATE:
        case SQLITE_IOERR_SHMSIZE: return "I/O error: a write failed (is the disk full?)" + because;
        default: return "I/O error" + because;
      }
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "the file is damaged or not a database";
    default: return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  }
}

}  // namespace

std::string describe_error(sqlite3* db, int rc) {
  if (rc < 0) rc = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  // The API returns primary codes; the connection keeps the extended one (which write failed, and so on).
  if (db && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) rc = sqlite3_extended_errcode(db);
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string name = file && *file ? file : "the database";
  return name + ": " + cause(db, rc);
}

Stmt::Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), error_(std::move(o.error_)) {
  o.s_ = nullptr;
}
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
  if (sqlite3_bind_int64(s_, i, v) != SQLITE_OK) error_ = describe_error(db_);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    error_ = describe_error(db_);
  return *this;
}
Stmt& Stmt::bind(int i, ByteView v) {
  // A zero-length blob must still be a blob, not NULL.
  static const uint8_t kEmpty = 0;
  const void* p = v.empty() ? &kEmpty : v.data();
  if (sqlite3_bind_blob(s_, i, p, static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    error_ = describe_error(db_);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  if (sqlite3_bind_null(s_, i) != SQLITE_OK) error_ = describe_error(db_);
  return *this;
}

bool Stmt::step() {
  if (!error_.empty()) return false;
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) error_ = describe_error(db_, rc);
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

int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(s_, col);
}
std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
}
Bytes Stmt::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? Bytes(p, p + n) : Bytes{};
}
bool Stmt::is_null(int col) const {
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}

Result<std::unique_ptr<Db>, std::string> Db::open(const std::string& path, bool durable) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? path + ": " + cause(raw, rc) : "out of memory";
    if (raw) sqlite3_close(raw);
    return err("cannot open database " + msg);
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  if (path != ":memory:") {
    if (auto s = db->exec("PRAGMA journal_mode=WAL"); !s) return err("cannot open database " + s.error());
  }
  if (auto s = db->exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !s) return err(s.error());
  // Fails now, not at the first write, if the file is read-only.
  if (auto s = db->exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"); !s)
    return err("cannot write database " + s.error());
  return db;
}

Db::~Db() {
  sqlite3_close(db_);
}

Status<std::string> Db::exec(const std::string& sql) {
  char* msg = nullptr;
  if (int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg); rc != SQLITE_OK) {
    sqlite3_free(msg);
    return err(describe_error(db_, rc));
  }
  return {};
}

Result<Stmt, std::string> Db::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr); rc != SQLITE_OK)
    return err(describe_error(db_, rc));
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

// A thin RAII layer over SQLite for the node and the agents: WAL mode, prepared statements, explicit
// transactions. Errors are values carrying SQLite's message (disk full and read-only files included), so
// callers can stop cleanly instead of corrupting anything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/bytes.h"

struct sqlite3;
struct sqlite3_stmt;

namespace opt::db {

class Db;

// The one place that puts a failed SQLite call into words: "<file>: <cause>", where the cause names the
// conditions an operator can fix — no space left (a full disk, or a file size limit), read-only (the file
// or its directory cannot be written), cannot open, an I/O error with the system's reason — and otherwise
// SQLite's own message. `rc` defaults to the connection's last error code.
std::string describe_error(sqlite3* db, int rc = -1);

class Stmt {
 public:
  Stmt(Stmt&&) noexcept;
  Stmt& operator=(Stmt&&) noexcept;
  ~Stmt();

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, uint64_t v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, ByteView v);
  Stmt& bind_null(int i);
  // Steps once: true while a row is available; false when done. Errors go to ok()/error().
  bool step();
  // Runs to completion (for statements without rows).
  Status<std::string> run();
  void reset();

  int64_t i64(int col) const;
  uint64_t u64(int col) const { return static_cast<uint64_t>(i64(col)); }
  std::string text(int col) const;
  Bytes blob(int col) const;
  bool is_null(int col) const;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  std::string error_;
};

class Db {
 public:
  // Opens (creating) the file in WAL mode. `durable`: synchronous=FULL, else NORMAL (survives a killed
  // process; may lose the last commits on power loss). ":memory:" is accepted.
  static Result<std::unique_ptr<Db>, std::string> open(const std::string& path, bool durable = true);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status<std::string> exec(const std::string& sql);
  Result<Stmt, std::string> prepare(const std::string& sql);
  Status<std::string> begin() { return exec("BEGIN IMMEDIATE"); }
  Status<std::string> commit() { return exec("COMMIT"); }
  void rollback() { (void)exec("ROLLBACK"); }

  // A key-value table for small settings and checkpoints (created on first use).
  Status<std::string> put_meta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key);

  sqlite3* raw() { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace opt::db

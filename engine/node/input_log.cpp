#include "engine/node/input_log.h"

#include <filesystem>

namespace opt::node {

Result<std::unique_ptr<InputLog>, std::string> InputLog::open(const std::string& data_dir, bool durable) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return err("cannot create the data directory " + data_dir + ": " + ec.message());
  auto d = db::Db::open((std::filesystem::path(data_dir) / "node.sqlite").string(), durable);
  if (!d) return err(d.error());
  auto log = std::make_unique<InputLog>();
  log->db_ = std::move(*d);
  if (auto s = log->db_->exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, at "
                              "INTEGER NOT NULL, body BLOB NOT NULL)");
      !s)
    return err(s.error());
  return log;
}

Status<std::string> InputLog::append(const std::vector<LogRecord>& records) {
  if (records.empty()) return {};
  std::lock_guard lock(mu_);
  if (auto s = db_->begin(); !s) return s;
  auto st = db_->prepare("INSERT INTO log (kind, at, body) VALUES (?1, ?2, ?3)");
  if (!st) {
    db_->rollback();
    return err(st.error());
  }
  for (const auto& r : records) {
    st->reset();
    if (auto s = st->bind(1, static_cast<int64_t>(r.kind)).bind(2, r.at).bind(3, ByteView(r.body)).run(); !s) {
      db_->rollback();
      return s;
    }
  }
  if (auto s = db_->commit(); !s) {
    db_->rollback();
    return s;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  records_.fetch_add(records.size(), std::memory_order_relaxed);
  return {};
}

Status<std::string> InputLog::replay(const std::function<Status<std::string>(const LogRecord&)>& fn) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT kind, at, body FROM log ORDER BY seq");
  if (!st) return err(st.error());
  size_t n = 0;
  while (st->step()) {
    LogRecord r{static_cast<LogKind>(st->i64(0)), st->u64(1), st->blob(2)};
    if (auto s = fn(r); !s) return err("log record " + std::to_string(n) + ": " + s.error());
    ++n;
  }
  if (!st->ok()) return err(st->error());
  return {};
}

}  // namespace opt::node

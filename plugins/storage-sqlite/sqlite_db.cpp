#include "sqlite_db.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "schema.hpp"

namespace paddock::storage_sqlite {
namespace {

constexpr int kBusyTimeoutMs = 30000;
// After a checkpoint the -wal file is cut back to this size (it keeps its largest size
// otherwise, e.g. after a big snapshot).
constexpr const char* kJournalSizeLimit = "PRAGMA journal_size_limit=67108864";

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Runs a pragma (or query) that returns one integer or text row.
Result<std::string> query_one(Db& db, const char* sql) {
  auto st = Stmt::prepare(db, sql, false);
  if (!st) return st.status();
  int rc = st->step();
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE) return std::string();
    return db.error(sql, rc);
  }
  return std::string(st->bytes(0));
}

}  // namespace

Status format_error(std::string_view path, std::string_view what, std::string_view expected,
                    std::string_view found) {
  std::string m(path);
  m.append(": ").append(what).append(": expected ").append(expected).append(", found ");
  m.append(found);
  return Status::error(std::move(m));
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    close();
    db_ = o.db_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
  }
  return *this;
}

void Db::close() noexcept {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Db::error(std::string_view what, int rc) const {
  std::string m = path_;
  m.append(": ").append(what).append(": ");
  m.append(db_ != nullptr && sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  m.append(" (SQLite code ").append(std::to_string(rc)).append(")");
  if (db_ != nullptr && (rc & 0xff) == SQLITE_IOERR) {
    int err = sqlite3_system_errno(db_);
    if (err != 0) m.append(": ").append(std::strerror(err));
  }
  return Status::error(std::move(m));
}

Status Db::exec(const char* sql, std::string_view what) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  sqlite3_free(msg);
  return rc == SQLITE_OK ? Status::ok() : error(what, rc);
}

Result<Db> Db::open(const std::string& path, const char* synchronous) {
  Db db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    int err = db.db_ != nullptr ? sqlite3_system_errno(db.db_) : 0;
    std::string m = path + ": cannot open database: " +
                    (db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc));
    if (err != 0) m += std::string(": ") + std::strerror(err);
    return Status::error(std::move(m));
  }
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, kBusyTimeoutMs);

  auto mode = query_one(db, "PRAGMA journal_mode=WAL");
  if (!mode) return mode.status();
  if (*mode != "wal") {
    return format_error(path, "journal mode", "wal", "\"" + *mode + "\"");
  }
  const std::string sync = std::string("PRAGMA synchronous=") + synchronous;
  if (Status st = db.exec(sync.c_str(), "set synchronous"); !st) return st;
  if (Status st = db.exec(kJournalSizeLimit, "set journal_size_limit"); !st) return st;

  auto app = query_one(db, "PRAGMA application_id");
  if (!app) return app.status();
  auto version = query_one(db, "PRAGMA user_version");
  if (!version) return version.status();
  const auto app_id = static_cast<uint32_t>(std::stoll(app->empty() ? "0" : *app));
  const int64_t schema = std::stoll(version->empty() ? "0" : *version);
  if (app_id == 0) {
    auto tables = query_one(db, "SELECT count(*) FROM sqlite_master");
    if (!tables) return tables.status();
    if (*tables != "0") {
      return format_error(path, "database", "a Paddock storage database (application_id " +
                                                hex32(kApplicationId) + ")",
                          "a database of another application (application_id 0, " + *tables +
                              " schema objects)");
    }
    const std::string init = "PRAGMA application_id=" + std::to_string(kApplicationId) +
                             "; PRAGMA user_version=" + std::to_string(kSchemaVersion);
    if (Status st = db.exec(init.c_str(), "initialise database"); !st) return st;
  } else if (app_id != static_cast<uint32_t>(kApplicationId)) {
    return format_error(path, "database",
                        "a Paddock storage database (application_id " + hex32(kApplicationId) + ")",
                        "application_id " + hex32(app_id));
  } else if (schema > kSchemaVersion || schema < 1) {
    return format_error(path, "schema version (PRAGMA user_version)",
                        "1 to " + std::to_string(kSchemaVersion) + " (this plugin's)",
                        std::to_string(schema));
  }
  return db;
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(st_);
    st_ = o.st_;
    o.st_ = nullptr;
  }
  return *this;
}

Result<Stmt> Stmt::prepare(Db& db, std::string_view sql, bool persistent) {
  Stmt s;
  int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                              persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s.st_, nullptr);
  if (rc != SQLITE_OK) return db.error("prepare \"" + std::string(sql) + "\"", rc);
  return s;
}

void Stmt::bind_blob(int i, std::string_view v) noexcept {
  // A null pointer would bind NULL; empty data must stay an empty (non-null) blob.
  if (v.empty()) {
    sqlite3_bind_zeroblob(st_, i, 0);
  } else {
    sqlite3_bind_blob64(st_, i, v.data(), v.size(), SQLITE_STATIC);
  }
}

void Stmt::bind_text(int i, std::string_view v) noexcept {
  sqlite3_bind_text64(st_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

std::string_view Stmt::bytes(int col) const noexcept {
  const void* p = sqlite3_column_blob(st_, col);
  const int n = sqlite3_column_bytes(st_, col);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(n)};
}

Status run(Db& db, Stmt& stmt, std::string_view what) {
  int rc = stmt.step();
  while (rc == SQLITE_ROW) rc = stmt.step();
  stmt.reset();
  return rc == SQLITE_DONE ? Status::ok() : db.error(what, rc);
}

Result<Transaction> Transaction::begin(Db& db, bool immediate, std::string_view what) {
  if (Status st = db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN", what); !st) return st;
  return Transaction(&db);
}

Status Transaction::commit(std::string_view what) {
  if (db_ == nullptr) return Status::error("commit of a finished transaction");
  Status st = db_->exec("COMMIT", what);
  if (!st) {
    rollback();
    return st;
  }
  db_ = nullptr;
  return st;
}

void Transaction::rollback() noexcept {
  if (db_ == nullptr) return;
  if (!sqlite3_get_autocommit(db_->get())) {
    sqlite3_exec(db_->get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  db_ = nullptr;
}

uint32_t adler32_initial() { return static_cast<uint32_t>(adler32_z(0L, Z_NULL, 0)); }

uint32_t adler32_update(uint32_t adler, std::string_view bytes) {
  if (bytes.empty()) return adler;  // zlib returns the initial value for a null buffer
  return static_cast<uint32_t>(
      adler32_z(adler, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

uint32_t adler32_of(std::string_view bytes) { return adler32_update(adler32_initial(), bytes); }

}  // namespace paddock::storage_sqlite

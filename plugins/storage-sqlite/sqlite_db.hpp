// Owning wrappers of a SQLite connection and a prepared statement, and the one-line errors
// of this plugin ("<database file>: <what>: <SQLite's text> [(<OS text>)]").
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "paddock/sdk/status.hpp"

namespace paddock::storage_sqlite {

using sdk::Result;
using sdk::Status;

// "<path>: <what>: expected <expected>, found <found>"
Status format_error(std::string_view path, std::string_view what, std::string_view expected,
                    std::string_view found);

// One connection. Used by one thread at a time (opened with SQLITE_OPEN_NOMUTEX); the owner
// says which.
class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }

  // Opens (creating if needed) `path` in WAL mode with the given `synchronous` level
  // ("FULL", "NORMAL", "OFF") and a busy timeout, and checks it is a Paddock database of a
  // schema version this plugin reads.
  static Result<Db> open(const std::string& path, const char* synchronous);

  sqlite3* get() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  bool valid() const noexcept { return db_ != nullptr; }
  void close() noexcept;

  // Runs SQL without results (pragmas, schema, BEGIN / COMMIT).
  Status exec(const char* sql, std::string_view what);
  // The Status of a failed call: path, what was being done, SQLite's message and, for I/O
  // errors, the OS's text.
  Status error(std::string_view what, int rc) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement, reset (bindings kept) by the owner after each use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(st_); }

  // `persistent` hints SQLite that the statement is reused many times.
  static Result<Stmt> prepare(Db& db, std::string_view sql, bool persistent = true);

  sqlite3_stmt* get() const noexcept { return st_; }
  int step() noexcept { return sqlite3_step(st_); }
  void reset() noexcept { sqlite3_reset(st_); }
  void bind(int i, int64_t v) noexcept { sqlite3_bind_int64(st_, i, v); }
  // The bytes must stay valid until the statement is stepped and reset (SQLITE_STATIC).
  void bind_blob(int i, std::string_view v) noexcept;
  void bind_text(int i, std::string_view v) noexcept;
  void bind_null(int i) noexcept { sqlite3_bind_null(st_, i); }
  int64_t int64(int col) const noexcept { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) const noexcept { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  // A view of a BLOB or TEXT column, valid until the next step / reset.
  std::string_view bytes(int col) const noexcept;

 private:
  sqlite3_stmt* st_ = nullptr;
};

// Runs a statement that returns no rows (or whose rows are ignored); resets it.
Status run(Db& db, Stmt& stmt, std::string_view what);

// A transaction on a connection, rolled back when destroyed without commit().
class Transaction {
 public:
  // `immediate` takes the write lock at once (waiting up to the busy timeout).
  static Result<Transaction> begin(Db& db, bool immediate, std::string_view what);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction() { rollback(); }
  Status commit(std::string_view what);
  void rollback() noexcept;

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_ = nullptr;
};

uint32_t adler32_of(std::string_view bytes);
uint32_t adler32_update(uint32_t adler, std::string_view bytes);
uint32_t adler32_initial();

}  // namespace paddock::storage_sqlite

#include "txn_store.hpp"

#include "paddock/sdk/jute.hpp"
#include "schema.hpp"

namespace paddock::storage_sqlite {
namespace {

// A batch larger than this is written into the (still open) transaction before commit(), to
// bound memory; it stays invisible until commit().
constexpr size_t kSpillBytes = 16u << 20;
// WAL size (pages) at which the checkpointer thread is woken (SQLite's own default), and at
// which the sync thread checkpoints itself because the background one fell behind.
constexpr int kCheckpointFrames = 1000;
constexpr int kInlineCheckpointFrames = 16000;
constexpr int64_t kPurgeChunkRows = 10000;

class SqliteTxnIterator final : public sdk::TxnIterator {
 public:
  SqliteTxnIterator(Db db, Stmt stmt) : db_(std::move(db)), stmt_(std::move(stmt)) {}
  ~SqliteTxnIterator() override {
    stmt_ = Stmt();  // before the connection
  }

  bool next() override {
    if (done_) return false;
    int rc = stmt_.step();
    if (rc == SQLITE_DONE) {
      done_ = true;
      return false;
    }
    if (rc != SQLITE_ROW) {
      status_ = db_.error("read the transaction log", rc);
      done_ = true;
      return false;
    }
    zxid_ = stmt_.int64(0);
    const auto stored = static_cast<uint32_t>(stmt_.int64(1));
    bytes_ = stmt_.bytes(2);
    const uint32_t computed = adler32_of(bytes_);
    if (stored != computed) {
      status_ = format_error(db_.path(), "txn zxid 0x" + zxid_hex(zxid_),
                             "Adler-32 " + std::to_string(stored) + " (stored)",
                             std::to_string(computed) + " (computed over the entry)");
      done_ = true;
      bytes_ = {};
      return false;
    }
    return true;
  }
  sdk::Zxid zxid() const override { return zxid_; }
  std::string_view bytes() const override { return bytes_; }
  Status status() const override { return status_; }

 private:
  Db db_;
  Stmt stmt_;
  bool done_ = false;
  sdk::Zxid zxid_ = 0;
  std::string_view bytes_;
  Status status_;
};

Result<int64_t> query_int(Db& db, const char* sql, int64_t bind_value, bool bind) {
  auto st = Stmt::prepare(db, sql, false);
  if (!st) return st.status();
  if (bind) st->bind(1, bind_value);
  int rc = st->step();
  if (rc == SQLITE_ROW) return st->is_null(0) ? int64_t{-1} : st->int64(0);
  if (rc == SQLITE_DONE) return int64_t{-1};
  return db.error(sql, rc);
}

}  // namespace

TxnStore::~TxnStore() {
  // Like storage-file (and ZooKeeper's close()): what was appended is kept.
  if (db_.valid() && health_ && (!pending_.empty() || in_transaction_)) (void)commit();
  {
    std::lock_guard lk(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  if (ckpt_thread_.joinable()) ckpt_thread_.join();
  if (in_transaction_) (void)db_.exec("ROLLBACK", "roll back");
  insert_txn_ = Stmt();
  insert_segment_ = Stmt();
}

Status TxnStore::open(const std::string& path, bool force_sync) {
  path_ = path;
  force_sync_ = force_sync;
  auto db = Db::open(path, force_sync ? "FULL" : "OFF");
  if (!db) return db.status();
  db_ = std::move(*db);
  {
    auto tx = Transaction::begin(db_, true, "create the log schema");
    if (!tx) return tx.status();
    if (Status st = db_.exec(kLogSchema, "create the log schema"); !st) return st;
    if (Status st = tx->commit("create the log schema"); !st) return st;
  }
  // Checkpoints are ours (on_wal_commit), not SQLite's automatic ones on the commit path.
  if (Status st = db_.exec("PRAGMA wal_autocheckpoint=0", "disable automatic checkpoints"); !st) {
    return st;
  }
  sqlite3_wal_hook(db_.get(), &TxnStore::on_wal_commit, this);
  auto ins = Stmt::prepare(db_, "INSERT INTO txn (zxid, checksum, entry) VALUES (?1, ?2, ?3)");
  if (!ins) return ins.status();
  insert_txn_ = std::move(*ins);
  auto seg = Stmt::prepare(db_, "INSERT OR IGNORE INTO segment (first_zxid) VALUES (?1)");
  if (!seg) return seg.status();
  insert_segment_ = std::move(*seg);
  auto last = query_int(db_, "SELECT max(zxid) FROM txn", 0, false);
  if (!last) return last.status();
  last_zxid_.store(*last < 0 ? 0 : *last);

  auto aux = Db::open(path, "FULL");  // epochs are always fsynced, as ZooKeeper's files
  if (!aux) return aux.status();
  aux_db_ = std::move(*aux);
  auto ckpt = Db::open(path, "FULL");
  if (!ckpt) return ckpt.status();
  ckpt_db_ = std::move(*ckpt);
  ckpt_thread_ = std::thread([this] { checkpoint_loop(); });
  return Status::ok();
}

int TxnStore::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  auto* store = static_cast<TxnStore*>(self);
  store->wal_frames_ = frames;
  if (frames >= kCheckpointFrames) {
    {
      std::lock_guard lk(store->ckpt_mu_);
      store->ckpt_wanted_ = true;
    }
    store->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

void TxnStore::checkpoint_loop() {
  std::unique_lock lk(ckpt_mu_);
  while (true) {
    ckpt_cv_.wait(lk, [this] { return ckpt_wanted_ || ckpt_stop_; });
    if (ckpt_stop_) return;
    ckpt_wanted_ = false;
    lk.unlock();
    int rc = sqlite3_wal_checkpoint_v2(ckpt_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && host_ != nullptr) {
      host_->log(sdk::LogLevel::kWarn, ckpt_db_.error("checkpoint", rc).message());
    }
    lk.lock();
  }
}

Status TxnStore::fail(Status st) {
  if (in_transaction_) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    in_transaction_ = false;
  }
  pending_.clear();
  pending_bytes_.clear();
  pending_segments_.clear();
  health_ = st;
  if (host_ != nullptr) host_->log(sdk::LogLevel::kError, st.message());
  return st;
}

Status TxnStore::append(sdk::Zxid zxid, std::string_view entry) {
  if (!health_) return health_;
  if (entry.size() < sdk::jute::kTxnHeaderSize || entry.size() > INT32_MAX) {
    return Status(sdk::ErrorCode::kBadArguments,
                  "append: expected a txn entry of 32 bytes to 2 GiB, found " +
                      std::to_string(entry.size()) + " bytes");
  }
  const sdk::Zxid last = last_zxid_.load(std::memory_order_relaxed);
  if (zxid <= last) {
    return Status(sdk::ErrorCode::kBadArguments,
                  path_ + ": append: expected a zxid above the last logged 0x" + zxid_hex(last) +
                      ", found 0x" + zxid_hex(zxid));
  }
  if (!in_segment_) {
    in_segment_ = true;
    pending_segments_.push_back(zxid);
  }
  pending_.push_back(Pending{zxid, pending_bytes_.size(), entry.size(), adler32_of(entry)});
  pending_bytes_.append(entry.data(), entry.size());
  last_zxid_.store(zxid, std::memory_order_relaxed);
  if (pending_bytes_.size() >= kSpillBytes) {
    if (!in_transaction_) {
      if (Status st = db_.exec("BEGIN IMMEDIATE", "begin a log transaction"); !st) return fail(st);
      in_transaction_ = true;
    }
    if (Status st = write_pending(); !st) return fail(st);
  }
  return Status::ok();
}

Status TxnStore::write_pending() {
  for (sdk::Zxid first : pending_segments_) {
    insert_segment_.bind(1, first);
    if (Status st = run(db_, insert_segment_, "record a log segment"); !st) return st;
  }
  for (const Pending& p : pending_) {
    insert_txn_.bind(1, p.zxid);
    insert_txn_.bind(2, p.checksum);
    insert_txn_.bind_blob(3, std::string_view(pending_bytes_).substr(p.offset, p.size));
    if (Status st = run(db_, insert_txn_, "append txn 0x" + zxid_hex(p.zxid)); !st) return st;
  }
  pending_segments_.clear();
  pending_.clear();
  pending_bytes_.clear();
  return Status::ok();
}

Status TxnStore::commit() {
  if (!health_) return health_;
  if (pending_.empty() && pending_segments_.empty() && !in_transaction_) return Status::ok();
  if (!in_transaction_) {
    if (Status st = db_.exec("BEGIN IMMEDIATE", "begin a log transaction"); !st) return fail(st);
    in_transaction_ = true;
  }
  if (Status st = write_pending(); !st) return fail(st);
  if (Status st = db_.exec("COMMIT", "commit the log"); !st) return fail(st);
  in_transaction_ = false;
  if (wal_frames_ >= kInlineCheckpointFrames) {
    // The background checkpointer cannot keep up: catch up here, as SQLite itself would.
    int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                       nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) return fail(db_.error("checkpoint", rc));
    wal_frames_ = 0;
  }
  return Status::ok();
}

Status TxnStore::roll() {
  if (!health_) return health_;
  in_segment_ = false;
  return Status::ok();
}

Result<std::unique_ptr<sdk::TxnIterator>> TxnStore::read(sdk::Zxid from) {
  auto db = Db::open(path_, "FULL");
  if (!db) return db.status();
  auto stmt = Stmt::prepare(*db, "SELECT zxid, checksum, entry FROM txn WHERE zxid >= ?1 "
                                 "ORDER BY zxid", false);
  if (!stmt) return stmt.status();
  stmt->bind(1, from);
  return std::unique_ptr<sdk::TxnIterator>(
      std::make_unique<SqliteTxnIterator>(std::move(*db), std::move(*stmt)));
}

Status TxnStore::truncate(sdk::Zxid last_kept) {
  if (Status st = commit(); !st) return st;
  {
    auto tx = Transaction::begin(db_, true, "truncate the log");
    if (!tx) return fail(tx.status());
    for (const char* sql : {"DELETE FROM txn WHERE zxid > ?1", "DELETE FROM segment WHERE first_zxid > ?1"}) {
      auto st = Stmt::prepare(db_, sql, false);
      if (!st) return fail(st.status());
      st->bind(1, last_kept);
      if (Status s = run(db_, *st, "truncate the log"); !s) return fail(s);
    }
    if (Status st = tx->commit("truncate the log"); !st) return fail(st);
  }
  auto last = query_int(db_, "SELECT max(zxid) FROM txn", 0, false);
  if (!last) return last.status();
  last_zxid_.store(*last < 0 ? 0 : *last);
  in_segment_ = false;
  return Status::ok();
}

Status TxnStore::purge_before_segment_of(sdk::Zxid zxid) {
  std::lock_guard lk(aux_mu_);
  auto start = query_int(aux_db_, "SELECT max(first_zxid) FROM segment WHERE first_zxid <= ?1",
                         zxid, true);
  if (!start) return start.status();
  if (*start < 0) return Status::ok();  // no segment starts that early: every one is needed
  // In chunks, so the sync thread's commits can go between them.
  auto del = Stmt::prepare(aux_db_,
                           "DELETE FROM txn WHERE zxid IN "
                           "(SELECT zxid FROM txn WHERE zxid < ?1 ORDER BY zxid LIMIT ?2)",
                           false);
  if (!del) return del.status();
  while (true) {
    del->bind(1, *start);
    del->bind(2, kPurgeChunkRows);
    if (Status st = run(aux_db_, *del, "purge the log"); !st) return st;
    if (sqlite3_changes(aux_db_.get()) < kPurgeChunkRows) break;
  }
  auto segs = Stmt::prepare(aux_db_, "DELETE FROM segment WHERE first_zxid < ?1", false);
  if (!segs) return segs.status();
  segs->bind(1, *start);
  if (Status st = run(aux_db_, *segs, "purge log segments"); !st) return st;
  if (host_ != nullptr) {
    host_->log(sdk::LogLevel::kInfo,
               path_ + ": purged the transactions before zxid 0x" + zxid_hex(*start));
  }
  return Status::ok();
}

Result<std::optional<int64_t>> TxnStore::read_epoch(const char* name) {
  std::lock_guard lk(aux_mu_);
  auto st = Stmt::prepare(aux_db_, "SELECT value FROM epoch WHERE name = ?1", false);
  if (!st) return st.status();
  st->bind_text(1, name);
  int rc = st->step();
  if (rc == SQLITE_DONE) return std::optional<int64_t>{};
  if (rc != SQLITE_ROW) return aux_db_.error(std::string("read ") + name, rc);
  return std::optional<int64_t>(st->int64(0));
}

Status TxnStore::write_epoch(const char* name, int64_t value) {
  std::lock_guard lk(aux_mu_);
  auto st = Stmt::prepare(aux_db_, "INSERT OR REPLACE INTO epoch (name, value) VALUES (?1, ?2)",
                          false);
  if (!st) return st.status();
  st->bind_text(1, name);
  st->bind(2, value);
  return run(aux_db_, *st, std::string("write ") + name);
}

}  // namespace paddock::storage_sqlite

#include "snapshot_store.hpp"

#include "paddock/sdk/jute.hpp"
#include "schema.hpp"

namespace paddock::storage_sqlite {
namespace {

namespace jute = sdk::jute;

// The checksum of a snapshot: Adler-32 over its content in a fixed encoding (jute's, as in
// ZooKeeper's snapshot files), fed record by record by the writer and the loader alike.
class ContentChecksum {
 public:
  void session(const sdk::SessionRecord& s) {
    scratch_.clear();
    out_.write_long(s.id);
    out_.write_int(s.timeout_ms);
    feed(scratch_);
  }
  void acl(int64_t ref, std::string_view acls_jute) {
    scratch_.clear();
    out_.write_long(ref);
    feed(scratch_);
    feed(acls_jute);
  }
  void node(const sdk::NodeRecord& n) {
    scratch_.clear();
    out_.write_string(n.path);
    out_.write_int(n.data_null ? -1 : static_cast<int32_t>(n.data.size()));
    feed(scratch_);
    feed(n.data);
    scratch_.clear();
    out_.write_long(n.acl_ref);
    jute::write_stat_persisted(out_, n.stat);
    feed(scratch_);
  }
  void digest(const std::optional<sdk::SnapshotDigest>& d) {
    scratch_.clear();
    out_.write_bool(d.has_value());
    if (d) {
      out_.write_long(d->zxid);
      out_.write_int(d->version);
      out_.write_long(d->tree_digest);
    }
    feed(scratch_);
  }
  uint32_t value() const { return adler_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void feed(std::string_view b) {
    adler_ = adler32_update(adler_, b);
    bytes_ += b.size();
  }
  std::string scratch_;
  jute::Writer out_{scratch_};
  uint32_t adler_ = adler32_initial();
  uint64_t bytes_ = 0;
};

class SqliteSnapshotWriter final : public sdk::SnapshotWriter {
 public:
  SqliteSnapshotWriter(Db db, sdk::Zxid zxid) : db_(std::move(db)), zxid_(zxid) {}

  ~SqliteSnapshotWriter() override {
    ins_session_ = Stmt();
    ins_acl_ = Stmt();
    ins_node_ = Stmt();
    if (in_transaction_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Status start() {
    if (Status st = db_.exec("BEGIN IMMEDIATE", "begin a snapshot transaction"); !st) return st;
    in_transaction_ = true;
    auto id = Stmt::prepare(db_, "SELECT coalesce(max(id), 0) + 1 FROM snapshot", false);
    if (!id) return id.status();
    if (int rc = id->step(); rc != SQLITE_ROW) return db_.error("choose a snapshot id", rc);
    id_ = id->int64(0);
    auto s = Stmt::prepare(db_, "INSERT INTO snapshot_session (key, session_id, timeout_ms) "
                                "VALUES (?1, ?2, ?3)");
    if (!s) return s.status();
    ins_session_ = std::move(*s);
    auto a = Stmt::prepare(db_, "INSERT INTO snapshot_acl (key, ref, acls) VALUES (?1, ?2, ?3)");
    if (!a) return a.status();
    ins_acl_ = std::move(*a);
    auto n = Stmt::prepare(db_,
                           "INSERT INTO snapshot_node (key, path, data, acl_ref, czxid, mzxid, "
                           "ctime, mtime, version, cversion, aversion, ephemeral_owner, pzxid) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!n) return n.status();
    ins_node_ = std::move(*n);
    return Status::ok();
  }

  Status write_sessions(const std::vector<sdk::SessionRecord>& sessions) override {
    if (Status st = enter(Stage::kSessions, "write_sessions"); !st) return st;
    int64_t key = first_key(id_);
    for (const auto& s : sessions) {
      ins_session_.bind(1, key++);
      ins_session_.bind(2, s.id);
      ins_session_.bind(3, s.timeout_ms);
      if (Status st = run(db_, ins_session_, "write a snapshot session"); !st) return failed(st);
      sum_.session(s);
    }
    stage_ = Stage::kAcls;
    return Status::ok();
  }

  Status write_acls(const std::vector<sdk::AclRecord>& acls) override {
    if (Status st = enter(Stage::kAcls, "write_acls"); !st) return st;
    int64_t key = first_key(id_);
    std::string encoded;
    for (const auto& a : acls) {
      encoded.clear();
      jute::Writer w(encoded);
      jute::write_acl_list(w, a.acls);
      ins_acl_.bind(1, key++);
      ins_acl_.bind(2, a.ref);
      ins_acl_.bind_blob(3, encoded);
      if (Status st = run(db_, ins_acl_, "write a snapshot ACL"); !st) return failed(st);
      sum_.acl(a.ref, encoded);
    }
    stage_ = Stage::kNodes;
    next_node_key_ = first_key(id_);
    return Status::ok();
  }

  Status write_node(const sdk::NodeRecord& node) override {
    if (Status st = enter(Stage::kNodes, "write_node"); !st) return st;
    if (node.path == "/" || (!node.path.empty() && node.path.front() != '/') ||
        node.data.size() > INT32_MAX) {
      return Status(sdk::ErrorCode::kBadArguments,
                    db_.path() + ": snapshot " + snapshot_name(zxid_) +
                        ": write_node: expected a path \"\" or \"/...\" (not \"/\") and data "
                        "under 2 GiB, found path \"" + std::string(node.path) + "\" with " +
                        std::to_string(node.data.size()) + " bytes");
    }
    if (next_node_key_ > last_key(id_)) {
      return failed(Status::error(db_.path() + ": snapshot " + snapshot_name(zxid_) +
                                  ": expected at most 2^32 nodes, found more"));
    }
    const sdk::StatPersisted& s = node.stat;
    ins_node_.bind(1, next_node_key_++);
    ins_node_.bind_text(2, node.path);
    if (node.data_null) ins_node_.bind_null(3); else ins_node_.bind_blob(3, node.data);
    ins_node_.bind(4, node.acl_ref);
    ins_node_.bind(5, s.czxid);
    ins_node_.bind(6, s.mzxid);
    ins_node_.bind(7, s.ctime);
    ins_node_.bind(8, s.mtime);
    ins_node_.bind(9, s.version);
    ins_node_.bind(10, s.cversion);
    ins_node_.bind(11, s.aversion);
    ins_node_.bind(12, s.ephemeral_owner);
    ins_node_.bind(13, s.pzxid);
    if (Status st = run(db_, ins_node_, "write a snapshot node"); !st) return failed(st);
    sum_.node(node);
    return Status::ok();
  }

  // Always committed with synchronous=FULL: one fsync of the -wal file per snapshot, so the
  // snapshot is durable whether or not `fsync` asks for it.
  Status finish(const std::optional<sdk::SnapshotDigest>& digest, bool /*fsync*/) override {
    if (Status st = enter(Stage::kNodes, "finish"); !st) return st;
    sum_.digest(digest);
    // A snapshot of the same zxid is replaced, as storage-file's rename replaces the file.
    if (Status st = delete_snapshots(db_, "zxid = ?1", zxid_, nullptr); !st) return failed(st);
    auto ins = Stmt::prepare(db_,
                             "INSERT INTO snapshot (id, zxid, size_bytes, checksum, digest_zxid, "
                             "digest_version, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                             false);
    if (!ins) return failed(ins.status());
    ins->bind(1, id_);
    ins->bind(2, zxid_);
    ins->bind(3, static_cast<int64_t>(sum_.bytes()));
    ins->bind(4, sum_.value());
    if (digest) {
      ins->bind(5, digest->zxid);
      ins->bind(6, digest->version);
      ins->bind(7, digest->tree_digest);
    }
    if (Status st = run(db_, *ins, "record the snapshot"); !st) return failed(st);
    ins = Stmt();
    ins_session_ = Stmt();
    ins_acl_ = Stmt();
    ins_node_ = Stmt();
    if (Status st = db_.exec("COMMIT", "commit snapshot " + snapshot_name(zxid_)); !st) {
      return failed(st);
    }
    in_transaction_ = false;
    stage_ = Stage::kFinished;
    return Status::ok();
  }

  // Deletes the snapshots matching `where` (one parameter ?1 = `value`) and their rows, in the
  // caller's transaction. Names of the deleted ones go to `deleted` when given.
  static Status delete_snapshots(Db& db, const char* where, int64_t value,
                                 std::vector<std::string>* deleted) {
    auto sel = Stmt::prepare(db, std::string("SELECT id, zxid FROM snapshot WHERE ") + where,
                             false);
    if (!sel) return sel.status();
    sel->bind(1, value);
    std::vector<std::pair<int64_t, sdk::Zxid>> ids;
    int rc;
    while ((rc = sel->step()) == SQLITE_ROW) ids.emplace_back(sel->int64(0), sel->int64(1));
    if (rc != SQLITE_DONE) return db.error("list snapshots to delete", rc);
    sel = Stmt();
    for (const char* sql : {"DELETE FROM snapshot_session WHERE key BETWEEN ?1 AND ?2",
                            "DELETE FROM snapshot_acl WHERE key BETWEEN ?1 AND ?2",
                            "DELETE FROM snapshot_node WHERE key BETWEEN ?1 AND ?2",
                            "DELETE FROM snapshot WHERE id = ?3"}) {
      auto del = Stmt::prepare(db, sql, false);
      if (!del) return del.status();
      for (const auto& [id, zxid] : ids) {
        del->bind(1, first_key(id));
        del->bind(2, last_key(id));
        del->bind(3, id);
        if (Status st = run(db, *del, "delete snapshot " + snapshot_name(zxid)); !st) return st;
      }
    }
    if (deleted != nullptr) {
      for (const auto& [id, zxid] : ids) deleted->push_back(snapshot_name(zxid));
    }
    return Status::ok();
  }

 private:
  enum class Stage { kSessions, kAcls, kNodes, kFinished, kFailed };

  Status enter(Stage expected, const char* call) {
    if (!health_) return health_;
    if (stage_ == expected) return Status::ok();
    static constexpr const char* kNext[] = {"write_sessions", "write_acls", "write_node or finish",
                                            "nothing (finished)", "nothing (failed)"};
    return Status(sdk::ErrorCode::kApiError,
                  db_.path() + ": snapshot " + snapshot_name(zxid_) +
                      ": snapshot writer: expected a call of " + kNext[static_cast<int>(stage_)] +
                      ", found " + call);
  }

  Status failed(Status st) {
    stage_ = Stage::kFailed;
    if (in_transaction_) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      in_transaction_ = false;
    }
    return health_ = st;
  }

  Db db_;
  sdk::Zxid zxid_;
  int64_t id_ = 0;
  Stmt ins_session_;
  Stmt ins_acl_;
  Stmt ins_node_;
  int64_t next_node_key_ = 0;
  bool in_transaction_ = false;
  ContentChecksum sum_;
  Stage stage_ = Stage::kSessions;
  Status health_;
};

}  // namespace

Status SnapshotStore::open(const std::string& path) {
  path_ = path;
  auto db = Db::open(path, "FULL");
  if (!db) return db.status();
  db_ = std::move(*db);
  auto tx = Transaction::begin(db_, true, "create the snapshot schema");
  if (!tx) return tx.status();
  if (Status st = db_.exec(kSnapshotSchema, "create the snapshot schema"); !st) return st;
  return tx->commit("create the snapshot schema");
}

Result<std::unique_ptr<sdk::SnapshotWriter>> SnapshotStore::begin(sdk::Zxid zxid) {
  auto db = Db::open(path_, "FULL");
  if (!db) return db.status();
  auto writer = std::make_unique<SqliteSnapshotWriter>(std::move(*db), zxid);
  if (Status st = writer->start(); !st) return st;
  return std::unique_ptr<sdk::SnapshotWriter>(std::move(writer));
}

Result<std::vector<sdk::SnapshotInfo>> SnapshotStore::list() {
  std::lock_guard lk(mu_);
  auto sel = Stmt::prepare(db_, "SELECT zxid, size_bytes FROM snapshot ORDER BY zxid DESC, id DESC",
                           false);
  if (!sel) return sel.status();
  std::vector<sdk::SnapshotInfo> out;
  int rc;
  while ((rc = sel->step()) == SQLITE_ROW) {
    const sdk::Zxid zxid = sel->int64(0);
    out.push_back(sdk::SnapshotInfo{zxid, snapshot_name(zxid), static_cast<uint64_t>(sel->int64(1))});
  }
  if (rc != SQLITE_DONE) return db_.error("list snapshots", rc);
  return out;
}

Status SnapshotStore::load(const sdk::SnapshotInfo& snapshot, sdk::SnapshotSink& sink) {
  sdk::Zxid zxid = 0;
  if (!parse_snapshot_name(snapshot.name, zxid)) {
    return format_error(path_, "load_snapshot", "a name snapshot.<hex zxid>",
                        "\"" + snapshot.name + "\"");
  }
  const std::string where = path_ + ": " + snapshot.name;
  std::lock_guard lk(mu_);
  auto tx = Transaction::begin(db_, false, "read " + snapshot.name);  // one consistent view
  if (!tx) return tx.status();

  auto head = Stmt::prepare(db_,
                            "SELECT id, checksum, digest_zxid, digest_version, digest "
                            "FROM snapshot WHERE zxid = ?1 ORDER BY id DESC LIMIT 1",
                            false);
  if (!head) return head.status();
  head->bind(1, zxid);
  int rc = head->step();
  if (rc == SQLITE_DONE) {
    return format_error(path_, "load_snapshot", "a snapshot " + snapshot.name, "none");
  }
  if (rc != SQLITE_ROW) return db_.error("read " + snapshot.name, rc);
  const int64_t id = head->int64(0);
  const auto stored = static_cast<uint32_t>(head->int64(1));
  std::optional<sdk::SnapshotDigest> digest;
  if (!head->is_null(2)) {
    digest = sdk::SnapshotDigest{head->int64(2), static_cast<int32_t>(head->int64(3)),
                                 head->int64(4)};
  }
  head = Stmt();

  ContentChecksum sum;
  auto range = [&](const char* sql) -> Result<Stmt> {
    auto s = Stmt::prepare(db_, sql, false);
    if (!s) return s.status();
    s->bind(1, first_key(id));
    s->bind(2, last_key(id));
    return s;
  };

  auto sessions = range("SELECT session_id, timeout_ms FROM snapshot_session "
                        "WHERE key BETWEEN ?1 AND ?2 ORDER BY key");
  if (!sessions) return sessions.status();
  while ((rc = sessions->step()) == SQLITE_ROW) {
    sdk::SessionRecord s{sessions->int64(0), static_cast<int32_t>(sessions->int64(1))};
    sum.session(s);
    if (Status st = sink.on_session(s); !st) return st;
  }
  if (rc != SQLITE_DONE) return db_.error("read the sessions of " + snapshot.name, rc);

  auto acls = range("SELECT ref, acls FROM snapshot_acl WHERE key BETWEEN ?1 AND ?2 ORDER BY key");
  if (!acls) return acls.status();
  while ((rc = acls->step()) == SQLITE_ROW) {
    sdk::AclRecord a;
    a.ref = acls->int64(0);
    std::string_view encoded = acls->bytes(1);
    jute::Reader r(encoded);
    a.acls = jute::read_acl_list(r);
    if (!r.ok() || !r.at_end()) {
      return format_error(where, "ACL list " + std::to_string(a.ref), "a jute vector<ACL>",
                          std::to_string(encoded.size()) + " bytes that do not decode");
    }
    sum.acl(a.ref, encoded);
    if (Status st = sink.on_acl(a); !st) return st;
  }
  if (rc != SQLITE_DONE) return db_.error("read the ACLs of " + snapshot.name, rc);

  auto nodes = range("SELECT path, data, acl_ref, czxid, mzxid, ctime, mtime, version, cversion, "
                     "aversion, ephemeral_owner, pzxid FROM snapshot_node "
                     "WHERE key BETWEEN ?1 AND ?2 ORDER BY key");
  if (!nodes) return nodes.status();
  sdk::NodeRecord n;
  while ((rc = nodes->step()) == SQLITE_ROW) {
    n.path = nodes->bytes(0);
    n.data_null = nodes->is_null(1);
    n.data = nodes->bytes(1);
    n.acl_ref = nodes->int64(2);
    n.stat.czxid = nodes->int64(3);
    n.stat.mzxid = nodes->int64(4);
    n.stat.ctime = nodes->int64(5);
    n.stat.mtime = nodes->int64(6);
    n.stat.version = static_cast<int32_t>(nodes->int64(7));
    n.stat.cversion = static_cast<int32_t>(nodes->int64(8));
    n.stat.aversion = static_cast<int32_t>(nodes->int64(9));
    n.stat.ephemeral_owner = nodes->int64(10);
    n.stat.pzxid = nodes->int64(11);
    sum.node(n);
    if (Status st = sink.on_node(n); !st) return st;
  }
  if (rc != SQLITE_DONE) return db_.error("read the nodes of " + snapshot.name, rc);

  sum.digest(digest);
  if (sum.value() != stored) {
    return format_error(where, "content checksum", "Adler-32 " + std::to_string(stored) + " (stored)",
                        std::to_string(sum.value()) + " (computed over the rows)");
  }
  if (digest) {
    if (Status st = sink.on_digest(*digest); !st) return st;
  }
  return Status::ok();
}

Status SnapshotStore::delete_before(sdk::Zxid zxid) {
  std::lock_guard lk(mu_);
  auto tx = Transaction::begin(db_, true, "purge snapshots");
  if (!tx) return tx.status();
  std::vector<std::string> deleted;
  if (Status st = SqliteSnapshotWriter::delete_snapshots(db_, "zxid < ?1", zxid, &deleted); !st) {
    return st;
  }
  if (Status st = tx->commit("purge snapshots"); !st) return st;
  if (host_ != nullptr) {
    for (const auto& name : deleted) host_->log(sdk::LogLevel::kInfo, "purged " + path_ + ": " + name);
  }
  return Status::ok();
}

Status SnapshotStore::delete_after(sdk::Zxid zxid) {
  std::lock_guard lk(mu_);
  auto tx = Transaction::begin(db_, true, "drop snapshots after a truncation");
  if (!tx) return tx.status();
  std::vector<std::string> deleted;
  if (Status st = SqliteSnapshotWriter::delete_snapshots(db_, "zxid > ?1", zxid, &deleted); !st) {
    return st;
  }
  if (Status st = tx->commit("drop snapshots after a truncation"); !st) return st;
  if (host_ != nullptr) {
    for (const auto& name : deleted) {
      host_->log(sdk::LogLevel::kInfo, "removed " + path_ + ": " + name + ", newer than the truncated log");
    }
  }
  return Status::ok();
}

}  // namespace paddock::storage_sqlite

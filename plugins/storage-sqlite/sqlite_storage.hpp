// The "sqlite" storage plugin: the transaction log, snapshots and epoch records in two SQLite
// databases in WAL mode (schema.hpp names them; txn_store.hpp and snapshot_store.hpp say how
// each is written and why it is durable).
#pragma once

#include <memory>
#include <string>

#include "paddock/sdk/storage.hpp"
#include "snapshot_store.hpp"
#include "txn_store.hpp"

namespace paddock::storage_sqlite {

class SqliteStorage final : public sdk::Storage {
 public:
  SqliteStorage() = default;
  ~SqliteStorage() override;

  Status configure(const sdk::PluginConfig& config, sdk::Host& host) override;
  Status open(const sdk::StorageOptions& options) override;

  Status append(sdk::Zxid zxid, std::string_view txn_entry) override;
  Status commit() override;
  Status roll() override;
  Result<std::unique_ptr<sdk::TxnIterator>> read_log(sdk::Zxid from) override;
  Status truncate_log(sdk::Zxid last_kept) override;
  Result<sdk::Zxid> last_logged_zxid() override;

  Result<std::unique_ptr<sdk::SnapshotWriter>> begin_snapshot(sdk::Zxid zxid) override;
  Result<std::vector<sdk::SnapshotInfo>> list_snapshots() override;
  Status load_snapshot(const sdk::SnapshotInfo& snapshot, sdk::SnapshotSink& sink) override;

  Result<std::optional<int64_t>> read_epoch(sdk::EpochKind kind) override;
  Status write_epoch(sdk::EpochKind kind, int64_t epoch) override;

  Status purge(int retain) override;

 private:
  Status refuse_zookeeper_files(const std::string& dir) const;

  sdk::Host* host_ = nullptr;
  bool open_ = false;
  std::unique_ptr<TxnStore> log_;
  std::unique_ptr<SnapshotStore> snapshots_;
};

}  // namespace paddock::storage_sqlite

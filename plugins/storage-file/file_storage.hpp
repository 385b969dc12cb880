// The "file" storage plugin: ZooKeeper 3.8's own dataDir / dataLogDir formats, byte for byte,
// so a Paddock server and an Apache ZooKeeper server can start from each other's data.
// Layout and names: file_names.hpp; the log: txn_log.hpp; snapshots: snapshot_file.hpp.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "paddock/sdk/storage.hpp"
#include "txn_log.hpp"

namespace paddock::storage_file {

class FileStorage final : public sdk::Storage {
 public:
  FileStorage() = default;
  ~FileStorage() override;

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
  Status check_open() const;
  Status check_layout() const;
  Status rescan_last_zxid();
  void log(sdk::LogLevel level, const std::string& message) const;

  sdk::Host* host_ = nullptr;
  bool open_ = false;
  std::string snap_dir_;  // <dataDir>/version-2: snapshots and epochs
  std::string log_dir_;   // <dataLogDir>/version-2: transaction logs
  std::unique_ptr<TxnLogWriter> writer_;
  // Highest appended zxid; read from any thread, written by the sync / recovery thread.
  std::atomic<sdk::Zxid> last_zxid_{0};
  Status last_zxid_status_;  // a corrupt log found by open() or truncate_log()
};

}  // namespace paddock::storage_file

// Snapshots in paddock-snapshots.sqlite (schema.hpp).
//
// A SnapshotWriter has its own connection and writes the whole snapshot in one transaction
// (BEGIN IMMEDIATE at begin_snapshot, COMMIT at finish), so an unfinished snapshot is
// invisible and a crash leaves nothing of it; the log is another database file, so appends
// and group commits go on meanwhile. Every snapshot carries an Adler-32 of its content,
// verified by load_snapshot() before the digest reaches the sink.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/storage.hpp"
#include "sqlite_db.hpp"

namespace paddock::storage_sqlite {

class SnapshotStore {
 public:
  explicit SnapshotStore(sdk::Host* host) : host_(host) {}

  Status open(const std::string& path);

  Result<std::unique_ptr<sdk::SnapshotWriter>> begin(sdk::Zxid zxid);
  // Newest first.
  Result<std::vector<sdk::SnapshotInfo>> list();
  Status load(const sdk::SnapshotInfo& snapshot, sdk::SnapshotSink& sink);
  // Deletes every snapshot named after a zxid below `zxid`.
  Status delete_before(sdk::Zxid zxid);
  // Deletes the snapshots named after a zxid > `zxid` (after the log was truncated there).
  Status delete_after(sdk::Zxid zxid);

 private:
  sdk::Host* host_;
  std::string path_;
  std::mutex mu_;  // db_: list, load, delete (any one thread at a time)
  Db db_;
};

}  // namespace paddock::storage_sqlite

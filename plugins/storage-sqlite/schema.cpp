#include "schema.hpp"

#include <cstdio>

namespace paddock::storage_sqlite {

const char* const kLogSchema =
    "CREATE TABLE IF NOT EXISTS txn ("
    " zxid INTEGER PRIMARY KEY, checksum INTEGER NOT NULL, entry BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS segment (first_zxid INTEGER PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS epoch (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

const char* const kSnapshotSchema =
    "CREATE TABLE IF NOT EXISTS snapshot ("
    " id INTEGER PRIMARY KEY, zxid INTEGER NOT NULL, size_bytes INTEGER NOT NULL,"
    " checksum INTEGER NOT NULL, digest_zxid INTEGER, digest_version INTEGER, digest INTEGER);"
    "CREATE INDEX IF NOT EXISTS snapshot_by_zxid ON snapshot (zxid);"
    "CREATE TABLE IF NOT EXISTS snapshot_session ("
    " key INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, timeout_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS snapshot_acl ("
    " key INTEGER PRIMARY KEY, ref INTEGER NOT NULL, acls BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS snapshot_node ("
    " key INTEGER PRIMARY KEY, path TEXT NOT NULL, data BLOB, acl_ref INTEGER NOT NULL,"
    " czxid INTEGER NOT NULL, mzxid INTEGER NOT NULL, ctime INTEGER NOT NULL,"
    " mtime INTEGER NOT NULL, version INTEGER NOT NULL, cversion INTEGER NOT NULL,"
    " aversion INTEGER NOT NULL, ephemeral_owner INTEGER NOT NULL, pzxid INTEGER NOT NULL);"
    "CREATE VIEW IF NOT EXISTS snapshot_node_v AS"
    " SELECT key >> 32 AS snapshot, key & 4294967295 AS position, * FROM snapshot_node;";

std::string zxid_hex(sdk::Zxid zxid) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(zxid));
  return buf;
}

std::string snapshot_name(sdk::Zxid zxid) { return "snapshot." + zxid_hex(zxid); }

bool parse_snapshot_name(std::string_view name, sdk::Zxid& zxid) {
  constexpr std::string_view kPrefix = "snapshot.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view hex = name.substr(kPrefix.size());
  if (hex.empty() || hex.size() > 16) return false;
  uint64_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  zxid = static_cast<sdk::Zxid>(v);
  return true;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace paddock::storage_sqlite

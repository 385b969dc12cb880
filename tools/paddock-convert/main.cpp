// paddock-convert: converts a Paddock / ZooKeeper data directory between storage plugins
// through the SDK Storage interface only: the newest valid snapshot (sessions, ACL lists,
// nodes, digest), every logged transaction after it, and the epoch records. The destination
// must be empty; the source is only read (its plugin's open() may create what is missing, so
// it must exist already). Every failure is one line on stderr and exit code 2.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/storage.hpp"
#include "plugin/loader.hpp"

namespace {

namespace fs = std::filesystem;
namespace sdk = paddock::sdk;
using paddock::plugin::Loaded;
using sdk::Status;

constexpr size_t kCommitEvery = 1000;  // txns per group commit on the destination
constexpr int kSnapshotsTried = 100;   // as the server's restore

void usage(FILE* out) {
  std::fprintf(out,
               "usage: paddock-convert --from <plugin> --to <plugin> --data-dir <dir>\n"
               "                       [--data-log-dir <dir>] --out-data-dir <dir>\n"
               "                       [--out-data-log-dir <dir>] [--plugin-dir <dir>]\n"
               "  Copies the newest valid snapshot, the transaction log after it and the epoch\n"
               "  records from one storage plugin's data (e.g. file) into an empty directory in\n"
               "  another's format (e.g. sqlite). Stop the server first.\n");
}

struct Args {
  std::string from, to, data_dir, data_log_dir, out_data_dir, out_data_log_dir, plugin_dir;
};

std::optional<std::string> parse(int argc, char** argv, Args& a) {
  struct Opt {
    const char* name;
    std::string* value;
  } opts[] = {{"--from", &a.from},
              {"--to", &a.to},
              {"--data-dir", &a.data_dir},
              {"--data-log-dir", &a.data_log_dir},
              {"--out-data-dir", &a.out_data_dir},
              {"--out-data-log-dir", &a.out_data_log_dir},
              {"--plugin-dir", &a.plugin_dir}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    Opt* found = nullptr;
    for (auto& o : opts) {
      if (arg == o.name) found = &o;
    }
    if (found == nullptr) return "unknown option '" + arg + "' (see --help)";
    if (!has_value) {
      if (i + 1 >= argc) return "option " + arg + ": expected a value, found none";
      value = argv[++i];
    }
    if (value.empty()) return "option " + arg + ": expected a value, found an empty one";
    *found->value = value;
  }
  for (const auto& [name, v] : {std::pair{"--from", &a.from}, {"--to", &a.to},
                                {"--data-dir", &a.data_dir}, {"--out-data-dir", &a.out_data_dir}}) {
    if (v->empty()) return std::string("option ") + name + " is required (see --help)";
  }
  return std::nullopt;
}

class StderrHost final : public sdk::Host {
 public:
  explicit StderrHost(std::string name) : name_(std::move(name)) {}
  void log(sdk::LogLevel level, std::string_view message) override {
    if (level < sdk::LogLevel::kWarn) return;
    std::fprintf(stderr, "paddock-convert: [%s] %.*s\n", name_.c_str(),
                 static_cast<int>(message.size()), message.data());
  }

 private:
  std::string name_;
};

// The plugin's declared defaults; the converter passes no other keys.
class DefaultsConfig final : public sdk::PluginConfig {
 public:
  explicit DefaultsConfig(const sdk::PluginDescriptor& d) : desc_(d) {}
  std::optional<std::string_view> get(std::string_view key) const override {
    for (uint32_t i = 0; i < desc_.config_key_count; ++i) {
      const auto& k = desc_.config_keys[i];
      if (key == k.name && k.default_value != nullptr) return std::string_view(k.default_value);
    }
    return std::nullopt;
  }

 private:
  const sdk::PluginDescriptor& desc_;
};

bool is_empty_or_missing(const std::string& dir, std::string& found) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) {
    found = "a file that is not a directory";
    return false;
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    found = "'" + e.path().filename().string() + "'";
    return false;
  }
  return true;
}

// Streams a snapshot from the source into a destination writer. Sessions and ACL lists are
// collected first (the writer takes them as vectors), nodes go straight through.
class CopySink final : public sdk::SnapshotSink {
 public:
  explicit CopySink(sdk::SnapshotWriter& out) : out_(out) {}
  Status on_session(const sdk::SessionRecord& s) override {
    sessions_.push_back(s);
    return Status::ok();
  }
  Status on_acl(const sdk::AclRecord& a) override {
    acls_.push_back(a);
    return Status::ok();
  }
  Status on_node(const sdk::NodeRecord& n) override {
    if (Status st = flush_head(); !st) return st;
    ++nodes;
    return out_.write_node(n);
  }
  Status on_digest(const sdk::SnapshotDigest& d) override {
    digest = d;
    return Status::ok();
  }
  Status flush_head() {
    if (head_written_) return Status::ok();
    head_written_ = true;
    if (Status st = out_.write_sessions(sessions_); !st) return st;
    return out_.write_acls(acls_);
  }
  size_t session_count() const { return sessions_.size(); }

  size_t nodes = 0;
  std::optional<sdk::SnapshotDigest> digest;

 private:
  sdk::SnapshotWriter& out_;
  std::vector<sdk::SessionRecord> sessions_;
  std::vector<sdk::AclRecord> acls_;
  bool head_written_ = false;
};

struct Opened {
  Loaded<sdk::Storage> storage;
  std::unique_ptr<StderrHost> host;
  std::unique_ptr<DefaultsConfig> config;
};

Status open_storage(paddock::plugin::Loader& loader, const std::string& name,
                    const std::string& data_dir, const std::string& data_log_dir, Opened& out) {
  auto lib = loader.inspect(sdk::PluginKind::kStorage, name);
  if (!lib) return lib.status();
  auto storage = loader.create<sdk::Storage>(lib.value());
  if (!storage) return storage.status();
  out.storage = std::move(storage.value());
  out.host = std::make_unique<StderrHost>(name);
  out.config = std::make_unique<DefaultsConfig>(out.storage.descriptor());
  if (Status st = out.storage->configure(*out.config, *out.host); !st) {
    return Status::error("storage " + name + ": configuration failed: " + st.message());
  }
  sdk::StorageOptions options;
  options.data_dir = data_dir;
  options.data_log_dir = data_log_dir.empty() ? data_dir : data_log_dir;
  if (Status st = out.storage->open(options); !st) {
    return Status::error("storage " + name + " on " + data_dir + ": " + st.message());
  }
  return Status::ok();
}

std::string hex(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "paddock-convert: %s\n", message.c_str());
  return 2;
}

int convert(const Args& a) {
  std::error_code ec;
  if (!fs::is_directory(a.data_dir, ec)) {
    return fail("--data-dir " + a.data_dir + ": expected an existing data directory, found none");
  }
  if (!a.data_log_dir.empty() && !fs::is_directory(a.data_log_dir, ec)) {
    return fail("--data-log-dir " + a.data_log_dir +
                ": expected an existing directory, found none");
  }
  for (const auto& [opt, dir] : {std::pair{"--out-data-dir", a.out_data_dir},
                                 {"--out-data-log-dir", a.out_data_log_dir}}) {
    std::string found;
    if (!dir.empty() && !is_empty_or_missing(dir, found)) {
      return fail(std::string(opt) + " " + dir + ": expected an empty or new directory, found " +
                  found);
    }
  }

  paddock::plugin::Loader loader(a.plugin_dir.empty() ? paddock::plugin::default_plugin_dir()
                                                      : a.plugin_dir);
  Opened src, dst;
  if (Status st = open_storage(loader, a.from, a.data_dir, a.data_log_dir, src); !st) {
    return fail(st.message());
  }
  if (Status st = open_storage(loader, a.to, a.out_data_dir, a.out_data_log_dir, dst); !st) {
    return fail(st.message());
  }

  // 1. The newest snapshot that loads completely (as the server's restore picks it).
  auto snaps = src.storage->list_snapshots();
  if (!snaps) return fail("listing snapshots: " + snaps.status().message());
  std::optional<sdk::SnapshotInfo> used;
  size_t nodes = 0, sessions = 0;
  int tried = 0;
  for (const auto& info : snaps.value()) {
    if (++tried > kSnapshotsTried) break;
    auto writer = dst.storage->begin_snapshot(info.zxid);
    if (!writer) return fail("starting snapshot " + info.name + ": " + writer.status().message());
    CopySink sink(*writer.value());
    Status st = src.storage->load_snapshot(info, sink);
    if (st) st = sink.flush_head();
    if (st) st = writer.value()->finish(sink.digest, /*fsync=*/true);
    if (st) {
      used = info;
      nodes = sink.nodes;
      sessions = sink.session_count();
      break;
    }
    // The unfinished destination snapshot is discarded with its writer.
    std::fprintf(stderr, "paddock-convert: snapshot %s not usable (%s); trying an older one\n",
                 info.name.c_str(), st.message().c_str());
  }
  const sdk::Zxid from = used ? used->zxid + 1 : 0;

  // 2. Every logged transaction after it.
  auto it = src.storage->read_log(from);
  if (!it) return fail("reading the log: " + it.status().message());
  size_t txns = 0;
  sdk::Zxid last = 0;
  while (it.value()->next()) {
    if (Status st = dst.storage->append(it.value()->zxid(), it.value()->bytes()); !st) {
      return fail("appending txn " + hex(it.value()->zxid()) + ": " + st.message());
    }
    last = it.value()->zxid();
    if (++txns % kCommitEvery == 0) {
      if (Status st = dst.storage->commit(); !st) return fail("commit: " + st.message());
    }
  }
  if (Status st = it.value()->status(); !st) return fail("reading the log: " + st.message());
  if (Status st = dst.storage->commit(); !st) return fail("commit: " + st.message());
  if (!used && txns > 0) {
    std::fprintf(stderr, "paddock-convert: warning: the source has no valid snapshot; only its "
                         "log was copied (a server refuses to start on that, as ZooKeeper)\n");
  }

  // 3. Epoch records.
  std::string epochs;
  for (auto kind : {sdk::EpochKind::kCurrent, sdk::EpochKind::kAccepted}) {
    const char* name = kind == sdk::EpochKind::kCurrent ? "currentEpoch" : "acceptedEpoch";
    auto epoch = src.storage->read_epoch(kind);
    if (!epoch) return fail(std::string("reading ") + name + ": " + epoch.status().message());
    if (!epoch.value()) continue;
    if (Status st = dst.storage->write_epoch(kind, *epoch.value()); !st) {
      return fail(std::string("writing ") + name + ": " + st.message());
    }
    epochs += std::string(", ") + name + " " + std::to_string(*epoch.value());
  }

  std::printf("converted %s (%s) to %s (%s): %s, %zu nodes, %zu sessions; %zu txns%s%s\n",
              a.data_dir.c_str(), a.from.c_str(), a.out_data_dir.c_str(), a.to.c_str(),
              used ? used->name.c_str() : "no snapshot", nodes, sessions, txns,
              txns > 0 ? (" up to " + hex(last)).c_str() : "", epochs.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
  }
  Args args;
  if (auto err = parse(argc, argv, args)) return fail(*err);
  if (args.from == args.to && args.data_dir == args.out_data_dir) {
    return fail("--data-dir and --out-data-dir: expected two different directories, found one");
  }
  return convert(args);
}

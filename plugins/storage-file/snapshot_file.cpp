#include "snapshot_file.hpp"

#include <fcntl.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "big_endian.hpp"
#include "paddock/sdk/jute.hpp"

namespace paddock::storage_file {
namespace {

constexpr size_t kWriteFlushBytes = 1 << 20;  // the writer's buffer is handed over at ~1 MiB
constexpr size_t kReadChunk = 1 << 20;
// Longest record accepted from a gzip stream, whose length is unknown up front (plain files
// are checked against their size instead). Far above any jute.maxbuffer in use.
constexpr uint64_t kMaxGzipRecord = 1ULL << 30;

uLong adler_init() { return adler32_z(0L, Z_NULL, 0); }

std::string hex64(int64_t v) { return "0x" + zxid_hex(v); }

// ---------------------------------------------------------------------------------------------
// Writer

class SnapshotFileWriter final : public sdk::SnapshotWriter {
 public:
  SnapshotFileWriter(const std::string& dir, sdk::Zxid zxid)
      : dir_(dir),
        temp_path_(join_path(dir, snapshot_temp_name(zxid))),
        final_path_(join_path(dir, snapshot_file_name(zxid))),
        out_(buf_) {}

  ~SnapshotFileWriter() override {
    if (stage_ != Stage::kFinished && fd_.valid()) {
      fd_ = Fd();
      (void)remove_file(temp_path_);
    }
  }

  Status start() {
    auto fd = open_file(temp_path_, O_WRONLY | O_CREAT | O_TRUNC, "create snapshot file");
    if (!fd) return fd.status();
    fd_ = std::move(*fd);
    buf_.reserve(kWriteFlushBytes + (64 << 10));
    out_.write_int(kSnapshotMagic);
    out_.write_int(kSnapshotVersion);
    out_.write_long(kSnapshotDbId);
    return Status::ok();
  }

  Status write_sessions(const std::vector<sdk::SessionRecord>& sessions) override {
    if (Status st = enter(Stage::kSessions, "write_sessions"); !st) return st;
    out_.write_int(static_cast<int32_t>(sessions.size()));
    for (const auto& s : sessions) {
      out_.write_long(s.id);
      out_.write_int(s.timeout_ms);
      if (Status st = maybe_flush(); !st) return st;
    }
    stage_ = Stage::kAcls;
    return Status::ok();
  }

  Status write_acls(const std::vector<sdk::AclRecord>& acls) override {
    if (Status st = enter(Stage::kAcls, "write_acls"); !st) return st;
    out_.write_int(static_cast<int32_t>(acls.size()));
    for (const auto& a : acls) {
      out_.write_long(a.ref);
      sdk::jute::write_acl_list(out_, a.acls);
      if (Status st = maybe_flush(); !st) return st;
    }
    stage_ = Stage::kNodes;
    return Status::ok();
  }

  Status write_node(const sdk::NodeRecord& node) override {
    if (Status st = enter(Stage::kNodes, "write_node"); !st) return st;
    // "/" ends the node list, so it can never be a node's path (the root is "").
    if (node.path == "/" || (!node.path.empty() && node.path.front() != '/') ||
        node.data.size() > INT32_MAX) {
      return Status(sdk::ErrorCode::kBadArguments,
                    final_path_ + ": write_node: expected a path \"\" or \"/...\" (not \"/\") "
                                  "and data under 2 GiB, found path \"" +
                        std::string(node.path) + "\" with " + std::to_string(node.data.size()) +
                        " bytes");
    }
    out_.write_string(node.path);
    if (node.data_null) {
      out_.write_null();
    } else {
      out_.write_buffer(node.data);
    }
    out_.write_long(node.acl_ref);
    sdk::jute::write_stat_persisted(out_, node.stat);
    return maybe_flush();
  }

  Status finish(const std::optional<sdk::SnapshotDigest>& digest, bool fsync) override {
    if (Status st = enter(Stage::kNodes, "finish"); !st) return st;
    out_.write_string("/");
    if (Status st = seal(); !st) return st;
    if (digest) {
      out_.write_long(digest->zxid);
      out_.write_int(digest->version);
      if (digest->version >= 2) {
        out_.write_long(digest->tree_digest);
      } else {
        out_.write_string(zxid_hex(digest->tree_digest));  // the pre-2 hex-text form
      }
      if (Status st = seal(); !st) return st;
    }
    Status st = flush();
    if (st && fsync) st = sync_file(fd_.get(), temp_path_);
    if (st) st = fd_.close(temp_path_);
    if (st) st = rename_file(temp_path_, final_path_);
    if (st && fsync) st = sync_dir(dir_);
    if (!st) {
      fd_ = Fd();
      (void)remove_file(temp_path_);
      stage_ = Stage::kFailed;
      return health_ = st;
    }
    stage_ = Stage::kFinished;
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
                  final_path_ + ": snapshot writer: expected a call of " +
                      kNext[static_cast<int>(stage_)] + ", found " + call);
  }

  Status maybe_flush() { return buf_.size() >= kWriteFlushBytes ? flush() : Status::ok(); }

  Status flush() {
    if (buf_.empty()) return Status::ok();
    adler_ = adler32_z(adler_, reinterpret_cast<const Bytef*>(buf_.data()), buf_.size());
    Status st = write_at(fd_.get(), buf_.data(), buf_.size(), written_, temp_path_);
    if (!st) {
      stage_ = Stage::kFailed;
      return health_ = st;
    }
    written_ += buf_.size();
    buf_.clear();
    return Status::ok();
  }

  // SnapStream#sealStream: the Adler-32 of every byte so far, then the ustring "/".
  Status seal() {
    if (Status st = flush(); !st) return st;
    out_.write_long(static_cast<int64_t>(adler_));
    out_.write_string("/");
    return Status::ok();
  }

  std::string dir_;
  std::string temp_path_;
  std::string final_path_;
  Fd fd_;
  std::string buf_;
  sdk::jute::Writer out_;
  uint64_t written_ = 0;
  uLong adler_ = adler_init();
  Stage stage_ = Stage::kSessions;
  Status health_;
};

// ---------------------------------------------------------------------------------------------
// Reader: a buffered byte stream (plain or gzip) that keeps the Adler-32 of what was consumed.

class SnapshotInput {
 public:
  SnapshotInput() = default;
  SnapshotInput(const SnapshotInput&) = delete;
  SnapshotInput& operator=(const SnapshotInput&) = delete;
  ~SnapshotInput() {
    if (gz_ != nullptr) gzclose(gz_);
  }

  Status open(const std::string& path, Compression compression) {
    path_ = path;
    auto fd = open_file(path, O_RDONLY, "open snapshot file for reading");
    if (!fd) return fd.status();
    auto size = file_size(fd->get(), path);
    if (!size) return size.status();
    if (compression == Compression::kGzip) {
      gz_ = gzdopen(fd->get(), "rb");
      if (gz_ == nullptr) return os_error(path, "start gzip decompression", ENOMEM);
      fd->release();  // gzclose closes it
      gzbuffer(gz_, 128 << 10);
      limit_ = UINT64_MAX;
    } else {
      fd_ = std::move(*fd);
      limit_ = *size;
    }
    buf_.resize(kReadChunk);
    return Status::ok();
  }

  // Makes `n` bytes available at data(); false at end of stream or on error (see status()).
  bool fill(size_t n) {
    size_t have = end_ - begin_;
    if (have >= n) return true;
    if (!status_) return false;
    if (begin_ > 0) {
      account();
      std::memmove(buf_.data(), buf_.data() + begin_, have);
      begin_ = checked_ = 0;
      end_ = have;
    }
    if (buf_.size() < n) buf_.resize(n);
    while (end_ < n) {  // each pass reads something or stops
      size_t got = 0;
      if (!read_some(buf_.data() + end_, buf_.size() - end_, got)) return false;
      if (got == 0) return false;
      end_ += got;
    }
    return true;
  }

  // fill() or a one-line error naming what was being read.
  Status need(uint64_t n, std::string_view what) {
    const uint64_t left = limit_ - std::min(limit_, consumed_);
    const bool gzip = limit_ == UINT64_MAX;
    if ((gzip ? n <= kMaxGzipRecord : n <= left) && fill(static_cast<size_t>(n))) {
      return Status::ok();
    }
    if (!status_) return status_;
    // The message is built only on failure: this is the hot path of a snapshot load.
    const std::string where = std::string(what) + " at offset " + std::to_string(consumed_);
    if (!gzip && n > left) {
      return format_error(path_, where, std::to_string(n) + " bytes",
                          "only " + std::to_string(left) + " left in the file");
    }
    if (gzip && n > kMaxGzipRecord) {
      return format_error(path_, where, "at most " + std::to_string(kMaxGzipRecord) + " bytes",
                          "a length of " + std::to_string(n));
    }
    return format_error(path_, where, std::to_string(n) + " bytes",
                        "end of data after " + std::to_string(end_ - begin_));
  }

  const char* data() const noexcept { return buf_.data() + begin_; }
  void skip(size_t n) noexcept {
    begin_ += n;
    consumed_ += n;
  }
  int32_t take_int() {
    auto v = static_cast<int32_t>(load_be32(data()));
    skip(4);
    return v;
  }
  int64_t take_long() {
    auto v = static_cast<int64_t>(load_be64(data()));
    skip(8);
    return v;
  }
  uint64_t offset() const noexcept { return consumed_; }
  const std::string& path() const noexcept { return path_; }
  const Status& status() const noexcept { return status_; }

  // Adler-32 of every byte consumed so far.
  uint32_t checksum() {
    account();
    return static_cast<uint32_t>(adler_);
  }

 private:
  void account() {
    if (begin_ > checked_) {
      adler_ = adler32_z(adler_, reinterpret_cast<const Bytef*>(buf_.data() + checked_),
                         begin_ - checked_);
      checked_ = begin_;
    }
  }

  bool read_some(char* out, size_t cap, size_t& got) {
    if (gz_ != nullptr) {
      int n = gzread(gz_, out, static_cast<unsigned>(std::min<size_t>(cap, INT32_MAX)));
      if (n < 0) {
        int err = 0;
        const char* text = gzerror(gz_, &err);
        status_ = err == Z_ERRNO ? os_error(path_, "read", errno)
                                 : format_error(path_, "gzip stream", "valid gzip data", text);
        return false;
      }
      got = static_cast<size_t>(n);
      return true;
    }
    auto n = read_at(fd_.get(), out, cap, file_pos_, path_);
    if (!n) {
      status_ = n.status();
      return false;
    }
    got = *n;
    file_pos_ += got;
    return true;
  }

  std::string path_;
  Fd fd_;
  gzFile gz_ = nullptr;
  uint64_t limit_ = 0;      // bytes in the stream, when known
  uint64_t file_pos_ = 0;   // plain files: next read offset
  std::string buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t checked_ = 0;      // buf_[0, checked_) is in adler_
  uint64_t consumed_ = 0;
  uLong adler_ = adler_init();
  Status status_;
};

// A ustring / buffer length read from the stream.
Status take_length(SnapshotInput& in, std::string_view what, bool allow_null, int32_t& len) {
  if (Status st = in.need(4, what); !st) return st;
  len = in.take_int();
  if (len < -1 || (len == -1 && !allow_null)) {
    return format_error(in.path(),
                        std::string(what) + " at offset " + std::to_string(in.offset() - 4),
                        allow_null ? "a length >= -1" : "a length >= 0", std::to_string(len));
  }
  return Status::ok();
}

Status take_string(SnapshotInput& in, std::string_view what, std::string& out) {
  int32_t len = 0;
  if (Status st = take_length(in, what, true, len); !st) return st;
  if (len <= 0) {
    out.clear();
    return Status::ok();
  }
  if (Status st = in.need(static_cast<uint64_t>(len), what); !st) return st;
  out.assign(in.data(), static_cast<size_t>(len));
  in.skip(static_cast<size_t>(len));
  return Status::ok();
}

// SnapStream#checkSealIntegrity: long checksum, ustring "/".
Status check_seal(SnapshotInput& in, const char* which) {
  const uint32_t actual = in.checksum();
  if (Status st = in.need(13, which); !st) return st;
  const uint64_t at = in.offset();
  const int64_t stored = in.take_long();
  const int32_t slash_len = in.take_int();
  const char slash = *in.data();
  in.skip(1);
  if (slash_len != 1 || slash != '/') {
    return format_error(in.path(), std::string(which) + " at offset " + std::to_string(at + 8),
                        "the ustring \"/\"", "another value");
  }
  if (stored != static_cast<int64_t>(actual)) {
    return format_error(in.path(),
                        std::string(which) + " (Adler-32 of the preceding bytes) at offset " +
                            std::to_string(at),
                        "the stored " + hex64(stored), "the data's " + hex32(actual));
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<sdk::SnapshotWriter>> begin_snapshot_file(const std::string& dir,
                                                                 sdk::Zxid zxid) {
  auto writer = std::make_unique<SnapshotFileWriter>(dir, zxid);
  if (Status st = writer->start(); !st) return st;
  return std::unique_ptr<sdk::SnapshotWriter>(std::move(writer));
}

Result<bool> snapshot_looks_valid(const std::string& dir, const SnapshotFile& snap,
                                  uint64_t& size) {
  const std::string path = join_path(dir, snap.name);
  auto fd = open_file(path, O_RDONLY, "open snapshot file");
  if (!fd) return fd.status();
  auto sz = file_size(fd->get(), path);
  if (!sz) return sz.status();
  size = *sz;
  char b[8] = {};
  switch (snap.compression) {
    case Compression::kGzip: {
      auto n = read_at(fd->get(), b, 2, 0, path);
      if (!n) return n.status();
      return *n == 2 && static_cast<uint8_t>(b[0]) == 0x1f && static_cast<uint8_t>(b[1]) == 0x8b;
    }
    case Compression::kSnappy: {
      static constexpr char kMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
      auto n = read_at(fd->get(), b, 8, 0, path);
      if (!n) return n.status();
      return *n == 8 && std::memcmp(b, kMagic, 8) == 0;
    }
    case Compression::kNone:
      break;
  }
  if (size < 10) return false;
  auto n = read_at(fd->get(), b, 5, size - 5, path);
  if (!n) return n.status();
  static constexpr char kTail[5] = {0, 0, 0, 1, '/'};
  return *n == 5 && std::memcmp(b, kTail, 5) == 0;
}

Status load_snapshot_file(const std::string& dir, const SnapshotFile& snap,
                          sdk::SnapshotSink& sink) {
  const std::string path = join_path(dir, snap.name);
  if (snap.compression == Compression::kSnappy) {
    return format_error(path, "snapshot compression", "plain or gzip (.gz)",
                        "snappy, which this plugin cannot read");
  }
  SnapshotInput in;
  if (Status st = in.open(path, snap.compression); !st) return st;

  if (Status st = in.need(16, "file header"); !st) return st;
  const int32_t magic = in.take_int();
  in.skip(12);  // version, dbid: ZooKeeper checks only the magic
  if (magic != kSnapshotMagic) {
    return format_error(path, "snapshot header magic", "0x5a4b534e (ZKSN)",
                        hex32(static_cast<uint32_t>(magic)));
  }

  int32_t count = 0;
  if (Status st = take_length(in, "session count", false, count); !st) return st;
  for (int32_t i = 0; i < count; ++i) {  // bounded: each pass consumes 12 bytes
    if (Status st = in.need(12, "session"); !st) return st;
    sdk::SessionRecord s;
    s.id = in.take_long();
    s.timeout_ms = in.take_int();
    if (Status st = sink.on_session(s); !st) return st;
  }

  if (Status st = take_length(in, "ACL cache size", false, count); !st) return st;
  sdk::AclRecord acl;
  for (int32_t i = 0; i < count; ++i) {
    if (Status st = in.need(8, "ACL cache key"); !st) return st;
    acl.ref = in.take_long();
    int32_t n = 0;
    if (Status st = take_length(in, "ACL list length", false, n); !st) return st;
    acl.acls.clear();
    acl.acls.reserve(static_cast<size_t>(std::min(n, 64)));
    for (int32_t j = 0; j < n; ++j) {
      sdk::Acl a;
      if (Status st = in.need(4, "ACL perms"); !st) return st;
      a.perms = in.take_int();
      if (Status st = take_string(in, "ACL scheme", a.id.scheme); !st) return st;
      if (Status st = take_string(in, "ACL id", a.id.id); !st) return st;
      acl.acls.push_back(std::move(a));
    }
    if (Status st = sink.on_acl(acl); !st) return st;
  }

  // Nodes until the ustring "/". Each record is made contiguous in the buffer first so the
  // NodeRecord can point into it.
  for (;;) {  // bounded: each pass consumes at least 5 bytes of a finite stream
    int32_t path_len = 0;
    if (Status st = in.need(4, "node path length"); !st) return st;
    path_len = static_cast<int32_t>(load_be32(in.data()));
    if (path_len < 0) {
      return format_error(path, "node path length at offset " + std::to_string(in.offset()),
                          "a length >= 0", std::to_string(path_len));
    }
    const uint64_t head = 4 + static_cast<uint64_t>(path_len) + 4;
    if (Status st = in.need(head, "node"); !st) return st;
    const char* p = in.data();
    if (path_len == 1 && p[4] == '/') {
      in.skip(5);
      break;
    }
    const auto data_len = static_cast<int32_t>(load_be32(p + head - 4));
    if (data_len < -1) {
      return format_error(path,
                          "node data length at offset " + std::to_string(in.offset() + head - 4),
                          "a length >= -1", std::to_string(data_len));
    }
    const uint64_t data_size = data_len < 0 ? 0 : static_cast<uint64_t>(data_len);
    const uint64_t total = head + data_size + 8 + 60;
    if (Status st = in.need(total, "node"); !st) return st;
    p = in.data();
    sdk::NodeRecord node;
    node.path = std::string_view(p + 4, static_cast<size_t>(path_len));
    node.data_null = data_len < 0;
    node.data = std::string_view(p + head, static_cast<size_t>(data_size));
    sdk::jute::Reader r(p + head + data_size, 68);
    node.acl_ref = r.read_long();
    node.stat = sdk::jute::read_stat_persisted(r);
    if (Status st = sink.on_node(node); !st) return st;
    in.skip(static_cast<size_t>(total));
  }

  if (Status st = check_seal(in, "seal 1"); !st) return st;

  // Optional digest trailer; a plain end of data means there is none.
  if (!in.fill(1)) {
    return in.status();
  }
  if (Status st = in.need(12, "digest trailer"); !st) return st;
  sdk::SnapshotDigest digest;
  digest.zxid = in.take_long();
  digest.version = in.take_int();
  if (digest.version >= 2) {
    if (Status st = in.need(8, "digest trailer"); !st) return st;
    digest.tree_digest = in.take_long();
  } else {
    std::string text;
    if (Status st = take_string(in, "digest trailer", text); !st) return st;
    uint64_t v = 0;
    for (size_t i = 0; i < text.size() && i < 16; ++i) {
      char c = text[i];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) {
        return format_error(path, "digest trailer", "a hex digest", "\"" + text + "\"");
      }
      v = (v << 4) | static_cast<uint64_t>(d);
    }
    digest.tree_digest = static_cast<int64_t>(v);
  }
  if (Status st = check_seal(in, "seal 2"); !st) return st;
  return sink.on_digest(digest);
}

}  // namespace paddock::storage_file

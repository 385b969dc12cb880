// Jute binary encoding (big-endian, length-prefixed strings and buffers, records as plain
// field sequences). The writer appends to a std::string used as a byte buffer; the reader
// walks a byte view and latches the first failure instead of throwing, so a hot decode
// path checks ok() once at the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::sdk::jute {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void write_byte(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void write_bool(bool v) { out_.push_back(v ? '\x01' : '\x00'); }
  void write_int(int32_t v) { put_be(static_cast<uint32_t>(v), 4); }
  void write_long(int64_t v) { put_be(static_cast<uint64_t>(v), 8); }
  // ustring / buffer: int length, then bytes.
  void write_string(std::string_view s) {
    write_int(static_cast<int32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void write_null() { write_int(-1); }  // null ustring, buffer or vector
  void write_buffer(std::string_view b) { write_string(b); }
  void write_optional_buffer(const std::optional<std::string>& b) {
    if (b) write_buffer(*b); else write_null();
  }
  void write_raw(std::string_view b) { out_.append(b.data(), b.size()); }
  // Overwrites 4 bytes at `at` (used to fill a frame length after the payload is written).
  void patch_int(size_t at, int32_t v) {
    auto u = static_cast<uint32_t>(v);
    for (int i = 3; i >= 0; --i) { out_[at + i] = static_cast<char>(u & 0xff); u >>= 8; }
  }
  size_t size() const { return out_.size(); }
  std::string& buffer() { return out_; }

 private:
  void put_be(uint64_t v, int n) {
    char b[8];
    for (int i = n - 1; i >= 0; --i) { b[i] = static_cast<char>(v & 0xff); v >>= 8; }
    out_.append(b, n);
  }
  std::string& out_;
};

class Reader {
 public:
  Reader(const void* data, size_t size)
      : p_(static_cast<const uint8_t*>(data)), end_(p_ + size) {}
  explicit Reader(std::string_view bytes) : Reader(bytes.data(), bytes.size()) {}

  // Longest string or buffer accepted; longer ones fail the reader (jute.maxbuffer).
  void set_max_length(int32_t n) { max_len_ = n; }

  bool ok() const noexcept { return ok_; }
  void fail() noexcept { ok_ = false; p_ = end_; }
  size_t remaining() const noexcept { return static_cast<size_t>(end_ - p_); }
  bool at_end() const noexcept { return p_ == end_; }
  const uint8_t* position() const noexcept { return p_; }

  int8_t read_byte() {
    if (!need(1)) return 0;
    return static_cast<int8_t>(*p_++);
  }
  bool read_bool() { return read_byte() != 0; }
  int32_t read_int() { return static_cast<int32_t>(get_be(4)); }
  int64_t read_long() { return static_cast<int64_t>(get_be(8)); }

  // A ustring or buffer; std::nullopt for the null marker (length -1).
  std::optional<std::string_view> read_optional_view() {
    int32_t len = read_int();
    if (!ok_) return std::nullopt;
    if (len == -1) return std::nullopt;
    if (len < -1 || len > max_len_ || !need(static_cast<size_t>(len))) {
      fail();
      return std::nullopt;
    }
    std::string_view v(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
    p_ += len;
    return v;
  }
  // Null reads as empty.
  std::string_view read_view() { return read_optional_view().value_or(std::string_view{}); }
  std::string read_string() { return std::string(read_view()); }
  std::optional<std::string> read_optional_buffer() {
    auto v = read_optional_view();
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  // A vector count: -1 (null) reads as 0. Fails on counts that cannot fit what is left.
  int32_t read_count(size_t min_element_size = 1) {
    int32_t n = read_int();
    if (!ok_) return 0;
    if (n == -1) return 0;
    if (n < -1 || static_cast<size_t>(n) * min_element_size > remaining()) {
      fail();
      return 0;
    }
    return n;
  }
  std::string_view read_raw(size_t n) {
    if (!need(n)) return {};
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return v;
  }

 private:
  bool need(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { fail(); return false; }
    return true;
  }
  uint64_t get_be(int n) {
    if (!need(static_cast<size_t>(n))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | p_[i];
    p_ += n;
    return v;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  int32_t max_len_ = INT32_MAX;
  bool ok_ = true;
};

// ---- records shared by the client protocol, transactions and snapshots ----

inline void write_stat(Writer& w, const Stat& s) {
  w.write_long(s.czxid); w.write_long(s.mzxid); w.write_long(s.ctime); w.write_long(s.mtime);
  w.write_int(s.version); w.write_int(s.cversion); w.write_int(s.aversion);
  w.write_long(s.ephemeral_owner); w.write_int(s.data_length); w.write_int(s.num_children);
  w.write_long(s.pzxid);
}
inline Stat read_stat(Reader& r) {
  Stat s;
  s.czxid = r.read_long(); s.mzxid = r.read_long(); s.ctime = r.read_long(); s.mtime = r.read_long();
  s.version = r.read_int(); s.cversion = r.read_int(); s.aversion = r.read_int();
  s.ephemeral_owner = r.read_long(); s.data_length = r.read_int(); s.num_children = r.read_int();
  s.pzxid = r.read_long();
  return s;
}

inline void write_stat_persisted(Writer& w, const StatPersisted& s) {
  w.write_long(s.czxid); w.write_long(s.mzxid); w.write_long(s.ctime); w.write_long(s.mtime);
  w.write_int(s.version); w.write_int(s.cversion); w.write_int(s.aversion);
  w.write_long(s.ephemeral_owner); w.write_long(s.pzxid);
}
inline StatPersisted read_stat_persisted(Reader& r) {
  StatPersisted s;
  s.czxid = r.read_long(); s.mzxid = r.read_long(); s.ctime = r.read_long(); s.mtime = r.read_long();
  s.version = r.read_int(); s.cversion = r.read_int(); s.aversion = r.read_int();
  s.ephemeral_owner = r.read_long(); s.pzxid = r.read_long();
  return s;
}

inline void write_acl(Writer& w, const Acl& a) {
  w.write_int(a.perms); w.write_string(a.id.scheme); w.write_string(a.id.id);
}
inline Acl read_acl(Reader& r) {
  Acl a;
  a.perms = r.read_int(); a.id.scheme = r.read_string(); a.id.id = r.read_string();
  return a;
}
inline void write_acl_list(Writer& w, const std::vector<Acl>& acls) {
  w.write_int(static_cast<int32_t>(acls.size()));
  for (const auto& a : acls) write_acl(w, a);
}
// A null list (-1) reads as empty.
inline std::vector<Acl> read_acl_list(Reader& r) {
  int32_t n = r.read_count(12);
  std::vector<Acl> acls;
  acls.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && r.ok(); ++i) acls.push_back(read_acl(r));
  return acls;
}

// TxnHeader (32 bytes): the head of every transaction in logs, proposals and DIFFs.
struct TxnHeader {
  SessionId client_id = 0;
  int32_t cxid = 0;
  Zxid zxid = 0;
  int64_t time = 0;
  int32_t type = 0;  // an OpCode value
};
constexpr size_t kTxnHeaderSize = 32;

inline void write_txn_header(Writer& w, const TxnHeader& h) {
  w.write_long(h.client_id); w.write_int(h.cxid); w.write_long(h.zxid);
  w.write_long(h.time); w.write_int(h.type);
}
inline TxnHeader read_txn_header(Reader& r) {
  TxnHeader h;
  h.client_id = r.read_long(); h.cxid = r.read_int(); h.zxid = r.read_long();
  h.time = r.read_long(); h.type = r.read_int();
  return h;
}

}  // namespace paddock::sdk::jute

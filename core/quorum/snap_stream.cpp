#include "quorum/snap_stream.hpp"

#include "paddock/sdk/jute.hpp"

namespace paddock::quorum {

namespace {
constexpr size_t kChunk = 64 * 1024;
constexpr std::string_view kSignature = "BenWasHere";
// A single stream item larger than this is taken for corruption.
constexpr size_t kMaxItem = 64 * 1024 * 1024;
}  // namespace

void SnapStreamWriter::maybe_flush() {
  if (buf_.size() >= kChunk) {
    sink_(buf_);
    buf_.clear();
  }
}

sdk::Status SnapStreamWriter::write_sessions(const std::vector<sdk::SessionRecord>& sessions) {
  sdk::jute::Writer w(buf_);
  w.write_int(static_cast<int32_t>(sessions.size()));
  for (const auto& s : sessions) {
    w.write_long(s.id);
    w.write_int(s.timeout_ms);
    maybe_flush();
  }
  return {};
}

sdk::Status SnapStreamWriter::write_acls(const std::vector<sdk::AclRecord>& acls) {
  sdk::jute::Writer w(buf_);
  w.write_int(static_cast<int32_t>(acls.size()));
  for (const auto& a : acls) {
    w.write_long(a.ref);
    sdk::jute::write_acl_list(w, a.acls);
    maybe_flush();
  }
  return {};
}

sdk::Status SnapStreamWriter::write_node(const sdk::NodeRecord& node) {
  sdk::jute::Writer w(buf_);
  w.write_string(node.path);
  if (node.data_null) w.write_null(); else w.write_buffer(node.data);
  w.write_long(node.acl_ref);
  sdk::jute::write_stat_persisted(w, node.stat);
  maybe_flush();
  return {};
}

sdk::Status SnapStreamWriter::finish(const std::optional<sdk::SnapshotDigest>&, bool) {
  sdk::jute::Writer w(buf_);
  w.write_string("/");
  w.write_string(kSignature);
  sink_(buf_);
  buf_.clear();
  return {};
}

SnapStreamReader::Result SnapStreamReader::feed(std::string_view bytes, size_t& used) {
  used = 0;
  for (;;) {
    size_t n = 0;
    Phase before = phase_;
    Result r = step(bytes.substr(used), n);
    used += n;
    if (r == Result::kNeedMore && (n > 0 || phase_ != before)) continue;  // progress
    {
      if (r == Result::kNeedMore && bytes.size() - used > kMaxItem) {
        error_ = "snapshot stream item larger than " + std::to_string(kMaxItem) + " bytes";
        return Result::kError;
      }
      return r;
    }
  }
}

// Takes one item; kNeedMore with used > 0 means "progress, call again".
SnapStreamReader::Result SnapStreamReader::step(std::string_view bytes, size_t& used) {
  sdk::jute::Reader r(bytes);
  used = 0;
  auto took = [&] { used = bytes.size() - r.remaining(); };
  switch (phase_) {
    case Phase::kSessionCount:
    case Phase::kAclCount: {
      int32_t n = r.read_int();
      if (!r.ok()) return Result::kNeedMore;
      if (n < 0) {
        error_ = "negative count in the snapshot stream";
        return Result::kError;
      }
      remaining_ = n;
      phase_ = phase_ == Phase::kSessionCount ? Phase::kSessions : Phase::kAcls;
      took();
      return Result::kNeedMore;
    }
    case Phase::kSessions: {
      if (remaining_ == 0) {
        phase_ = Phase::kAclCount;
        return Result::kNeedMore;
      }
      sdk::SessionRecord s;
      s.id = r.read_long();
      s.timeout_ms = r.read_int();
      if (!r.ok()) return Result::kNeedMore;
      if (auto st = sink_.on_session(s); !st) {
        error_ = st.message();
        return Result::kError;
      }
      --remaining_;
      took();
      return Result::kNeedMore;
    }
    case Phase::kAcls: {
      if (remaining_ == 0) {
        phase_ = Phase::kNodes;
        return Result::kNeedMore;
      }
      sdk::AclRecord a;
      a.ref = r.read_long();
      a.acls = sdk::jute::read_acl_list(r);
      if (!r.ok()) return Result::kNeedMore;
      if (auto st = sink_.on_acl(a); !st) {
        error_ = st.message();
        return Result::kError;
      }
      --remaining_;
      took();
      return Result::kNeedMore;
    }
    case Phase::kNodes: {
      std::string_view path = r.read_view();
      if (!r.ok()) return Result::kNeedMore;
      if (path == "/") {
        phase_ = Phase::kSignature;
        took();
        return Result::kNeedMore;
      }
      sdk::NodeRecord n;
      n.path = path;
      auto data = r.read_optional_view();
      n.data_null = !data.has_value();
      if (data) n.data = *data;
      n.acl_ref = r.read_long();
      n.stat = sdk::jute::read_stat_persisted(r);
      if (!r.ok()) return Result::kNeedMore;
      if (auto st = sink_.on_node(n); !st) {
        error_ = st.message();
        return Result::kError;
      }
      took();
      return Result::kNeedMore;
    }
    case Phase::kSignature: {
      std::string_view sig = r.read_view();
      if (!r.ok()) return Result::kNeedMore;
      if (sig != kSignature) {
        error_ = "snapshot stream does not end with the BenWasHere signature";
        return Result::kError;
      }
      phase_ = Phase::kDone;
      took();
      return Result::kDone;
    }
    case Phase::kDone:
      return Result::kDone;
  }
  return Result::kError;
}

}  // namespace paddock::quorum

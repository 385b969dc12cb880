// The snapshot stream a leader sends after a SNAP packet (spec/quorum-protocol.md 4.3): the
// body of a snapshot file without its header and seals, ending with the ustring
// "BenWasHere".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "paddock/sdk/storage.hpp"

namespace paddock::quorum {

// Writes the stream through `sink`, in chunks of about 64 KiB.
class SnapStreamWriter final : public sdk::SnapshotWriter {
 public:
  explicit SnapStreamWriter(std::function<void(std::string_view)> sink) : sink_(std::move(sink)) {}
  sdk::Status write_sessions(const std::vector<sdk::SessionRecord>& sessions) override;
  sdk::Status write_acls(const std::vector<sdk::AclRecord>& acls) override;
  sdk::Status write_node(const sdk::NodeRecord& node) override;
  sdk::Status finish(const std::optional<sdk::SnapshotDigest>& digest, bool fsync) override;

 private:
  void maybe_flush();
  std::function<void(std::string_view)> sink_;
  std::string buf_;
};

// Reads the stream incrementally into a SnapshotSink.
class SnapStreamReader {
 public:
  explicit SnapStreamReader(sdk::SnapshotSink& sink) : sink_(sink) {}
  enum class Result { kDone, kNeedMore, kError };
  // Consumes what it can from `bytes`; `used` says how much. After kDone the rest of the bytes
  // belong to the packets that follow.
  Result feed(std::string_view bytes, size_t& used);
  const std::string& error() const { return error_; }

 private:
  enum class Phase { kSessionCount, kSessions, kAclCount, kAcls, kNodes, kSignature, kDone };
  Result step(std::string_view bytes, size_t& used);
  sdk::SnapshotSink& sink_;
  Phase phase_ = Phase::kSessionCount;
  int64_t remaining_ = 0;
  std::string error_;
};

}  // namespace paddock::quorum

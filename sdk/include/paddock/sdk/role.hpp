// Role extension point: what a learner that is not a follower does with its leader. The
// shipped plugin is role-observer (peerType=observer). The core runs the learner protocol
// (registration, DIFF / TRUNC / SNAP synchronisation, NEWLEADER / UPTODATE, forwarding of
// client writes, pings, session revalidation); the role decides how the peer registers, what
// it reports, whether it takes part in proposals, and handles the packets only it knows.
//
// Threading: the role's methods are called on the quorum transport's I/O thread of the
// leader connection (on_packet) or on the quorum-peer thread (the rest); the channel may be
// used from the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

// Implemented by the core: the learner's link to its leader and to the local database.
class PADDOCK_SDK_API LearnerChannel {
 public:
  virtual ~LearnerChannel() = default;
  // Sends a quorum packet to the leader (spec/quorum-protocol.md 2).
  virtual void send(int32_t type, Zxid zxid, std::string_view data) = 0;
  // Logs a committed transaction (a txn entry: TxnHeader + body) and, once it is durable,
  // applies it in order, answering the local client whose request it is.
  virtual void log_and_apply(Zxid zxid, std::string txn_entry) = 0;
};

class PADDOCK_SDK_API Role : public Plugin {
 public:
  // The peer type this role serves, as written in the config ("observer").
  virtual std::string peer_type() const = 0;
  // What four-letter words report as the mode ("observer") and the peer state.
  virtual std::string mode() const = 0;
  virtual PeerState state() const = 0;
  // The packet type that registers this learner with the leader (16 = OBSERVERINFO).
  virtual int32_t registration_packet() const = 0;
  // Whether the learner logs and acknowledges PROPOSAL packets (followers do).
  virtual bool acknowledges_proposals() const = 0;
  // How long to wait before a new election after losing the leader, in milliseconds.
  virtual int64_t election_delay_ms() = 0;
  // A packet of the broadcast phase the core does not handle itself (e.g. INFORM). Returns
  // false when the role does not know it either (it is then logged and ignored).
  virtual bool on_packet(int32_t type, Zxid zxid, std::string_view data, LearnerChannel& channel) = 0;
};

}  // namespace paddock::sdk

// Election extension point: runs one leader election while the peer is LOOKING and returns
// the final vote. The shipped plugin is FastLeaderElection (election-fle).
//
// Threading contract
//  - start() and stop() are called on the main thread.
//  - look_for_leader() is called on the core's quorum-peer thread and blocks until a leader
//    is chosen or stop() is called. The plugin may run its own threads for the election port.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

class Transport;

struct PeerAddress {
  ServerId id = 0;
  std::string host;
  uint16_t quorum_port = 0;
  uint16_t election_port = 0;
  bool participant = true;  // false for observers
};

// Implemented by the core: what the election needs to know about this peer, live.
class PADDOCK_SDK_API ElectionContext {
 public:
  virtual ~ElectionContext() = default;
  virtual ServerId my_id() const = 0;
  virtual std::vector<PeerAddress> peers() const = 0;
  virtual bool is_participant() const = 0;
  virtual Zxid last_logged_zxid() const = 0;
  virtual int64_t current_epoch() const = 0;
  virtual PeerState state() const = 0;
  // The vote this peer currently stands behind (its leader once the election ended).
  virtual Vote current_vote() const = 0;
  // Whether a set of voters forms a quorum under the ensemble's quorum rule.
  virtual bool is_quorum(const std::vector<ServerId>& voters) const = 0;
  // The transport for the election port.
  virtual Transport& transport() = 0;
};

class PADDOCK_SDK_API Election : public Plugin {
 public:
  virtual Status start(ElectionContext& context) = 0;
  virtual Result<Vote> look_for_leader() = 0;
  virtual void stop() = 0;
};

}  // namespace paddock::sdk

// Election extension point: leader election on the election port. The shipped plugin is
// FastLeaderElection (election-fle), ZooKeeper 3.8's wire format (spec/election-protocol.md).
//
// Lifecycle and threading
//  - start() is called once on the main thread, before the peer's first election. From then
//    on the plugin listens on this peer's election port and answers other peers at any time
//    (a peer that is LEADING / FOLLOWING answers LOOKING peers with its current vote), on
//    threads of its own or of the transport.
//  - look_for_leader() is called on the core's quorum-peer thread each time the peer goes
//    LOOKING, and blocks until the election ends or stop() is called.
//  - stop() may be called from any thread; it makes look_for_leader() return an error and
//    closes the plugin's connections. Called once at shut-down.
//  - The context is implemented by the core, outlives the plugin, and is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

class Transport;

// One member of the ensemble, as its server.N line says.
struct PeerAddress {
  ServerId id = 0;
  std::string host;
  uint16_t quorum_port = 0;
  uint16_t election_port = 0;
  bool participant = true;  // false for observers
};

class PADDOCK_SDK_API ElectionContext {
 public:
  virtual ~ElectionContext() = default;
  virtual ServerId my_id() const = 0;
  // Every member of the current configuration, this peer included.
  virtual std::vector<PeerAddress> peers() const = 0;
  // Whether `id` is a voter (a participant of the current configuration).
  virtual bool is_voter(ServerId id) const = 0;
  // Whether the voters `ids` form a quorum (a majority, for majority configurations).
  virtual bool is_quorum(const std::vector<ServerId>& ids) const = 0;

  // ---- what this peer proposes when an election starts ----
  // Last zxid of the local database (-1 when the database cannot be trusted).
  virtual Zxid last_logged_zxid() const = 0;
  // The currentEpoch record.
  virtual int64_t current_epoch() const = 0;

  // ---- what this peer answers while it is not LOOKING ----
  virtual PeerState state() const = 0;
  // The vote this peer stands behind (after an election: its leader; its peer_epoch is the
  // established epoch once the leader has started serving).
  virtual Vote current_vote() const = 0;

  // ---- configuration ----
  // The quorum configuration text carried in notifications (spec/election-protocol.md 2.2).
  virtual std::string quorum_config_text() const = 0;
  // Read timeout while reading a peer's initial message (tickTime x syncLimit).
  virtual int64_t handshake_timeout_ms() const = 0;
  // The transport used for the election port (the quorum transport: tcp, or tls with
  // sslQuorum).
  virtual Transport& transport() = 0;
};

class PADDOCK_SDK_API Election : public Plugin {
 public:
  // Starts listening on this peer's election port and answering peers.
  virtual Status start(ElectionContext& context) = 0;
  // Runs one election. Returns the final vote; its `state` is kLeading (the vote names this
  // peer), kFollowing or kObserving, and its election_epoch the round that decided it.
  virtual Result<Vote> look_for_leader() = 0;
  virtual void stop() = 0;
};

}  // namespace paddock::sdk

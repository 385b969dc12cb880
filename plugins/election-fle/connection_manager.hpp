// ConnectionManager: ZooKeeper's QuorumCnxManager over an SDK transport
// (spec/election-protocol.md 1). One connection per peer; only a connection started by the
// larger sid survives; int32-length frames of 1..512 KiB; a send queue of one message per
// peer (a newer message replaces an unsent older one); the last message sent to a peer is
// sent again when a new connection to it comes up; messages to oneself are looped back.
//
// Threads: transport callbacks (accept, connect completion, bytes, close) run on the
// transport's I/O threads; to_send / connect_all / have_delivered come from any thread (the
// election loop, or a receive callback answering a peer). The handshake read timeout runs on
// a TimerThread. One mutex guards the peer table; no callback into the election runs under
// it. stop() waits for callbacks in flight, after which the message sink is never called.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "callback_gate.hpp"
#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/transport.hpp"
#include "timer_thread.hpp"
#include "wire.hpp"

namespace paddock::election_fle {

class PeerConnection;

// An encoded frame (int32 length + payload), shared by the queue, the last-sent slot and the
// transport call.
using Frame = std::shared_ptr<const std::vector<uint8_t>>;

class ConnectionManager : public std::enable_shared_from_this<ConnectionManager> {
 public:
  struct Options {
    sdk::ServerId my_id = 0;
    HostPort listen_address;                         // this peer's election address
    std::map<sdk::ServerId, HostPort> peer_addresses;  // configured election addresses
    int64_t handshake_timeout_ms = 0;                // <= 0: no timeout
  };
  // Called with each received payload (frame length stripped), on an I/O thread, or on the
  // sending thread for a message to oneself. Never after stop() returned.
  using MessageSink = std::function<void(sdk::ServerId sid, const uint8_t* data, size_t size)>;
  using Log = std::function<void(sdk::LogLevel, const std::string&)>;

  ConnectionManager(sdk::Transport& transport, Options options, MessageSink sink, Log log);
  ~ConnectionManager();

  // Listens on the election address.
  sdk::Status start();
  // Closes the listener and every connection, and waits for callbacks in flight. Idempotent.
  void stop();

  // Queues `frame` for `sid` (replacing what is queued and unsent) and connects if needed
  // (QuorumCnxManager.toSend). A frame to oneself is delivered to the sink at once.
  void to_send(sdk::ServerId sid, Frame frame);
  // Tries to connect to every peer that has a queue and no connection (connectAll).
  void connect_all();
  // True when some peer's queue is empty (haveDelivered, faithfully odd).
  bool have_delivered() const;

  // For tests and logs: sids with an established connection.
  std::vector<sdk::ServerId> connected_peers() const;

 private:
  friend class PeerConnection;
  class Acceptor;

  struct Link {
    std::shared_ptr<PeerConnection> connection;  // established, after the tie-break
    Frame queued;                                // capacity-one send queue
    Frame last_sent;
  };

  void on_accept(std::shared_ptr<sdk::Connection> connection);
  void connect_one(sdk::ServerId sid, std::optional<HostPort> address = std::nullopt);
  void on_connected(sdk::ServerId sid, const HostPort& target,
                    sdk::Result<std::shared_ptr<sdk::Connection>> result);
  // An accepted connection finished its initial message.
  void on_handshake(const std::shared_ptr<PeerConnection>& peer, InitialMessage message);
  void establish(sdk::ServerId sid, const std::shared_ptr<PeerConnection>& peer);
  void on_closed(const std::shared_ptr<PeerConnection>& peer, const std::string& reason);
  void deliver(sdk::ServerId sid, const uint8_t* data, size_t size);
  void log(sdk::LogLevel level, const std::string& message) const;

  sdk::Transport& transport_;
  const Options options_;
  const MessageSink sink_;
  const Log log_;
  const std::vector<uint8_t> initial_message_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<sdk::Listener> listener_;
  CallbackGate gate_;
  TimerThread timers_;

  mutable std::mutex mutex_;
  std::map<sdk::ServerId, Link> links_;                // guarded
  std::set<sdk::ServerId> connecting_;                 // guarded: connects in flight
  std::set<std::shared_ptr<PeerConnection>> open_;     // guarded: every connection not closed
  sdk::ServerId next_observer_id_ = -1;                // guarded: for legacy observers
  bool stopped_ = false;                               // guarded
};

}  // namespace paddock::election_fle

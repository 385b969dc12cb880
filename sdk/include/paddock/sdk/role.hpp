// Role extension point: what a peer does once an election ends when its role is not one the
// core implements itself (leader, follower). The shipped plugin is role-observer.
//
// Threading contract: run() is called on the core's quorum-peer thread and blocks while the
// peer holds the role; stop() may be called from any thread and makes run() return.
#pragma once

#include <string>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

class Transport;

// Implemented by the core: the learner machinery a role builds on.
class PADDOCK_SDK_API RoleContext {
 public:
  virtual ~RoleContext() = default;
  virtual ServerId my_id() const = 0;
  virtual Vote leader_vote() const = 0;
  virtual Transport& quorum_transport() = 0;
};

class PADDOCK_SDK_API Role : public Plugin {
 public:
  // The peer type this role serves, as written in the config ("observer").
  virtual std::string peer_type() const = 0;
  // The state the peer reports while in this role.
  virtual PeerState state() const = 0;
  virtual Status run(RoleContext& context) = 0;
  virtual void stop() = 0;
};

}  // namespace paddock::sdk

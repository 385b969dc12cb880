// The observer role (ZooKeeper's Observer): registers with OBSERVERINFO, never votes and
// never acknowledges proposals; it learns each committed transaction from an INFORM packet,
// logs it and applies it. Reads are served locally and writes forwarded by the core's learner
// machinery, as on a follower.
#include <random>
#include <string>

#include "paddock/sdk/role.hpp"

namespace {

namespace sdk = paddock::sdk;

constexpr int32_t kObserverInfo = 16;
constexpr int32_t kInform = 8;
constexpr int32_t kInformAndActivate = 19;

const sdk::ConfigKeyDecl kKeys[] = {
    {"observer.election.DelayMs", "int", "200",
     "upper bound (ms) of the random wait before an observer looks for a new leader"},
};

class ObserverRole final : public sdk::Role {
 public:
  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host&) override {
    auto v = config.get("observer.election.DelayMs");
    if (!v) v = config.get("zookeeper.observer.election.DelayMs");
    if (v) {
      try {
        delay_bound_ms_ = std::stoll(std::string(*v));
      } catch (...) {
        return sdk::Status::error("observer.election.DelayMs: a number of milliseconds, found '" +
                                  std::string(*v) + "'");
      }
      if (delay_bound_ms_ < 0) return sdk::Status::error("observer.election.DelayMs: must not be negative");
    }
    return {};
  }

  std::string peer_type() const override { return "observer"; }
  std::string mode() const override { return "observer"; }
  sdk::PeerState state() const override { return sdk::PeerState::kObserving; }
  int32_t registration_packet() const override { return kObserverInfo; }
  bool acknowledges_proposals() const override { return false; }

  int64_t election_delay_ms() override {
    // A random share of the bound, so observers do not all rush the ensemble at once.
    if (delay_bound_ms_ <= 0) return 0;
    std::uniform_int_distribution<int64_t> d(0, delay_bound_ms_ - 1);
    return d(rng_);
  }

  bool on_packet(int32_t type, sdk::Zxid zxid, std::string_view data,
                 sdk::LearnerChannel& channel) override {
    if (type == kInform) {
      channel.log_and_apply(zxid, std::string(data));
      return true;
    }
    if (type == kInformAndActivate) {
      // The designated leader id (8 bytes) precedes the txn; there is no dynamic
      // reconfiguration here, so only the transaction is taken.
      if (data.size() < 8) return false;
      channel.log_and_apply(zxid, std::string(data.substr(8)));
      return true;
    }
    return false;
  }

 private:
  int64_t delay_bound_ms_ = 200;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

PADDOCK_PLUGIN(kRole, "observer", "0.1.0", kKeys, 1, ObserverRole)

// election-fle through its shared object: several election instances in one process, each
// with its own transport-tcp, on 127.0.0.1. The harness plays the core (election_harness.hpp).
#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "election_harness.hpp"

namespace fle_test {
namespace {

using Nodes = std::vector<std::unique_ptr<Node>>;

Nodes make_nodes(const std::vector<sdk::PeerAddress>& peers,
                 const std::map<sdk::ServerId, sdk::Zxid>& zxids = {}, int64_t epoch = 0) {
  Nodes nodes;
  for (const auto& p : peers) {
    auto it = zxids.find(p.id);
    nodes.push_back(std::make_unique<Node>(p.id, peers, it == zxids.end() ? 0 : it->second,
                                           epoch));
  }
  return nodes;
}

Node& by_id(Nodes& nodes, sdk::ServerId id) {
  for (auto& n : nodes) {
    if (n->id() == id) return *n;
  }
  throw std::runtime_error("no node " + std::to_string(id));
}

// Every node in `ids` decided within the bound, for `leader`, the leader LEADING, the others
// FOLLOWING (OBSERVING for the ids in `observers`).
void expect_elected(Nodes& nodes, const std::vector<sdk::ServerId>& ids, sdk::ServerId leader,
                    const std::set<sdk::ServerId>& observers = {}) {
  for (auto id : ids) {
    Node& n = by_id(nodes, id);
    ASSERT_TRUE(n.wait_decided()) << "node " << id << " did not decide";
    const sdk::Vote v = n.vote();
    EXPECT_EQ(v.leader, leader) << "node " << id;
    const auto expected = id == leader          ? sdk::PeerState::kLeading
                          : observers.count(id) ? sdk::PeerState::kObserving
                                                : sdk::PeerState::kFollowing;
    EXPECT_EQ(v.state, expected) << "node " << id;
  }
}

// ---- the shared object ---------------------------------------------------------------------

TEST(ElectionPlugin, DescriptorSaysElectionFle) {
  const auto& d = descriptor(kElectionFile);
  EXPECT_EQ(d.abi_version, sdk::kAbiVersion);
  EXPECT_EQ(d.kind, sdk::PluginKind::kElection);
  EXPECT_STREQ(d.name, "fle");
  EXPECT_EQ(d.config_key_count, 0u);  // fastleader.* are the core's keys
}

TEST(ElectionPlugin, RejectsBadIntervals) {
  FakeHost host;
  auto plugin = create_plugin(kElectionFile);
  ASSERT_NE(plugin, nullptr);
  const auto s =
      plugin->configure(FakeConfig{{"fastleader.minNotificationInterval", "soon"}}, host);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("fastleader.minNotificationInterval"), std::string::npos)
      << s.message();
  auto other = create_plugin(kElectionFile);
  EXPECT_TRUE(other->configure(FakeConfig{{"zookeeper.fastleader.maxNotificationInterval", "800"}},
                               host));
}

TEST(ElectionPlugin, StartFailsWhenNotInTheConfiguration) {
  const auto peers = make_peers({1, 2, 3});
  Node stranger(9, peers);
  const auto r = stranger.start();
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("server 9 is not in the configuration"),
            std::string::npos)
      << r.message();
}

TEST(ElectionPlugin, StartFailsWhenTheElectionPortIsTaken) {
  const auto peers = make_peers({1, 2, 3});
  RawListener squatter(peers[0].election_port);
  ASSERT_TRUE(squatter.valid());
  Node node(1, peers);
  const auto r = node.start();
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("election port"), std::string::npos) << r.message();
}

TEST(ElectionPlugin, LookForLeaderBeforeStartIsAnError) {
  FakeHost host;
  auto plugin = create_plugin(kElectionFile);
  ASSERT_TRUE(plugin->configure(FakeConfig{}, host));
  auto* election = static_cast<sdk::Election*>(plugin.get());
  EXPECT_FALSE(election->look_for_leader().is_ok());
  election->stop();
  election->stop();  // idempotent
}

TEST(ElectionPlugin, StopUnblocksLookForLeader) {
  const auto peers = make_peers({1, 2, 3});
  Node lonely(1, peers);
  ASSERT_TRUE(lonely.start_and_elect());
  EXPECT_FALSE(lonely.wait_decided(600ms));  // no quorum alone
  const auto t0 = Clock::now();
  lonely.election().stop();
  ASSERT_TRUE(lonely.wait_decided(2s));
  EXPECT_LT(Clock::now() - t0, 1s);
  ASSERT_TRUE(lonely.error());
  EXPECT_NE(lonely.error()->message().find("stopped"), std::string::npos);
  EXPECT_FALSE(lonely.election().look_for_leader().is_ok());  // and stays stopped
}

// ---- elections -----------------------------------------------------------------------------

TEST(Election, ThreeStartedTogetherElectThree) {
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers);
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  expect_elected(nodes, {1, 2, 3}, 3);
  for (auto& n : nodes) {
    const auto v = n->vote();
    EXPECT_EQ(v.election_epoch, 1) << "one round";
    EXPECT_EQ(v.zxid, 0);
    EXPECT_EQ(v.peer_epoch, 0);
  }
}

TEST(Election, StartedOneByOneTwoLeadsAndThreeFollowsWithoutANewRound) {
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(by_id(nodes, 1).decided()) << "one of three is no quorum";
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  expect_elected(nodes, {1, 2}, 2);
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  expect_elected(nodes, {3}, 2);
  // Node 3 joined the established leader: the vote it took is the one decided in round 1
  // by nodes 1 and 2; nothing made them elect again.
  EXPECT_EQ(by_id(nodes, 3).vote().election_epoch, 1);
  EXPECT_EQ(by_id(nodes, 2).context().state(), sdk::PeerState::kLeading);
  EXPECT_EQ(by_id(nodes, 1).context().state(), sdk::PeerState::kFollowing);
}

TEST(Election, FiveStartedOneByOneElectThreeAndFourFiveFollow) {
  const auto peers = make_peers({1, 2, 3, 4, 5});
  auto nodes = make_nodes(peers);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(by_id(nodes, 1).decided());
  EXPECT_FALSE(by_id(nodes, 2).decided());
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  expect_elected(nodes, {1, 2, 3}, 3);
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(by_id(nodes, 4).start_and_elect());
  expect_elected(nodes, {4}, 3);
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(by_id(nodes, 5).start_and_elect());
  expect_elected(nodes, {5}, 3);
}

TEST(Election, LateJoinerFollowsAfterTheNewEpochIsEstablished) {
  // Once the leader serves, every member reports the new epoch as its vote's peerEpoch (spec
  // 6); a late joiner must still see a quorum behind the leader.
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers, {{1, 0x400000007}, {2, 0x400000009}, {3, 0x400000001}}, 4);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  expect_elected(nodes, {1, 2}, 2);
  by_id(nodes, 1).context().establish_epoch(5);
  by_id(nodes, 2).context().establish_epoch(5);
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  expect_elected(nodes, {3}, 2);
  EXPECT_EQ(by_id(nodes, 3).vote().peer_epoch, 5);
}

constexpr sdk::Zxid kZxid1 = 0x500000012;
constexpr sdk::Zxid kZxid2 = 0x500000015;
constexpr sdk::Zxid kZxid3 = 0x500000010;

TEST(Election, DifferentHistoriesStartedTogetherElectTheMostRecent) {
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers, {{1, kZxid1}, {2, kZxid2}, {3, kZxid3}}, 5);
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  expect_elected(nodes, {1, 2, 3}, 2);
  for (auto& n : nodes) {
    EXPECT_EQ(n->vote().zxid, kZxid2);
    EXPECT_EQ(n->vote().peer_epoch, 5);
  }
}

TEST(Election, DifferentHistoriesEveryStartOrderElectsTheMostRecent) {
  // Starts spaced by less than finalizeWait (200 ms): the last one is heard before the first
  // two can settle, so whatever the order, node 2 (highest zxid) leads.
  std::array<sdk::ServerId, 3> order{1, 2, 3};
  int permutations = 0;
  do {
    SCOPED_TRACE("start order " + std::to_string(order[0]) + std::to_string(order[1]) +
                 std::to_string(order[2]));
    const auto peers = make_peers({1, 2, 3});
    auto nodes = make_nodes(peers, {{1, kZxid1}, {2, kZxid2}, {3, kZxid3}}, 5);
    for (auto id : order) {
      ASSERT_TRUE(by_id(nodes, id).start_and_elect());
      std::this_thread::sleep_for(40ms);
    }
    expect_elected(nodes, {1, 2, 3}, 2);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 6);
}

TEST(Election, AQuorumThatSettledKeepsItsLeaderWhenABetterNodeArrivesLate) {
  // ZooKeeper's rule, not a tie-break: once two of three have decided, the third (even with
  // the most recent history) follows the established leader instead of starting over.
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers, {{1, kZxid1}, {2, kZxid2}, {3, kZxid3}}, 5);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  expect_elected(nodes, {1, 3}, 1);
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  expect_elected(nodes, {2}, 1);
}

TEST(Election, LeaderDiesAndTheOtherTwoReelect) {
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers);
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  expect_elected(nodes, {1, 2, 3}, 3);

  by_id(nodes, 3).kill();
  by_id(nodes, 1).elect();  // the core notices the lost leader and goes LOOKING
  by_id(nodes, 2).elect();
  expect_elected(nodes, {1, 2}, 2);
  EXPECT_EQ(by_id(nodes, 1).vote().election_epoch, 2);
  EXPECT_EQ(by_id(nodes, 2).vote().election_epoch, 2);

  // The old leader comes back (fresh process: round 1) and follows node 2.
  auto peers_again = peers;
  nodes.push_back(std::make_unique<Node>(3, peers_again));
  Node& revived = *nodes.back();
  ASSERT_TRUE(revived.start_and_elect());
  ASSERT_TRUE(revived.wait_decided());
  EXPECT_EQ(revived.vote().leader, 2);
  EXPECT_EQ(revived.vote().state, sdk::PeerState::kFollowing);
}

TEST(Election, FollowerDiesAndComesBackToTheSameLeader) {
  const auto peers = make_peers({1, 2, 3});
  auto nodes = make_nodes(peers);
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  expect_elected(nodes, {1, 2, 3}, 3);
  by_id(nodes, 1).kill();
  nodes.push_back(std::make_unique<Node>(1, peers));
  ASSERT_TRUE(nodes.back()->start_and_elect());
  ASSERT_TRUE(nodes.back()->wait_decided());
  EXPECT_EQ(nodes.back()->vote().leader, 3);
  EXPECT_EQ(nodes.back()->vote().state, sdk::PeerState::kFollowing);
}

TEST(Election, ObserverEndsObservingTheLeader) {
  const auto peers = make_peers({{1, true}, {2, true}, {3, false}});
  auto nodes = make_nodes(peers);
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  expect_elected(nodes, {1, 2, 3}, 2, {3});
}

TEST(Election, ObserverStartedLateObservesTheLeader) {
  const auto peers = make_peers({{1, true}, {2, true}, {3, false}});
  auto nodes = make_nodes(peers);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  expect_elected(nodes, {1, 2}, 2);
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  expect_elected(nodes, {3}, 2, {3});
}

TEST(Election, AnObserversVoteNeverCounts) {
  // Two participants and an observer: with one participant down there is no quorum, whatever
  // the observer says; the observer (id 3, the "best" id) is never proposed either.
  const auto peers = make_peers({{1, true}, {2, true}, {3, false}});
  auto nodes = make_nodes(peers, {{1, 0x100000001}, {2, 0x100000001}, {3, 0x1000000ff}}, 1);
  ASSERT_TRUE(by_id(nodes, 1).start_and_elect());
  ASSERT_TRUE(by_id(nodes, 3).start_and_elect());
  EXPECT_FALSE(by_id(nodes, 1).wait_decided(1500ms));
  EXPECT_FALSE(by_id(nodes, 3).decided());
  // The second participant arrives: 2 is elected, the observer observes it.
  ASSERT_TRUE(by_id(nodes, 2).start_and_elect());
  expect_elected(nodes, {1, 2, 3}, 2, {3});
}

TEST(Election, ConfiguredNotificationIntervalsAreUsed) {
  // A lone node backs off 200, 400, ... ms by default; with min=max=50 ms it retries every
  // 50 ms, which shows as many "notification time out" lines.
  const auto peers = make_peers({1, 2, 3});
  Node node(1, peers, 0, 0,
            FakeConfig{{"fastleader.minNotificationInterval", "50"},
                       {"fastleader.maxNotificationInterval", "50"}});
  ASSERT_TRUE(node.start_and_elect());
  std::this_thread::sleep_for(700ms);
  node.election().stop();
  ASSERT_TRUE(node.wait_decided());
  const auto lines = node.host().lines();
  const auto timeouts = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("notification time out: 50 ms") != std::string::npos;
  });
  EXPECT_GE(timeouts, 6);
}

}  // namespace
}  // namespace fle_test

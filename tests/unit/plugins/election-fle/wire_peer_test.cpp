// election-fle against scripted peers: plain sockets that speak (or break) the election
// protocol byte by byte, to check what the plugin sends, how it answers, the connection
// rules (larger id wins, newer replaces older, resend on reconnect) and that garbage only
// ever closes the connection it came on.
#include <string>
#include <vector>

#include "election_harness.hpp"

namespace fle_test {
namespace {

std::string address_of(const sdk::PeerAddress& p) {
  return p.host + ":" + std::to_string(p.election_port);
}

// A scripted peer connected to `node`'s election port, announced as `sid`.
RawSocket connect_as(int64_t sid, const sdk::PeerAddress& target, const std::string& announce) {
  RawSocket s = RawSocket::connect_to(target.election_port);
  EXPECT_TRUE(s.valid()) << "connect to " << target.election_port;
  if (s.valid()) {
    EXPECT_TRUE(s.send(initial_message(sid, announce)));
  }
  return s;
}

std::vector<uint8_t> vote_frame(const WireVote& v) { return frame(notification_payload(v)); }

// ---- what the plugin sends -----------------------------------------------------------------

TEST(WirePeer, InitialMessageThenDropWhenConnectingToALargerId) {
  const auto peers = make_peers({1, 2});
  RawListener peer2(peers[1].election_port);
  ASSERT_TRUE(peer2.valid());
  Node node(1, peers, 0x100000005, 1);
  ASSERT_TRUE(node.start_and_elect());

  // Node 1 wants to send its vote to 2: it connects, says who it is, and hangs up (2 > 1).
  RawSocket in = peer2.accept();
  ASSERT_TRUE(in.valid());
  auto hello = read_initial_message(in);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->first, 1);
  EXPECT_EQ(hello->second, address_of(peers[0]));
  EXPECT_TRUE(in.closed_by_peer(3s));

  // Peer 2 connects back, as the larger id does, and gets node 1's queued vote.
  RawSocket out = connect_as(2, peers[0], address_of(peers[1]));
  auto payload = out.read_frame();
  ASSERT_TRUE(payload);
  ASSERT_EQ(payload->size(), 44 + node.context().quorum_config_text().size());
  auto vote = parse_notification(*payload);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->state, 0);
  EXPECT_EQ(vote->leader, 1);
  EXPECT_EQ(vote->zxid, 0x100000005);
  EXPECT_EQ(vote->election_epoch, 1);
  EXPECT_EQ(vote->peer_epoch, 1);
  EXPECT_EQ(vote->version, 2);
  EXPECT_EQ(vote->config, node.context().quorum_config_text());

  // Peer 2 agrees: two of two, node 1 leads after finalizeWait.
  ASSERT_TRUE(out.send(vote_frame({0, 1, 0x100000005, 1, 1, 2, vote->config})));
  ASSERT_TRUE(node.wait_decided());
  EXPECT_EQ(node.vote().state, sdk::PeerState::kLeading);
  EXPECT_EQ(node.vote().election_epoch, 1);
}

TEST(WirePeer, ASmallerIdIsClosedAndConnectedBackAtItsAnnouncedAddress) {
  const auto peers = make_peers({1, 2, 3});
  const uint16_t announced_port = free_ports(1)[0];  // not the configured one
  RawListener announced(announced_port);
  ASSERT_TRUE(announced.valid());
  Node node(3, peers);
  ASSERT_TRUE(node.start());  // not electing yet: no connect of its own to server 1 in flight

  RawSocket first = connect_as(1, peers[2], "127.0.0.1:" + std::to_string(announced_port));
  EXPECT_TRUE(first.closed_by_peer(3s));
  RawSocket back = announced.accept();
  ASSERT_TRUE(back.valid());
  auto hello = read_initial_message(back);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->first, 3);
  EXPECT_EQ(hello->second, address_of(peers[2]));
  // That connection is the one that stays: node 3's vote comes over it.
  node.elect();
  auto vote = back.read_vote_until([](const WireVote& v) { return v.state == 0; });
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->leader, 3);
}

TEST(WirePeer, ANewerConnectionReplacesTheOlder) {
  const auto peers = make_peers({1, 2, 3});
  Node node(1, peers);
  ASSERT_TRUE(node.start_and_elect());
  RawSocket older = connect_as(3, peers[0], address_of(peers[2]));
  ASSERT_TRUE(older.read_frame());  // established: node 1's vote arrives
  RawSocket newer = connect_as(3, peers[0], address_of(peers[2]));
  EXPECT_TRUE(older.closed_by_peer(3s));
  auto resent = newer.read_frame();  // the last message goes out again on the new one
  ASSERT_TRUE(resent);
  EXPECT_EQ(parse_notification(*resent)->leader, 1);
  EXPECT_FALSE(newer.closed_by_peer(300ms));
}

TEST(WirePeer, TheLastMessageIsSentAgainOnReconnect) {
  const auto peers = make_peers({1, 2, 3});
  Node node(1, peers, 0x200000001, 2);
  ASSERT_TRUE(node.start_and_elect());
  RawSocket s = connect_as(2, peers[0], address_of(peers[1]));
  auto first = s.read_frame();
  ASSERT_TRUE(first);
  s.close();
  ASSERT_TRUE(eventually([&] { return node.host().logged("closed"); }, 3s));
  RawSocket again = connect_as(2, peers[0], address_of(peers[1]));
  auto second = again.read_frame(1s);  // before any back-off resend could explain it
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
}

TEST(WirePeer, AConnectionAnnouncingOurOwnIdIsClosed) {
  const auto peers = make_peers({1, 2, 3});
  Node node(2, peers);
  ASSERT_TRUE(node.start());
  RawSocket s = connect_as(2, peers[1], address_of(peers[1]));
  EXPECT_TRUE(s.closed_by_peer(3s));
}

// ---- how the plugin answers ----------------------------------------------------------------

TEST(WirePeer, AStaleRoundIsIgnoredAndAnsweredWithTheCurrentRound) {
  const auto peers = make_peers({1, 2, 3});
  // No back-off resends during the test: every round-5 vote peer 3 reads is an answer.
  Node node(1, peers, 0x100000005, 1, FakeConfig{{"fastleader.minNotificationInterval", "20000"}});
  ASSERT_TRUE(node.start_and_elect());
  const std::string config = node.context().quorum_config_text();
  RawSocket p2 = connect_as(2, peers[0], address_of(peers[1]));
  RawSocket p3 = connect_as(3, peers[0], address_of(peers[2]));
  ASSERT_TRUE(p2.read_vote_until([](auto& v) { return v.election_epoch == 1; }));
  ASSERT_TRUE(p3.read_vote_until([](auto& v) { return v.election_epoch == 1; }));

  // Peer 2 is in round 5 with a worse vote: node 1 moves to round 5 and keeps its own vote.
  ASSERT_TRUE(p2.send(vote_frame({0, 2, 0x100000001, 5, 1, 2, config})));
  auto moved = p3.read_vote_until([](auto& v) { return v.election_epoch == 5; });
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->leader, 1);
  EXPECT_EQ(moved->zxid, 0x100000005);

  // Peer 3 speaks from round 4 with a better vote: ignored, answered with round 5's proposal.
  ASSERT_TRUE(p3.send(vote_frame({0, 3, 0x100000009, 4, 1, 2, config})));
  auto answer = p3.read_vote_until([](auto& v) { return v.election_epoch == 5; });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->leader, 1);
  EXPECT_EQ(answer->state, 0);

  // Peer 2 comes round to node 1: two of three in round 5, node 1 leads.
  ASSERT_TRUE(p2.send(vote_frame({0, 1, 0x100000005, 5, 1, 2, config})));
  ASSERT_TRUE(node.wait_decided());
  EXPECT_EQ(node.vote().leader, 1);
  EXPECT_EQ(node.vote().state, sdk::PeerState::kLeading);
  EXPECT_EQ(node.vote().election_epoch, 5);
}

TEST(WirePeer, OlderNotificationShapesAreAccepted) {
  const auto peers = make_peers({1, 2, 3});
  Node node(1, peers, 0x100000005, 1);
  ASSERT_TRUE(node.start_and_elect());
  RawSocket p2 = connect_as(2, peers[0], address_of(peers[1]));
  RawSocket p3 = connect_as(3, peers[0], address_of(peers[2]));
  // 28 bytes (no peerEpoch: taken from the zxid, 1), from before 3.4.
  std::vector<uint8_t> oldest;
  put32(oldest, 0);
  put64(oldest, 2);
  put64(oldest, 0x100000009);
  put64(oldest, 1);
  ASSERT_TRUE(p2.send(frame(oldest)));
  // 40 bytes (peerEpoch, no version), 3.4.
  std::vector<uint8_t> forty;
  put32(forty, 0);
  put64(forty, 2);
  put64(forty, 0x100000009);
  put64(forty, 1);
  put64(forty, 1);
  put32(forty, 0);
  ASSERT_TRUE(p3.send(frame(forty)));
  ASSERT_TRUE(node.wait_decided());
  EXPECT_EQ(node.vote().leader, 2);
  EXPECT_EQ(node.vote().zxid, 0x100000009);
  EXPECT_EQ(node.vote().peer_epoch, 1);
  EXPECT_EQ(node.vote().state, sdk::PeerState::kFollowing);
}

TEST(WirePeer, ANonVoterGetsTheCurrentVoteAtOnce) {
  const auto peers = make_peers({1, 2, 3});
  std::vector<std::unique_ptr<Node>> nodes;
  for (const auto& p : peers) nodes.push_back(std::make_unique<Node>(p.id, peers));
  for (auto& n : nodes) ASSERT_TRUE(n->start());
  for (auto& n : nodes) n->elect();
  for (auto& n : nodes) ASSERT_TRUE(n->wait_decided());

  // Server 9 is not in the configuration: it is answered, never counted.
  for (int i : {0, 2}) {
    RawSocket s = connect_as(9, peers[i], "127.0.0.1:1");
    ASSERT_TRUE(s.send(vote_frame({0, 9, 0x7fffffffffff, 40, 9, 2, "version=0"})));
    auto answer = s.read_frame();
    ASSERT_TRUE(answer) << "node " << peers[i].id;
    auto v = parse_notification(*answer);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->state, i == 2 ? 2 : 1);  // LEADING / FOLLOWING
    EXPECT_EQ(v->leader, 3);
    EXPECT_EQ(v->election_epoch, 1);  // logicalclock
    EXPECT_EQ(v->config, nodes[i]->context().quorum_config_text());
  }
}

TEST(WirePeer, ADecidedPeerAnswersALookingVoterWithItsDecidedVote) {
  const auto peers = make_peers({1, 2, 3});
  Node n1(1, peers, 0x300000002, 3), n2(2, peers, 0x300000002, 3);
  ASSERT_TRUE(n1.start_and_elect());
  ASSERT_TRUE(n2.start_and_elect());
  ASSERT_TRUE(n1.wait_decided());
  ASSERT_TRUE(n2.wait_decided());
  n2.context().establish_epoch(4);  // the leader started serving epoch 4
  n1.context().establish_epoch(4);

  RawSocket to1 = connect_as(3, peers[0], address_of(peers[2]));
  RawSocket to2 = connect_as(3, peers[1], address_of(peers[2]));
  const WireVote looking{0, 3, 0x3000000ff, 7, 3, 2, "version=0"};
  ASSERT_TRUE(to1.send(vote_frame(looking)));
  ASSERT_TRUE(to2.send(vote_frame(looking)));
  auto a1 = to1.read_vote_until([](auto& v) { return v.state != 0; });
  auto a2 = to2.read_vote_until([](auto& v) { return v.state != 0; });
  ASSERT_TRUE(a1);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a1->state, 1);
  EXPECT_EQ(a2->state, 2);
  for (const auto& a : {*a1, *a2}) {
    EXPECT_EQ(a.leader, 2);
    EXPECT_EQ(a.zxid, 0x300000002);
    EXPECT_EQ(a.election_epoch, 1);  // the round that decided it
    EXPECT_EQ(a.peer_epoch, 4);      // the established epoch
  }
  // A peer that is not LOOKING is not answered.
  ASSERT_TRUE(to2.send(vote_frame({1, 2, 0x300000002, 1, 4, 2, "version=0"})));
  EXPECT_FALSE(to2.read_frame(300ms));
}

// ---- garbage ---------------------------------------------------------------------------------

class Garbage : public ::testing::Test {
 protected:
  void SetUp() override {
    peers_ = make_peers({1, 2, 3});
    for (const auto& p : peers_) nodes_.push_back(std::make_unique<Node>(p.id, peers_));
    nodes_[0]->context().set_handshake_timeout(300);
    for (auto& n : nodes_) ASSERT_TRUE(n->start());
  }

  // After whatever the test did, the three still elect node 3.
  void expect_election_works() {
    for (auto& n : nodes_) n->elect();
    for (auto& n : nodes_) {
      ASSERT_TRUE(n->wait_decided());
      EXPECT_EQ(n->vote().leader, 3);
    }
  }

  RawSocket raw() {
    RawSocket s = RawSocket::connect_to(peers_[0].election_port);
    EXPECT_TRUE(s.valid());
    return s;
  }

  std::vector<sdk::PeerAddress> peers_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(Garbage, WrongProtocolVersionClosesTheConnection) {
  RawSocket s = raw();
  ASSERT_TRUE(s.send(initial_message(7, "127.0.0.1:1", -65534)));
  EXPECT_TRUE(s.closed_by_peer(3s));
  EXPECT_TRUE(nodes_[0]->host().logged("unrecognized protocol version -65534"));
  expect_election_works();
}

TEST_F(Garbage, RandomBytesCloseTheConnection) {
  RawSocket s = raw();
  ASSERT_TRUE(s.send({0xff, 0xff, 0xff, 0xfe, 0x13, 0x37, 0x00, 0x01, 0x99, 0x98, 0x97, 0x96,
                      0x95, 0x94, 0x93, 0x92, 0x91, 0x90, 0x8f, 0x8e, 0x8d, 0x8c}));
  EXPECT_TRUE(s.closed_by_peer(3s));
  RawSocket http = raw();  // "GET / HT" reads as a pre-3.5 sid, then "TP/1" as a frame length
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(http.send(std::vector<uint8_t>(request.begin(), request.end())));
  EXPECT_TRUE(http.closed_by_peer(3s));
  expect_election_works();
}

TEST_F(Garbage, BadAnnouncedAddressesCloseTheConnection) {
  for (const std::string& address : {std::string("nonsense"), std::string("a:b:c"),
                                     std::string(3000, 'x')}) {
    RawSocket s = raw();
    auto message = initial_message(7, address);
    ASSERT_TRUE(s.send(message));
    EXPECT_TRUE(s.closed_by_peer(3s)) << address.substr(0, 20);
  }
  RawSocket empty = raw();
  ASSERT_TRUE(empty.send(initial_message(7, "")));
  EXPECT_TRUE(empty.closed_by_peer(3s));
  expect_election_works();
}

TEST_F(Garbage, BadFrameLengthsCloseTheConnection) {
  for (uint32_t length : {0u, 0x80000000u, 512u * 1024 + 1, 0x7fffffffu}) {
    RawSocket s = raw();
    ASSERT_TRUE(s.send(initial_message(7, "127.0.0.1:1")));
    std::vector<uint8_t> header;
    put32(header, length);
    ASSERT_TRUE(s.send(header));
    EXPECT_TRUE(s.closed_by_peer(3s)) << length;
  }
  EXPECT_TRUE(nodes_[0]->host().logged("frame length 524289"));
  expect_election_works();
}

TEST_F(Garbage, AFrameOfExactly512KiBIsAccepted) {
  RawSocket s = raw();
  ASSERT_TRUE(s.send(initial_message(7, "127.0.0.1:1")));
  WireVote v{0, 7, 1, 1, 1, 2, std::string(512 * 1024 - 44, 'c')};
  ASSERT_TRUE(s.send(vote_frame(v)));
  auto answer = s.read_frame();  // a non-voter is answered, so it was read and decoded
  ASSERT_TRUE(answer);
  EXPECT_EQ(parse_notification(*answer)->leader, 1);
}

TEST_F(Garbage, MalformedNotificationsAreDroppedAndTheConnectionKept) {
  RawSocket s = raw();
  ASSERT_TRUE(s.send(initial_message(7, "127.0.0.1:1")));
  ASSERT_TRUE(s.send(frame({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})));        // too short
  auto bad_config = notification_payload({0, 7, 1, 1, 1, 2, "abc"});
  put32(bad_config, 0);  // bytes after the config are fine, but make the length lie:
  bad_config[43] = 200;
  ASSERT_TRUE(s.send(frame(bad_config)));
  ASSERT_TRUE(s.send(vote_frame({0, 7, 1, 1, 1, 2, "version=0"})));  // a good one
  auto answer = s.read_frame();
  ASSERT_TRUE(answer) << "still connected and still read";
  EXPECT_TRUE(nodes_[0]->host().logged("malformed notification"));
  expect_election_works();
}

TEST_F(Garbage, AVoterWithAnUnknownStateIsIgnored) {
  RawSocket s = raw();
  ASSERT_TRUE(s.send(initial_message(2, "127.0.0.1:1")));
  ASSERT_TRUE(s.send(vote_frame({9, 2, 1, 1, 1, 2, "version=0"})));
  s.close();
  nodes_[1]->kill();  // the real node 2 is not needed: 1 and 3 elect 3
  nodes_[0]->elect();
  nodes_[2]->elect();
  ASSERT_TRUE(nodes_[0]->wait_decided());
  EXPECT_EQ(nodes_[0]->vote().leader, 3);
  EXPECT_TRUE(nodes_[0]->host().logged("state 9"));
}

TEST_F(Garbage, SilenceDuringTheHandshakeTimesOut) {
  RawSocket silent = raw();
  RawSocket partial = raw();
  ASSERT_TRUE(partial.send({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0, 0}));
  const auto t0 = Clock::now();
  EXPECT_TRUE(silent.closed_by_peer(3s));
  EXPECT_TRUE(partial.closed_by_peer(3s));
  EXPECT_GE(Clock::now() - t0, 200ms);
  EXPECT_TRUE(nodes_[0]->host().logged("no initial message within 300 ms"));
  expect_election_works();
}

TEST_F(Garbage, GarbageDuringAnElectionDoesNotDisturbIt) {
  for (auto& n : nodes_) n->elect();
  for (int i = 0; i < 20; ++i) {
    RawSocket s = RawSocket::connect_to(peers_[i % 3].election_port);
    std::vector<uint8_t> junk(64 + i);
    for (size_t j = 0; j < junk.size(); ++j) junk[j] = static_cast<uint8_t>(0xf0 ^ (j * 37 + i));
    s.send(junk);
  }
  for (auto& n : nodes_) {
    ASSERT_TRUE(n->wait_decided());
    EXPECT_EQ(n->vote().leader, 3);
  }
}

}  // namespace
}  // namespace fle_test

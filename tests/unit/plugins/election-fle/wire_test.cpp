// The election port's bytes and the vote rules, checked directly on the plugin's sources
// (wire.cpp, vote_order.hpp): ZooKeeper 3.8 layouts, older notification shapes, initial
// message parsing, total order and vote equality.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vote_order.hpp"
#include "wire.hpp"

namespace fle = paddock::election_fle;
namespace sdk = paddock::sdk;

namespace {

std::vector<uint8_t> bytes_of(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

void append32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
void append64(std::vector<uint8_t>& out, uint64_t v) {
  append32(out, static_cast<uint32_t>(v >> 32));
  append32(out, static_cast<uint32_t>(v));
}

// ---- total order (totalOrderPredicate) --------------------------------------------------------

TEST(VoteOrder, PeerEpochBeatsZxid) {
  // A higher peer epoch wins even with a lower zxid and a lower id.
  EXPECT_TRUE(fle::vote_beats(1, 0x100000001, 6, 3, 0x500000099, 5));
  EXPECT_FALSE(fle::vote_beats(3, 0x500000099, 5, 1, 0x100000001, 6));
}

TEST(VoteOrder, ZxidBeatsId) {
  EXPECT_TRUE(fle::vote_beats(1, 0x500000015, 5, 3, 0x500000012, 5));
  EXPECT_FALSE(fle::vote_beats(3, 0x500000012, 5, 1, 0x500000015, 5));
}

TEST(VoteOrder, IdBreaksTies) {
  EXPECT_TRUE(fle::vote_beats(3, 0x500000012, 5, 2, 0x500000012, 5));
  EXPECT_FALSE(fle::vote_beats(2, 0x500000012, 5, 3, 0x500000012, 5));
}

TEST(VoteOrder, AVoteDoesNotBeatItself) {
  EXPECT_FALSE(fle::vote_beats(2, 0x500000012, 5, 2, 0x500000012, 5));
}

TEST(VoteOrder, AnyVoterBeatsAnObserversInitialVote) {
  // An observer starts from Long.MIN_VALUE everywhere and adopts whatever a voter proposes.
  EXPECT_TRUE(fle::vote_beats(1, 0, 0, INT64_MIN, INT64_MIN, INT64_MIN));
  EXPECT_TRUE(fle::vote_beats(1, -1, 0, INT64_MIN, INT64_MIN, INT64_MIN));
}

// ---- Vote.equals -------------------------------------------------------------------------------

TEST(VoteEquality, LookingVotesCompareEveryNumber) {
  const fle::RecordedVote a{2, 0x500000015, 3, 5, sdk::PeerState::kLooking, 2};
  auto b = a;
  EXPECT_TRUE(fle::votes_equal(a, b));
  b.election_epoch = 4;  // another round: a stale vote does not count for this one
  EXPECT_FALSE(fle::votes_equal(a, b));
  b = a;
  b.zxid = 0x500000016;
  EXPECT_FALSE(fle::votes_equal(a, b));
  // One LOOKING side is enough for the strict comparison.
  b = a;
  b.state = sdk::PeerState::kFollowing;
  b.election_epoch = 9;
  EXPECT_FALSE(fle::votes_equal(a, b));
}

TEST(VoteEquality, OutOfElectionVotesCompareLeaderAndPeerEpoch) {
  const fle::RecordedVote a{2, 0x500000015, 3, 6, sdk::PeerState::kFollowing, 2};
  fle::RecordedVote b{2, 0x500000001, 1, 6, sdk::PeerState::kLeading, 2};
  EXPECT_TRUE(fle::votes_equal(a, b));  // zxid and round may differ (ZOOKEEPER-1805)
  b.peer_epoch = 5;
  EXPECT_FALSE(fle::votes_equal(a, b));
  b.peer_epoch = 6;
  b.leader = 3;
  EXPECT_FALSE(fle::votes_equal(a, b));
}

TEST(VoteEquality, VersionlessAgainstVersionedComparesLeaderOnly) {
  const fle::RecordedVote a{2, 0x500000015, 3, 6, sdk::PeerState::kFollowing, 2};
  const fle::RecordedVote b{2, 0x500000015, 3, 5, sdk::PeerState::kLeading, 0};
  EXPECT_TRUE(fle::votes_equal(a, b));  // ZOOKEEPER-1732: mixed formats ignore peerEpoch
}

// ---- notification ------------------------------------------------------------------------------

TEST(Notification, VersionTwoLayoutIs44PlusConfigBytes) {
  const std::string config = "server.1=127.0.0.1:2888:3888:participant\nversion=0";
  const auto payload = fle::encode_notification(sdk::PeerState::kLeading, 3, 0x500000015, 7, 5,
                                                config);
  ASSERT_EQ(payload.size(), 44 + config.size());
  std::vector<uint8_t> expected;
  append32(expected, 2);
  append64(expected, 3);
  append64(expected, 0x500000015);
  append64(expected, 7);
  append64(expected, 5);
  append32(expected, 2);
  append32(expected, static_cast<uint32_t>(config.size()));
  expected.insert(expected.end(), config.begin(), config.end());
  EXPECT_EQ(payload, expected);

  const auto framed = fle::encode_notification_frame(sdk::PeerState::kLeading, 3, 0x500000015,
                                                     7, 5, config);
  ASSERT_EQ(framed.size(), 4 + payload.size());
  EXPECT_EQ(fle::get_be32(framed.data()), payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), framed.begin() + 4));
}

TEST(Notification, RoundTrip) {
  const auto payload = fle::encode_notification(sdk::PeerState::kLooking, -5, -1, 1, INT64_MIN,
                                                "version=1a");
  std::string error;
  auto n = fle::decode_notification(payload.data(), payload.size(), error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->state, 0);
  EXPECT_EQ(n->leader, -5);
  EXPECT_EQ(n->zxid, -1);
  EXPECT_EQ(n->election_epoch, 1);
  EXPECT_EQ(n->peer_epoch, INT64_MIN);
  EXPECT_EQ(n->version, 2);
  ASSERT_TRUE(n->config);
  EXPECT_EQ(*n->config, "version=1a");
  EXPECT_EQ(fle::config_version(*n->config), 0x1a);
}

TEST(Notification, OldestShapeTakesPeerEpochFromZxid) {
  std::vector<uint8_t> p;
  append32(p, 1);
  append64(p, 2);
  append64(p, 0x700000003);
  append64(p, 4);
  ASSERT_EQ(p.size(), 28u);
  std::string error;
  auto n = fle::decode_notification(p.data(), p.size(), error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->state, 1);
  EXPECT_EQ(n->peer_epoch, 7);
  EXPECT_EQ(n->version, 0);
  EXPECT_FALSE(n->config);
}

TEST(Notification, FortyByteShapeHasNoVersion) {
  std::vector<uint8_t> p;
  append32(p, 0);
  append64(p, 2);
  append64(p, 0x700000003);
  append64(p, 4);
  append64(p, 9);
  append32(p, 1);  // whatever follows is not read as a version
  ASSERT_EQ(p.size(), 40u);
  std::string error;
  auto n = fle::decode_notification(p.data(), p.size(), error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->peer_epoch, 9);
  EXPECT_EQ(n->version, 0);
}

TEST(Notification, VersionOneCarriesNoConfig) {
  std::vector<uint8_t> p;
  append32(p, 0);
  append64(p, 2);
  append64(p, 3);
  append64(p, 4);
  append64(p, 5);
  append32(p, 1);
  append32(p, 0xdeadbeef);  // ignored: version 1 has no config
  std::string error;
  auto n = fle::decode_notification(p.data(), p.size(), error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->version, 1);
  EXPECT_FALSE(n->config);
}

TEST(Notification, MalformedOnesAreRejected) {
  std::string error;
  const auto good = fle::encode_notification(sdk::PeerState::kLooking, 1, 2, 3, 4, "abc");
  // Too short.
  EXPECT_FALSE(fle::decode_notification(good.data(), 27, error));
  EXPECT_FALSE(fle::decode_notification(good.data(), 0, error));
  // Partial: between the shapes, or cut inside the config text.
  EXPECT_FALSE(fle::decode_notification(good.data(), 30, error));
  EXPECT_FALSE(fle::decode_notification(good.data(), 38, error));
  EXPECT_FALSE(fle::decode_notification(good.data(), 42, error));
  EXPECT_FALSE(fle::decode_notification(good.data(), good.size() - 1, error));
  // Negative or huge config length.
  auto bad = good;
  fle::put_be32(bad.data() + 40, 0xffffffff);
  EXPECT_FALSE(fle::decode_notification(bad.data(), bad.size(), error));
  fle::put_be32(bad.data() + 40, 0x7fffffff);
  EXPECT_FALSE(fle::decode_notification(bad.data(), bad.size(), error));
  EXPECT_FALSE(error.empty());
  // Trailing bytes after the config are tolerated (Java never looks at them).
  auto longer = good;
  longer.push_back(0);
  EXPECT_TRUE(fle::decode_notification(longer.data(), longer.size(), error));
  // A state out of range decodes; the receiver drops it.
  auto odd_state = good;
  fle::put_be32(odd_state.data(), 7);
  auto n = fle::decode_notification(odd_state.data(), odd_state.size(), error);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->state, 7);
}

TEST(Notification, ConfigVersionLine) {
  EXPECT_EQ(fle::config_version("server.1=a:1:2:participant\nversion=0"), 0);
  EXPECT_EQ(fle::config_version("version=100000000\nserver.1=a:1:2:participant"), 0x100000000);
  EXPECT_FALSE(fle::config_version("server.1=a:1:2:participant"));
  EXPECT_FALSE(fle::config_version("version=xyz"));
}

// ---- initial message ---------------------------------------------------------------------------

TEST(InitialMessage, EncodesV1) {
  const auto m = fle::encode_initial_message(3, "127.0.0.1:3888");
  std::vector<uint8_t> expected = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,  //
                                            0, 0, 0, 0, 0, 0, 0, 3,  //
                                            0, 0, 0, 14});
  const std::string text = "127.0.0.1:3888";
  expected.insert(expected.end(), text.begin(), text.end());
  EXPECT_EQ(m, expected);
  EXPECT_EQ(fle::format_host_port("::1", 3888), "[::1]:3888");
  EXPECT_EQ(fle::format_host_port("node-1", 3888), "node-1:3888");
}

TEST(InitialMessage, ParsesIncrementally) {
  const auto m = fle::encode_initial_message(7, "10.0.0.7:3888");
  fle::InitialMessage out;
  size_t consumed = 0;
  std::string error;
  for (size_t n = 0; n < m.size(); ++n) {
    EXPECT_EQ(fle::parse_initial_message(m.data(), n, out, consumed, error),
              fle::ParseStatus::kNeedMore)
        << n;
  }
  auto longer = m;
  longer.push_back(0x42);  // the first frame's bytes may follow in the same read
  ASSERT_EQ(fle::parse_initial_message(longer.data(), longer.size(), out, consumed, error),
            fle::ParseStatus::kDone)
      << error;
  EXPECT_EQ(consumed, m.size());
  EXPECT_EQ(out.sid, 7);
  ASSERT_EQ(out.addresses.size(), 1u);
  EXPECT_EQ(out.addresses[0], (fle::HostPort{"10.0.0.7", 3888}));
}

TEST(InitialMessage, PreThreeFiveServerSendsOnlyItsSid) {
  std::vector<uint8_t> m;
  append64(m, 5);
  fle::InitialMessage out;
  size_t consumed = 0;
  std::string error;
  ASSERT_EQ(fle::parse_initial_message(m.data(), m.size(), out, consumed, error),
            fle::ParseStatus::kDone);
  EXPECT_EQ(out.sid, 5);
  EXPECT_EQ(consumed, 8u);
  EXPECT_TRUE(out.addresses.empty());
}

TEST(InitialMessage, V2ListsAddressesAndDropsWildcards) {
  std::vector<uint8_t> m;
  const std::string text = "0.0.0.0:3888|[::1]:3889|host-b:3890";
  append64(m, static_cast<uint64_t>(fle::kProtocolVersionV2));
  append64(m, 4);
  append32(m, static_cast<uint32_t>(text.size()));
  m.insert(m.end(), text.begin(), text.end());
  fle::InitialMessage out;
  size_t consumed = 0;
  std::string error;
  ASSERT_EQ(fle::parse_initial_message(m.data(), m.size(), out, consumed, error),
            fle::ParseStatus::kDone)
      << error;
  ASSERT_EQ(out.addresses.size(), 2u);
  EXPECT_EQ(out.addresses[0], (fle::HostPort{"::1", 3889}));
  EXPECT_EQ(out.addresses[1], (fle::HostPort{"host-b", 3890}));
}

TEST(InitialMessage, RejectsWhatZooKeeperRejects) {
  auto parse = [](std::vector<uint8_t> m) {
    fle::InitialMessage out;
    size_t consumed = 0;
    std::string error;
    return fle::parse_initial_message(m.data(), m.size(), out, consumed, error);
  };
  auto message = [](int64_t version, int32_t length, const std::string& text) {
    std::vector<uint8_t> m;
    append64(m, static_cast<uint64_t>(version));
    append64(m, 2);
    append32(m, static_cast<uint32_t>(length));
    m.insert(m.end(), text.begin(), text.end());
    return m;
  };
  EXPECT_EQ(parse(message(-1, 14, "127.0.0.1:3888")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(-65534, 14, "127.0.0.1:3888")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 0, "")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, -3, "")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 2049, "")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 9, "127.0.0.1")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 8, "a:b:c:dd")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 7, "a:99999")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 6, "a:port")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 5, "[::1]")), fle::ParseStatus::kError);
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 6, "[::1:2")), fle::ParseStatus::kError);
  // The longest address accepted is 2048 bytes.
  const std::string host(2043, 'h');
  EXPECT_EQ(parse(message(fle::kProtocolVersionV1, 2048, host + ":3888")),
            fle::ParseStatus::kDone);
}

}  // namespace

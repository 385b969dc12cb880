// Unit tests of paddock-bench's building blocks. The modes themselves are exercised end to end
// by tests/integration/test_bench.py against real servers.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "histogram.hpp"
#include "json.hpp"
#include "load.hpp"
#include "load_engine.hpp"
#include "options.hpp"
#include "paddock/sdk/jute.hpp"
#include "server_process.hpp"
#include "zk_wire.hpp"

namespace paddock::bench {
namespace {

TEST(Histogram, BucketsAreContiguousAndOrdered) {
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::bucket_high(b), Histogram::bucket_low(b + 1)) << "bucket " << b;
  }
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 1000ULL, 123456789ULL, (1ULL << 40) + 17}) {
    int b = Histogram::bucket_of(v);
    EXPECT_LE(Histogram::bucket_low(b), v);
    EXPECT_GT(Histogram::bucket_high(b), v);
  }
  EXPECT_LT(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets);
}

TEST(Histogram, QuantilesWithinBucketPrecision) {
  Histogram h;
  std::vector<uint64_t> values;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = 1000 + rng() % 10000000;  // 1 us .. 10 ms in ns
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double exact = static_cast<double>(values[static_cast<size_t>(std::ceil(q * values.size())) - 1]);
    EXPECT_NEAR(h.quantile(q), exact, exact * 0.02) << "q=" << q;
  }
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b;
  for (int i = 0; i < 10; ++i) a.record(100);
  for (int i = 0; i < 30; ++i) b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_NEAR(a.quantile(0.1), 100, 2);
  EXPECT_NEAR(a.quantile(0.9), 1000000, 20000);
  EXPECT_EQ(Histogram().quantile(0.5), 0.0);
}

TEST(Json, QuotesAndNumbers) {
  JsonObject o;
  o.set("s", "a\"b\\c\n").set("i", int64_t{-3}).set("d", 1.5).set("nan", nan()).set("b", true);
  o.set("v", std::vector<double>{1, 2.25});
  EXPECT_EQ(o.str(), R"({"s":"a\"b\\c\n","i":-3,"d":1.5,"nan":null,"b":true,"v":[1,2.25]})");
}

TEST(Options, ParsesValuesFlagsAndSuffixes) {
  Options o("test", {{"count", "N", "10", "n"}, {"keep", "", "", "flag"}, {"set", "K=V", "", "s", true}});
  o.parse({"--count=2k", "--keep", "--set", "a=1", "--set", "b=2"});
  EXPECT_EQ(o.integer("count"), 2000);
  EXPECT_TRUE(o.flag("keep"));
  EXPECT_EQ(o.all("set"), (std::vector<std::string>{"a=1", "b=2"}));
  Options d("test", {{"count", "N", "10", "n"}});
  d.parse({});
  EXPECT_EQ(d.integer("count"), 10);
}

TEST(Options, RefusesUnknownAndMalformed) {
  Options o("test", {{"count", "N", "10", "n"}});
  try {
    o.parse({"--cuont", "3"});
    FAIL() << "accepted an unknown option";
  } catch (const BenchError& e) {
    EXPECT_NE(std::string(e.what()).find("--cuont"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--count"), std::string::npos);  // lists the known ones
  }
  Options p("test", {{"count", "N", "10", "n"}});
  p.parse({"--count", "abc"});
  EXPECT_THROW(p.integer("count"), BenchError);
  Options q("test", {{"count", "N", "10", "n"}});
  EXPECT_THROW(q.parse({"--count"}), BenchError);
}

TEST(Workloads, MixAndAliases) {
  Workload w = make_workload("mixed", "read=90,write=10");
  ASSERT_EQ(w.weights.size(), 2u);
  EXPECT_EQ(w.describe(), "getData=90,setData=10");
  EXPECT_EQ(make_workload("set", "").name, "setData");
  EXPECT_TRUE(make_workload("delete", "").only(Op::kDelete));
  EXPECT_THROW(make_workload("mixed", "read=90,frobnicate=10"), BenchError);
  EXPECT_THROW(make_workload("nosuch", ""), BenchError);
}

TEST(Targets, ParseKinds) {
  EXPECT_EQ(parse_target("127.0.0.1:2181").kind, TargetKind::kExternal);
  EXPECT_EQ(parse_target("localhost:2181").port, 2181);
  EXPECT_EQ(parse_target("zookeeper").kind, TargetKind::kZooKeeper);
  EXPECT_EQ(parse_target("zookeeper").label(), "zookeeper-3.8");
  EXPECT_THROW(parse_target("10.0.0.1:2181"), BenchError);  // loopback only
  EXPECT_THROW(parse_target("paddock"), BenchError);        // needs a config
  EXPECT_THROW(parse_target("paddock:/nonexistent/zoo.cfg"), BenchError);
  EXPECT_THROW(parse_target("127.0.0.1:99999"), BenchError);
}

TEST(Targets, ConfigRewriteReplacesPortAndDirs) {
  std::string src =
      "tickTime=2000\n# comment\ndataDir=./data\nclientPort=2181\nclientPortAddress=0.0.0.0\n"
      "maxClientCnxns=60\npaddock.storage=file\n";
  std::string out = rewrite_config(src, TargetKind::kPaddock, 40001, "/tmp/x/data");
  EXPECT_EQ(out.find("clientPort=2181"), std::string::npos);
  EXPECT_EQ(out.find("dataDir=./data"), std::string::npos);
  EXPECT_NE(out.find("clientPort=40001\n"), std::string::npos);
  EXPECT_NE(out.find("clientPortAddress=127.0.0.1\n"), std::string::npos);
  EXPECT_NE(out.find("dataDir=/tmp/x/data\n"), std::string::npos);
  EXPECT_NE(out.find("paddock.storage=file\n"), std::string::npos);
  EXPECT_NE(out.find("# comment\n"), std::string::npos);
  EXPECT_NE(out.find("admin.enableServer=false\n"), std::string::npos);
  EXPECT_THROW(rewrite_config("server.1=a:1:2\n", TargetKind::kPaddock, 1, "/d"), BenchError);
}

TEST(Common, MedianAndSplit) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 2, 3}), 2.5);
  EXPECT_EQ(median({nan(), 5}), 5);
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_EQ(split(" a, b ,,c ", ','), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Targets, TlsSchemeAndSharedServer) {
  TargetSpec tls = parse_target("tls://127.0.0.1:2281");
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.kind, TargetKind::kExternal);
  EXPECT_EQ(tls.port, 2281);
  EXPECT_EQ(tls.label(), "tls://127.0.0.1:2281");
  EXPECT_FALSE(parse_target("127.0.0.1:2181").tls);
  EXPECT_THROW(parse_target("tls://10.0.0.1:2281"), BenchError);
  EXPECT_TRUE(parse_target("tls://zookeeper").tls);
  EXPECT_EQ(parse_target("tls://zookeeper").kind, TargetKind::kZooKeeper);

  TargetSpec plain_zk = parse_target("zookeeper"), tls_zk = parse_target("tls://zookeeper");
  EXPECT_TRUE(same_server(plain_zk, tls_zk));         // one config, both ports: one server
  EXPECT_TRUE(same_server(tls_zk, plain_zk));
  EXPECT_FALSE(same_server(plain_zk, plain_zk));      // the same port twice: two servers, as before
  EXPECT_FALSE(same_server(parse_target("127.0.0.1:1"), parse_target("tls://127.0.0.1:2")));
}

TEST(Targets, ConfigRewriteMovesTheSecurePort) {
  std::string src = "clientPort=2181\n# secureClientPort=1\nsecureClientPort=2281\nsecureClientPortAddress=0.0.0.0\n"
                    "ssl.keyStore.location=certs/server.pem\n";
  EXPECT_TRUE(config_has_key(src, "secureClientPort"));
  EXPECT_FALSE(config_has_key("# secureClientPort=1\nclientPort=1\n", "secureClientPort"));
  std::string out = rewrite_config(src, TargetKind::kPaddock, 40001, "/d", 40002);
  EXPECT_EQ(out.find("secureClientPort=2281"), std::string::npos);
  EXPECT_EQ(out.find("0.0.0.0"), std::string::npos);
  EXPECT_NE(out.find("secureClientPort=40002\nsecureClientPortAddress=127.0.0.1\n"), std::string::npos);
  EXPECT_NE(out.find("ssl.keyStore.location=certs/server.pem\n"), std::string::npos);
  // Without a secure port the key is dropped, as before.
  EXPECT_EQ(rewrite_config(src, TargetKind::kPaddock, 40001, "/d").find("\nsecureClientPort="), std::string::npos);
}

TEST(Client, Names) {
  EXPECT_EQ(parse_client("native"), ClientKind::kNative);
  EXPECT_EQ(parse_client("C"), ClientKind::kC);
  EXPECT_STREQ(client_label(ClientKind::kNative), "native");
  EXPECT_THROW(parse_client("java"), BenchError);
  LoadConfig cfg;
  cfg.port = 2281;
  EXPECT_EQ(cfg.hostport(), "127.0.0.1:2281");
}

namespace jute = paddock::sdk::jute;

// Strips and checks the length prefix; returns a reader over the payload.
std::string payload_of(const std::string& frame) {
  jute::Reader r(frame.data(), 4);
  EXPECT_EQ(r.read_int(), static_cast<int32_t>(frame.size() - 4));
  return frame.substr(4);
}

TEST(Wire, RequestFrames) {
  std::string p = payload_of(wire::create_frame(7, "/a/b", "xyz"));
  jute::Reader r(p);
  EXPECT_EQ(r.read_int(), 7);
  EXPECT_EQ(r.read_int(), 1);  // create
  EXPECT_EQ(r.read_string(), "/a/b");
  EXPECT_EQ(r.read_string(), "xyz");
  EXPECT_EQ(r.read_int(), 1);  // one ACL
  EXPECT_EQ(r.read_int(), 31);
  EXPECT_EQ(r.read_string(), "world");
  EXPECT_EQ(r.read_string(), "anyone");
  EXPECT_EQ(r.read_int(), 0);  // persistent
  EXPECT_TRUE(r.ok() && r.at_end());

  p = payload_of(wire::set_data_frame(8, "/k", "v"));
  jute::Reader s(p);
  EXPECT_EQ(s.read_int(), 8);
  EXPECT_EQ(s.read_int(), 5);
  EXPECT_EQ(s.read_string(), "/k");
  EXPECT_EQ(s.read_string(), "v");
  EXPECT_EQ(s.read_int(), -1);
  EXPECT_TRUE(s.ok() && s.at_end());

  struct {
    std::string frame;
    int32_t type;
    bool watch_flag;
  } reads[] = {{wire::get_data_frame(9, "/k"), 4, true}, {wire::exists_frame(9, "/k"), 3, true},
               {wire::delete_frame(9, "/k"), 2, false}};
  for (const auto& c : reads) {
    p = payload_of(c.frame);
    jute::Reader g(p);
    EXPECT_EQ(g.read_int(), 9);
    EXPECT_EQ(g.read_int(), c.type);
    EXPECT_EQ(g.read_string(), "/k");
    if (c.watch_flag) EXPECT_FALSE(g.read_bool());
    else EXPECT_EQ(g.read_int(), -1);  // any version
    EXPECT_TRUE(g.ok() && g.at_end()) << c.type;
  }
  EXPECT_EQ(wire::close_session_frame(3), std::string("\0\0\0\x08\0\0\0\x03\xff\xff\xff\xf5", 12));
  EXPECT_EQ(wire::ping_frame(), std::string("\0\0\0\x08\xff\xff\xff\xfe\0\0\0\x0b", 12));
}

TEST(Wire, ConnectHandshake) {
  std::string p = payload_of(wire::connect_request(30000));
  EXPECT_EQ(p.size(), 4u + 8 + 4 + 8 + 4 + 16 + 1);
  jute::Reader r(p);
  EXPECT_EQ(r.read_int(), 0);
  EXPECT_EQ(r.read_long(), 0);
  EXPECT_EQ(r.read_int(), 30000);

  std::string reply;
  jute::Writer w(reply);
  w.write_int(0);
  w.write_int(20000);
  w.write_long(0x1234);
  w.write_buffer(std::string(16, 'p'));
  auto c = wire::parse_connect_response(reply);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->timeout_ms, 20000);
  EXPECT_EQ(c->session_id, 0x1234);
  EXPECT_FALSE(wire::parse_connect_response(reply.substr(0, 10)));
}

TEST(Wire, FrameBufferReassemblesAnySplit) {
  std::string header;
  jute::Writer w(header);
  w.write_int(42);
  w.write_long(99);
  w.write_int(-101);
  std::string stream;
  for (int i = 0; i < 3; ++i) wire::append_frame(stream, header);
  wire::append_frame(stream, "");  // an empty payload is a frame too
  for (size_t chunk : {1u, 3u, 5u, 7u, 64u}) {
    wire::FrameBuffer fb;
    std::vector<std::string> got;
    for (size_t off = 0; off < stream.size(); off += chunk) {
      fb.append(stream.data() + off, std::min(chunk, stream.size() - off));
      while (auto f = fb.next()) got.emplace_back(*f);
    }
    ASSERT_EQ(got.size(), 4u) << "chunk " << chunk;
    auto h = wire::parse_reply_header(got[2]);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->xid, 42);
    EXPECT_EQ(h->zxid, 99);
    EXPECT_EQ(h->err, -101);
    EXPECT_TRUE(got[3].empty());
    EXPECT_EQ(fb.buffered(), 0u);
  }
  wire::FrameBuffer bad;
  bad.append("\xff\xff\xff\xff", 4);
  EXPECT_FALSE(bad.next());
  EXPECT_TRUE(bad.bad());
  EXPECT_FALSE(wire::parse_reply_header("abc"));
}

// The engine both clients share: the count bound, the op mix, delete bookkeeping.
struct EngineFixture {
  std::vector<std::string> keys{"/b/k/0", "/b/k/1"};
  std::string value = "v";
  RunPlan plan;
  Session session;
  EngineFixture(const std::string& workload, int64_t budget) {
    plan.workload = make_workload(workload, "read=1,write=1");
    for (const auto& [op, w] : plan.workload.weights) plan.total_weight += w;
    plan.key_paths = &keys;
    plan.value = &value;
    plan.create_prefix = "/b/c/t-";
    plan.budget = budget;
    plan.seconds = 2;
    plan.per_second = std::make_unique<std::atomic<int64_t>[]>(2);
    plan.per_second[0] = plan.per_second[1] = 0;
    plan.active = 1000;
    plan.t0 = now_ns();
    session.rng = 12345;
  }
};

TEST(Engine, CountBoundIsExact) {
  EngineFixture f("create", 3);
  Op op;
  std::string path;
  std::vector<std::string> paths;
  while (next_request(f.session, f.plan, op, path)) {
    EXPECT_EQ(op, Op::kCreate);
    paths.push_back(path);
    ASSERT_LT(paths.size(), 10u);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/b/c/t-0-0", "/b/c/t-0-1", "/b/c/t-0-2"}));
  EXPECT_EQ(f.plan.active.load(), 999);  // the slot that found no budget retired
}

TEST(Engine, MixAndCompletions) {
  EngineFixture f("mixed", 200);
  int reads = 0, writes = 0;
  Op op;
  std::string path;
  while (next_request(f.session, f.plan, op, path)) {
    EXPECT_TRUE(path == "/b/k/0" || path == "/b/k/1") << path;
    (op == Op::kGetData ? reads : writes) += 1;
    record_completion(f.session, f.plan, op, path, now_ns(), op == Op::kGetData ? zk_error::kOk : -101);
  }
  EXPECT_EQ(reads + writes, 200);
  EXPECT_GT(reads, 50);
  EXPECT_GT(writes, 50);
  EXPECT_EQ(f.session.ok, reads);
  EXPECT_EQ(f.session.errors, writes);
  EXPECT_EQ(f.session.codes[-101], writes);
  EXPECT_EQ(f.plan.completed.load(), 200);
  EXPECT_FALSE(f.plan.stop.load());  // NONODE is not a session error
  record_completion(f.session, f.plan, Op::kGetData, "/x", now_ns(), zk_error::kConnectionLoss);
  EXPECT_TRUE(f.plan.stop.load());
  EXPECT_FALSE(f.plan.abort_reason.empty());
}

TEST(Engine, DeletesWhatWasCreated) {
  EngineFixture f("delete", 10);
  f.plan.track_created = true;
  for (int i = 0; i < 2; ++i) {
    f.plan.workload = make_workload("create", "");
    Op op;
    std::string path;
    ASSERT_TRUE(next_request(f.session, f.plan, op, path));
    record_completion(f.session, f.plan, op, path, now_ns(), zk_error::kOk);
  }
  EXPECT_EQ(f.session.created.size(), 2u);
  f.plan.workload = make_workload("delete", "");
  Op op;
  std::string path;
  ASSERT_TRUE(next_request(f.session, f.plan, op, path));
  EXPECT_EQ(op, Op::kDelete);
  EXPECT_EQ(path, "/b/c/t-0-1");
  ASSERT_TRUE(next_request(f.session, f.plan, op, path));
  EXPECT_FALSE(next_request(f.session, f.plan, op, path));  // nothing left to delete
  EXPECT_EQ(f.plan.budget.load(), 6);  // a retired slot takes no budget
}

}  // namespace
}  // namespace paddock::bench

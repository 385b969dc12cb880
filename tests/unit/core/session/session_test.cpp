#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "session/session_tracker.hpp"

using namespace paddock::session;

namespace {
std::string hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}
}  // namespace

TEST(SessionPassword, MatchesJavaUtilRandom) {
  // Check value computed by the JDK (spec/client-protocol.md 2.5).
  EXPECT_EQ(hex(password_for(0x0100017a2b3c0000LL)), "065cbb0e1bc49070548db8d85ced9fcc");
}

TEST(SessionTracker, IdsCarryServerIdInTopByte) {
  SessionTracker t(100, 1, [](std::shared_ptr<Session>) {});
  auto a = t.create(1000);
  auto b = t.create(1000);
  EXPECT_EQ(static_cast<uint64_t>(a->id) >> 56, 1u);
  EXPECT_EQ(b->id, a->id + 1);
  EXPECT_EQ(t.get(a->id), a);
}

TEST(SessionTracker, ExpiresSilentSessionsWithinTimeoutPlusTick) {
  std::atomic<int> expired{0};
  SessionTracker t(50, 1, [&](std::shared_ptr<Session> s) {
    EXPECT_TRUE(s->closing.load());
    ++expired;
  });
  auto s = t.create(200);
  auto start = std::chrono::steady_clock::now();
  t.start();
  for (int i = 0; i < 100 && expired == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto elapsed = std::chrono::steady_clock::now() - start;
  t.stop();
  EXPECT_EQ(expired.load(), 1);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LE(elapsed, std::chrono::milliseconds(1000));
}

TEST(SessionTracker, TouchKeepsSessionAlive) {
  std::atomic<int> expired{0};
  SessionTracker t(20, 1, [&](std::shared_ptr<Session>) { ++expired; });
  auto s = t.create(100);
  t.start();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(t.touch(*s));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  t.stop();
  EXPECT_EQ(expired.load(), 0);
}

#include "core/swarm/source_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringtrack {
namespace {

PeerEndpoint V4(uint32_t ip) { return PeerEndpoint::V4(ip, 6881); }
// 2001:db8:<site>:<subnet>::1, subnet = /56 byte and /64 byte.
PeerEndpoint V6(uint8_t site, uint8_t net56, uint8_t net64) {
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, site, net56, net64};
  ip[15] = 1;
  return PeerEndpoint::V6(ip, 6881);
}

// A token every 640 ms, burst 3: an address or /64 may create 3 swarms at
// once, a /56 6, a /24 or /48 192, and a /24's or /48's tokens come every
// 10 ms (640 / 64, exactly).
SourceLimiterConfig Config() {
  return {.rate_per_s = 1000.0 / 640, .burst = 3, .buckets = 65536,
          .seed0 = 1, .seed1 = 2};
}

// How many of `tries` new swarms `who` may create at time `now`.
int Allowed(SourceLimiter& l, const PeerEndpoint& who, uint32_t now,
            int tries = 1000) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += l.Allow(who, now);
  return n;
}

TEST(SourceLimiterTest, AnAddressGetsItsBurstThenItsRate) {
  SourceLimiter l(Config());
  EXPECT_EQ(Allowed(l, V4(0x0a000001), 1000), 3);
  EXPECT_EQ(Allowed(l, V4(0x0a000001), 1001), 1);
  EXPECT_EQ(Allowed(l, V4(0x0a000002), 1001), 3);  // its neighbour is apart
}

TEST(SourceLimiterTest, AnIpv4Slash24SharesSixtyFourSourcesWorth) {
  SourceLimiter l(Config());
  // 100 addresses of 10.0.0.0/24 at once: 192 swarms in all, not 300.
  int n = 0;
  for (uint32_t a = 1; a <= 100; ++a) n += Allowed(l, V4(0x0a000000 + a), 1000);
  EXPECT_EQ(n, 192);
  EXPECT_EQ(Allowed(l, V4(0x0a0000c8), 1000), 0);  // a fresh address too
  EXPECT_EQ(Allowed(l, V4(0x0a000101), 1000), 3);  // the next /24 is apart
  // A second later the /24 has 100 more tokens (one every 10 ms).
  n = 0;
  for (uint32_t a = 101; a <= 200; ++a) n += Allowed(l, V4(0x0a000000 + a), 1001);
  EXPECT_EQ(n, 100);
}

TEST(SourceLimiterTest, Ipv6LimitsTheSlash64Slash56AndSlash48) {
  SourceLimiter l(Config());
  // 10 /64s of one /56: 6 swarms (twice a /64's burst), not 30.
  int n = 0;
  for (uint8_t net = 0; net < 10; ++net) n += Allowed(l, V6(1, 0, net), 1000);
  EXPECT_EQ(n, 6);
  // 2 000 /64s over 250 /56s of one /48: 192 in all (6 already taken).
  n = 0;
  for (int i = 0; i < 2000; ++i) {
    n += Allowed(l, V6(1, static_cast<uint8_t>(1 + i / 8),
                       static_cast<uint8_t>(i)), 1000);
  }
  EXPECT_EQ(n, 186);
  EXPECT_EQ(Allowed(l, V6(2, 0, 0), 1000), 3);  // the next /48 is apart
}

// A source refused by its prefix keeps its own tokens: trying again and
// again while its /24 is empty does not use up its own burst.
TEST(SourceLimiterTest, ARefusalByThePrefixGivesTheSourceItsTokenBack) {
  SourceLimiter l(Config());
  for (uint32_t a = 1; a <= 64; ++a) {
    ASSERT_EQ(Allowed(l, V4(0x0a000000 + a), 1000), 3);
  }
  EXPECT_EQ(Allowed(l, V4(0x0a0000ff), 1000, 10), 0);
  // One second later the /24 has 100 tokens again and 10.0.0.255 its whole
  // burst of 3 (without the tokens given back it would have 1).
  EXPECT_EQ(Allowed(l, V4(0x0a0000ff), 1001), 3);
}

TEST(SourceLimiterTest, SetRateScalesEveryLevel) {
  SourceLimiter l(Config());
  l.SetRate(10, 1);
  // A /24's burst is 64; an address's 1.
  int n = 0;
  for (uint32_t a = 1; a <= 100; ++a) n += Allowed(l, V4(0x0a000000 + a), 1000);
  EXPECT_EQ(n, 64);
}

}  // namespace
}  // namespace ringtrack

#include "core/swarm/prefix_share.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringtrack {
namespace {

TEST(PrefixShareTest, KeysAreTheSlash24AndTheSlash48) {
  PrefixShare s(1024, 10, 7);
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 200},
                c[4] = {10, 0, 1, 1};
  EXPECT_EQ(s.KeyOf(AddressFamily::kV4, a), s.KeyOf(AddressFamily::kV4, b));
  EXPECT_NE(s.KeyOf(AddressFamily::kV4, a), s.KeyOf(AddressFamily::kV4, c));
  uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff, 0xff, 1, 2, 3};
  uint8_t y[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
  uint8_t z[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
  EXPECT_EQ(s.KeyOf(AddressFamily::kV6, x), s.KeyOf(AddressFamily::kV6, y));
  EXPECT_NE(s.KeyOf(AddressFamily::kV6, x), s.KeyOf(AddressFamily::kV6, z));
  // 10.0.0.0/24 and the IPv6 prefix 0a00:00::/48 are different prefixes.
  const uint8_t v6_like_v4[16] = {10, 0, 0};
  EXPECT_NE(s.KeyOf(AddressFamily::kV4, a),
            s.KeyOf(AddressFamily::kV6, v6_like_v4));
}

TEST(PrefixShareTest, APrefixHoldsAtMostItsShareAndGetsItBack) {
  PrefixShare s(1024, 10, 7);
  const uint8_t a[4] = {10, 0, 0, 1}, c[4] = {10, 0, 1, 1};
  const PrefixKey ka = s.KeyOf(AddressFamily::kV4, a);
  const PrefixKey kc = s.KeyOf(AddressFamily::kV4, c);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.TryAdd(ka)) << i;
  EXPECT_FALSE(s.TryAdd(ka));
  EXPECT_EQ(s.Estimate(ka), 10u);
  EXPECT_TRUE(s.TryAdd(kc));
  s.Remove(ka);
  EXPECT_TRUE(s.TryAdd(ka));
  EXPECT_FALSE(s.TryAdd(ka));
}

// With two counters per prefix, prefixes at their share hold back another
// prefix only when both its counters collide with theirs.
TEST(PrefixShareTest, FewInnocentPrefixesAreHeldBack) {
  PrefixShare s(1 << 16, 4, 9);
  for (uint32_t p = 0; p < 2000; ++p) {  // 2 000 /24s at their share
    const uint8_t ip[4] = {10, static_cast<uint8_t>(p >> 8),
                           static_cast<uint8_t>(p), 1};
    const PrefixKey k = s.KeyOf(AddressFamily::kV4, ip);
    while (s.TryAdd(k)) {
    }
  }
  int held_back = 0;
  for (uint32_t p = 0; p < 10000; ++p) {
    const uint8_t ip[4] = {172, static_cast<uint8_t>(p >> 8),
                           static_cast<uint8_t>(p), 1};
    held_back += !s.TryAdd(s.KeyOf(AddressFamily::kV4, ip));
  }
  EXPECT_LT(held_back, 50);  // ~ (2000 / 65536)^2 = 0.09 %: ~9 of 10 000
}

}  // namespace
}  // namespace ringtrack

#include "core/base/siphash.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace {

// Byte-wise SipHash-2-4 straight from the paper, for any message length.
uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
uint64_t ReferenceSipHash(uint64_t k0, uint64_t k1, const uint8_t* m,
                          size_t len) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  };
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w = 0;
    for (int j = 7; j >= 0; --j) w = (w << 8) | m[i + j];
    v3 ^= w;
    round();
    round();
    v0 ^= w;
  }
  uint64_t b = uint64_t{len & 0xff} << 56;
  for (size_t j = 0; i + j < len; ++j) b |= uint64_t{m[i + j]} << (8 * j);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

TEST(SipHashTest, ReferenceMatchesPaperVector) {
  // SipHash paper, appendix A: key 00..0f, message 00..0e.
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
  const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  EXPECT_EQ(ReferenceSipHash(k0, k1, msg, 15), 0xa129ca6149be45e5ULL);
}

TEST(SipHashTest, ConnHashIsSipHashOfTwentyBytes) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 1000; ++n) {
    uint8_t msg[20];
    for (auto& b : msg) b = static_cast<uint8_t>(rng());
    const uint64_t k0 = rng(), k1 = rng();
    uint32_t t;
    std::memcpy(&t, msg + 16, 4);  // little-endian host, as SipHash reads
    ASSERT_EQ(rt_siphash24_conn(k0, k1, msg, t),
              ReferenceSipHash(k0, k1, msg, 20));
  }
}

}  // namespace

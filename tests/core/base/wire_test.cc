#include "core/base/wire.h"

#include <gtest/gtest.h>

namespace ringtrack::wire {
namespace {

TEST(WireTest, StoresBigEndianBytes) {
  uint8_t b[8] = {};
  StoreBe16(b, 0x1a2b);
  EXPECT_EQ(b[0], 0x1a);
  EXPECT_EQ(b[1], 0x2b);
  StoreBe32(b, 0x01020304);
  EXPECT_EQ((std::array<uint8_t, 4>{b[0], b[1], b[2], b[3]}),
            (std::array<uint8_t, 4>{1, 2, 3, 4}));
  StoreBe64(b, 0x41727101980ULL);
  const uint8_t magic[8] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80};
  EXPECT_EQ(0, memcmp(b, magic, 8));
}

TEST(WireTest, LoadsAtUnalignedOffsets) {
  const uint8_t b[11] = {0xff, 0x80, 0, 0, 0, 1, 2, 3, 4, 5, 6};
  EXPECT_EQ(LoadBe16(b + 1), 0x8000);
  EXPECT_EQ(LoadBe32(b + 1), 0x80000000u);
  EXPECT_EQ(LoadBe64(b + 3), 0x0000010203040506ULL);
}

TEST(WireTest, RoundTrips) {
  uint8_t b[9];
  for (uint64_t v : {0ULL, 1ULL, 0xdeadbeefcafef00dULL, ~0ULL}) {
    StoreBe64(b + 1, v);
    EXPECT_EQ(LoadBe64(b + 1), v);
    StoreBe32(b + 1, static_cast<uint32_t>(v));
    EXPECT_EQ(LoadBe32(b + 1), static_cast<uint32_t>(v));
  }
}

}  // namespace
}  // namespace ringtrack::wire

#include "tools/tracker_target.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "tools/zipf.h"

namespace ringtrack {
namespace {

TEST(TrackerTargetTest, AcceptsUrlsAndHostPort) {
  for (const char* spec : {"udp://127.0.0.1:6969/announce", "127.0.0.1:6969",
                           "http://127.0.0.1:6969/announce",
                           "http://[::1]:6969/announce",
                           "udp://[::1]:6969", "[::1]:6969",
                           "udp://localhost:6969/announce?passkey=x"}) {
    auto t = ResolveTarget(spec);
    ASSERT_TRUE(t.ok()) << spec << ": " << t.status();
    const uint16_t port =
        t->addr.ss_family == AF_INET
            ? ntohs(reinterpret_cast<sockaddr_in*>(&t->addr)->sin_port)
            : ntohs(reinterpret_cast<sockaddr_in6*>(&t->addr)->sin6_port);
    EXPECT_EQ(port, 6969) << spec;
  }
  EXPECT_EQ(ResolveTarget("[::1]:1")->family(), AddressFamily::kV6);
  EXPECT_EQ(ResolveTarget("127.0.0.1:1")->family(), AddressFamily::kV4);
}

TEST(TrackerTargetTest, KeepsTheSchemeAndPath) {
  auto h = ResolveTarget("http://127.0.0.1/announce.php?passkey=1");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->http());
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&h->addr)->sin_port), 80);
  EXPECT_EQ(h->url.path, "/announce.php?passkey=1");
  auto u = ResolveTarget("[::1]:6969");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->http());
  EXPECT_EQ(u->text, "[::1]:6969");
}

TEST(TrackerTargetTest, RejectsOtherSchemesAndMissingPorts) {
  for (const char* bad : {"https://127.0.0.1:80/announce", "127.0.0.1",
                          "udp://127.0.0.1", "[::1]6969", "127.0.0.1:x",
                          ":6969"}) {
    EXPECT_FALSE(ResolveTarget(bad).ok()) << bad;
  }
}

TEST(TrackerTargetTest, InfoHashHexRoundTrips) {
  const std::string hex = "00112233445566778899aabbccddeeff01234567";
  auto h = ParseInfoHash(hex);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->bytes[0], 0x00);
  EXPECT_EQ(h->bytes[19], 0x67);
  EXPECT_EQ(InfoHashHex(*h), hex);
  EXPECT_TRUE(ParseInfoHash("00112233445566778899AABBCCDDEEFF01234567").ok());
  EXPECT_FALSE(ParseInfoHash(hex.substr(1)).ok());
  EXPECT_FALSE(ParseInfoHash(hex.substr(1) + "g").ok());
}

TEST(ZipfTest, SkewsTowardLowRanksAndIsUniformAtZero) {
  const ZipfSampler zipf(1000, 1.0), flat(1000, 0.0);
  std::vector<int> z(1000), f(1000);
  uint64_t x = 1;
  for (int i = 0; i < 200000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    ++z[zipf.Sample(x)];
    ++f[flat.Sample(x)];
  }
  // Zipf(1): P(rank 0) = 1/H(1000) ≈ 13.4 %, rank 1 half of that.
  EXPECT_NEAR(z[0] / 200000.0, 0.134, 0.01);
  EXPECT_NEAR(static_cast<double>(z[1]) / z[0], 0.5, 0.05);
  EXPECT_GT(z[0], 50 * z[999]);
  for (int r : {0, 500, 999}) EXPECT_NEAR(f[r], 200, 60) << r;
}

}  // namespace
}  // namespace ringtrack

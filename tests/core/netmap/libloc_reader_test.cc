// The libloc reader against libloc's own lookup on the database Debian's
// libloc-database installs.
#include "core/netmap/libloc_reader.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

extern "C" {
#include <libloc/database.h>
#include <libloc/libloc.h>
#include <libloc/network.h>
}

namespace ringtrack {
namespace {

TEST(LibLocReaderTest, AgreesWithLibLocLookups) {
  if (!IsLibLocDatabase(kDefaultLibLocPath)) {
    GTEST_SKIP() << kDefaultLibLocPath << " missing (libloc-database)";
  }
  auto m = LoadLibLocNetworkMap(kDefaultLibLocPath);
  ASSERT_TRUE(m.ok()) << m.status();
  const NetworkMap& map = **m;
  EXPECT_GT(map.networks(), 10000u);
  EXPECT_GT(map.ranges_v4(), 100000u);
  EXPECT_GT(map.ranges_v6(), 10000u);

  FILE* f = fopen(kDefaultLibLocPath, "rb");
  ASSERT_NE(f, nullptr);
  loc_ctx* ctx = nullptr;
  ASSERT_EQ(loc_new(&ctx), 0);
  loc_database* db = nullptr;
  ASSERT_EQ(loc_database_new(ctx, &db, f), 0);
  std::mt19937_64 rng(1);
  int inside = 0;
  for (int i = 0; i < 20000; ++i) {
    PeerEndpoint p;
    in6_addr a{};
    if (i % 2 == 0) {
      p.family = AddressFamily::kV4;
      const uint32_t ip = static_cast<uint32_t>(rng());
      for (int k = 0; k < 4; ++k) p.ip[k] = uint8_t(ip >> (24 - 8 * k));
      a.s6_addr[10] = a.s6_addr[11] = 0xff;
      std::memcpy(a.s6_addr + 12, p.ip.data(), 4);
    } else {
      p.family = AddressFamily::kV6;
      const uint64_t hi = (rng() & 0x0fffffffffffffffULL) | 0x2000000000000000ULL;
      for (int k = 0; k < 8; ++k) p.ip[k] = uint8_t(hi >> (56 - 8 * k));
      for (int k = 8; k < 16; ++k) p.ip[k] = uint8_t(rng());
      std::memcpy(a.s6_addr, p.ip.data(), 16);
    }
    loc_network* net = nullptr;
    std::string want = "-";
    if (loc_database_lookup(db, &a, &net) == 0 && net != nullptr) {
      if (const uint32_t asn = loc_network_get_asn(net)) {
        want = "AS" + std::to_string(asn);
      }
      loc_network_unref(net);
    }
    const NetworkId id = map.Lookup(p);
    const std::string got = id == kOutsideMap ? "-" : std::string(map.name(id));
    ASSERT_EQ(got, want) << "address #" << i;
    inside += got != "-";
  }
  EXPECT_GT(inside, 5000);
  loc_database_unref(db);
  loc_unref(ctx);
  fclose(f);
}

TEST(LibLocReaderTest, RefusesOtherFilesNamingThem) {
  EXPECT_FALSE(IsLibLocDatabase("/etc/hostname"));
  auto m = LoadLibLocNetworkMap("/etc/hostname");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("/etc/hostname"),
            std::string::npos);
  auto missing = LoadLibLocNetworkMap("/nonexistent.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("/nonexistent.db"),
            std::string::npos);
}

}  // namespace
}  // namespace ringtrack

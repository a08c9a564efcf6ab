#include "core/netmap/network_map.h"

#include <arpa/inet.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

PeerEndpoint V4(const char* s) {
  PeerEndpoint p;
  p.family = AddressFamily::kV4;
  EXPECT_EQ(inet_pton(AF_INET, s, p.ip.data()), 1) << s;
  return p;
}
PeerEndpoint V6(const char* s) {
  PeerEndpoint p;
  p.family = AddressFamily::kV6;
  EXPECT_EQ(inet_pton(AF_INET6, s, p.ip.data()), 1) << s;
  return p;
}

std::string NameAt(const NetworkMap& m, const PeerEndpoint& p) {
  const NetworkId id = m.Lookup(p);
  return id == kOutsideMap ? "-" : std::string(m.name(id));
}

TEST(NetworkMapTest, LongestPrefixWinsInBothFamilies) {
  auto m = NetworkMap::Parse(R"(# sites
10.0.0.0/8      corp
10.1.0.0/16     site-a   de   # a site inside corp
10.1.2.0/24     lab
10.2.0.0/16     site-a
127.0.0.2/32    one
0.0.0.0/0       world
fd00::/8        ula
fd00:1::/32     isp-b    FR
fd00:1:2::/48   corp
)",
                             "test.map");
  ASSERT_TRUE(m.ok()) << m.status();
  const NetworkMap& map = **m;
  EXPECT_EQ(map.networks(), 7u);
  EXPECT_EQ(NameAt(map, V4("10.0.0.1")), "corp");
  EXPECT_EQ(NameAt(map, V4("10.1.0.0")), "site-a");
  EXPECT_EQ(NameAt(map, V4("10.1.255.255")), "site-a");
  EXPECT_EQ(NameAt(map, V4("10.1.2.9")), "lab");
  EXPECT_EQ(NameAt(map, V4("10.1.3.0")), "site-a");
  EXPECT_EQ(NameAt(map, V4("10.2.7.7")), "site-a");
  EXPECT_EQ(NameAt(map, V4("10.3.0.0")), "corp");
  EXPECT_EQ(NameAt(map, V4("10.255.255.255")), "corp");
  EXPECT_EQ(NameAt(map, V4("11.0.0.0")), "world");
  EXPECT_EQ(NameAt(map, V4("127.0.0.2")), "one");
  EXPECT_EQ(NameAt(map, V4("127.0.0.3")), "world");
  EXPECT_EQ(NameAt(map, V4("255.255.255.255")), "world");
  EXPECT_EQ(NameAt(map, V6("fd00::1")), "ula");
  EXPECT_EQ(NameAt(map, V6("fd00:1::1")), "isp-b");
  EXPECT_EQ(NameAt(map, V6("fd00:1:2:3::1")), "corp");
  EXPECT_EQ(NameAt(map, V6("fd00:1:3::1")), "isp-b");
  EXPECT_EQ(NameAt(map, V6("fe80::1")), "-");
  EXPECT_EQ(NameAt(map, V6("::")), "-");
  // An IPv4-mapped IPv6 address is its IPv4 address.
  EXPECT_EQ(NameAt(map, V6("::ffff:10.1.2.3")), "lab");
  // One id per name, whatever the family; the first country counts.
  EXPECT_EQ(map.Lookup(V4("10.1.0.1")), map.Lookup(V4("10.2.0.1")));
  EXPECT_EQ(map.Lookup(V4("10.0.0.1")), map.Lookup(V6("fd00:1:2::1")));
  EXPECT_EQ(map.country(map.Lookup(V4("10.1.0.1"))), "DE");
  EXPECT_EQ(map.country(map.Lookup(V6("fd00:1::1"))), "FR");
  EXPECT_EQ(map.country(map.Lookup(V4("10.0.0.1"))), "");
}

TEST(NetworkMapTest, EdgesOfTheAddressSpace) {
  auto m = NetworkMap::Parse(
      "0.0.0.0/32 first\n255.255.255.255/32 last\n255.255.0.0/16 top\n"
      "::/128 z\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 f\n",
      "edges");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(NameAt(**m, V4("0.0.0.0")), "first");
  EXPECT_EQ(NameAt(**m, V4("0.0.0.1")), "-");
  EXPECT_EQ(NameAt(**m, V4("255.255.255.255")), "last");
  EXPECT_EQ(NameAt(**m, V4("255.255.255.254")), "top");
  EXPECT_EQ(NameAt(**m, V4("255.254.255.255")), "-");
  EXPECT_EQ(NameAt(**m, V6("::")), "z");
  EXPECT_EQ(NameAt(**m, V6("::1")), "-");
  EXPECT_EQ(NameAt(**m, V6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), "f");
  EXPECT_EQ(NameAt(**m, V6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")), "-");
}

TEST(NetworkMapTest, EmptyMapPutsEveryoneOutside) {
  auto m = NetworkMap::Parse("# nothing\n\n", "empty");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->networks(), 0u);
  EXPECT_EQ((*m)->Lookup(V4("1.2.3.4")), kOutsideMap);
  EXPECT_EQ((*m)->Lookup(V6("2001:db8::1")), kOutsideMap);
}

TEST(NetworkMapTest, BadLinesNameFileAndLine) {
  const struct {
    const char* text;
    const char* want;  // in the message
  } cases[] = {
      {"10.0.0.0/8 a\n10.0.0.0/33 b\n", "m.map:2: '10.0.0.0/33'"},
      {"\n\n10.0.0.0 a\n", "m.map:3: '10.0.0.0' is not ADDRESS/LENGTH"},
      {"10.0.0.0/x a\n", "m.map:1:"},
      {"10.0.0.0/-1 a\n", "m.map:1:"},
      {"10.0.0.0/+8 a\n", "m.map:1:"},
      {"300.0.0.0/8 a\n", "m.map:1:"},
      {"fd00::/129 a\n", "m.map:1:"},
      {"10.0.0.0/8\n", "m.map:1: no network name"},
      {"# c\n10.0.0.1/8 a\n", "m.map:2: '10.0.0.1/8' has bits set past /8"},
      {"fd00::1/64 a\n", "has bits set past /64"},
      {"10.0.0.0/8 a DEU\n", "m.map:1: country 'DEU'"},
      {"10.0.0.0/8 a 1x\n", "country '1x'"},
      {"10.0.0.0/8 a DE extra\n", "m.map:1: unexpected 'extra'"},
      {"10.0.0.0/8 a\n10.0.0.0/8 b\n", "m.map:2: '10.0.0.0/8' is listed already on line 1"},
  };
  for (const auto& c : cases) {
    auto m = NetworkMap::Parse(c.text, "m.map");
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(m.status().message()).find(c.want), std::string::npos)
        << m.status() << " wanted " << c.want;
    EXPECT_NE(std::string(m.status().message()).find("expected `CIDR NAME"),
              std::string::npos)
        << m.status();
  }
}

TEST(NetworkMapTest, LoadNamesAMissingFile) {
  auto m = NetworkMap::Load("/nonexistent/ringtrack.map");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("/nonexistent/ringtrack.map"),
            std::string::npos);
  char path[] = "/tmp/network_map_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "127.0.0.0/8 loop\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  auto ok = NetworkMap::Load(path);
  unlink(path);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(NameAt(**ok, V4("127.1.2.3")), "loop");
}

// Random nested prefixes against a linear longest-prefix scan.
TEST(NetworkMapTest, AgreesWithALinearScan) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    NetworkMap::Builder b;
    struct P {
      uint32_t ip, len;
      NetworkId id;
    };
    std::vector<P> ps;
    // Prefixes concentrated in 10/8 so they nest often.
    for (int i = 0; i < 300; ++i) {
      const uint32_t len = 8 + rng() % 25;
      const uint32_t mask = len == 32 ? ~0u : ~(~0u >> len);
      const uint32_t ip = (0x0a000000u | (rng() & 0x00ffffffu)) & mask;
      bool dup = false;
      for (const P& q : ps) dup |= q.ip == ip && q.len == len;
      if (dup) continue;
      const NetworkId id = b.Network("n" + std::to_string(rng() % 40));
      const uint8_t bytes[4] = {uint8_t(ip >> 24), uint8_t(ip >> 16),
                                uint8_t(ip >> 8), uint8_t(ip)};
      b.Add(AddressFamily::kV4, bytes, len, id);
      ps.push_back({ip, len, id});
    }
    auto map = std::move(b).Build();
    for (int probe = 0; probe < 3000; ++probe) {
      uint32_t ip = (rng() & 1) ? 0x0a000000u | (rng() & 0x00ffffffu)
                                : static_cast<uint32_t>(rng());
      if (probe % 3 == 0) ip = ps[rng() % ps.size()].ip + (rng() % 3) - 1;
      NetworkId want = kOutsideMap;
      int best = -1;
      for (const P& q : ps) {
        const uint32_t mask = q.len == 0 ? 0 : ~(~0u >> q.len) | (q.len == 32 ? ~0u : 0);
        if ((ip & mask) == q.ip && int(q.len) > best) {
          best = int(q.len);
          want = q.id;
        }
      }
      const PeerEndpoint p = PeerEndpoint::V4(ip, 1);
      ASSERT_EQ(map->Lookup(p), want) << std::hex << ip;
    }
  }
}

}  // namespace
}  // namespace ringtrack

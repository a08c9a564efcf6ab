#include "daemon/net.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace ringtrack {
namespace {

TEST(NetTest, ParsesListenAddresses) {
  auto a = ParseListenAddress("127.0.0.1:6969");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 6969);
  auto any = ParseListenAddress(":80");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(FormatAddress(any->addr), "0.0.0.0:80");
  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(FormatAddress(v6->addr), "[::1]:0");
}

TEST(NetTest, RejectsBadListenAddressesWithAReason) {
  for (const char* bad : {"nowhere", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536",
                          "1.2.3.4:http", "::1:6969", "[::1:6969",
                          "[zz::1]:1", "localhost:6969", "300.1.1.1:1"}) {
    auto a = ParseListenAddress(bad);
    EXPECT_FALSE(a.ok()) << bad;
    EXPECT_NE(a.status().message().find(bad), std::string::npos)
        << a.status();
  }
}

TEST(NetTest, ConvertsSourceAddresses) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(6881);
  inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
  PeerEndpoint e;
  ASSERT_TRUE(ToEndpoint(reinterpret_cast<sockaddr*>(&in), sizeof(in), &e));
  EXPECT_EQ(e, PeerEndpoint::V4(0x0a010203, 6881));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  inet_pton(AF_INET6, "fd00::7", &in6.sin6_addr);
  ASSERT_TRUE(ToEndpoint(reinterpret_cast<sockaddr*>(&in6), sizeof(in6), &e));
  EXPECT_EQ(e.family, AddressFamily::kV6);
  EXPECT_EQ(e.ip[0], 0xfd);
  EXPECT_EQ(e.ip[15], 7);
  EXPECT_EQ(e.port, 443);
  // Truncated or foreign addresses are refused.
  EXPECT_FALSE(ToEndpoint(reinterpret_cast<sockaddr*>(&in), 4, &e));
  sockaddr un{};
  un.sa_family = AF_UNIX;
  EXPECT_FALSE(ToEndpoint(&un, sizeof(un), &e));
}

}  // namespace
}  // namespace ringtrack

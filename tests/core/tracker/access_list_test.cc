#include "core/tracker/access_list.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ringtrack {
namespace {

InfoHash H(uint8_t b) {
  InfoHash h;
  h.bytes.fill(b);
  return h;
}
std::string Hex(uint8_t b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 20; ++i) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

TEST(AccessListTest, AllowAndDenyModes) {
  const std::string text = "# banned\n" + Hex(1) + "\n\n  " + Hex(2) +
                           "  # trailing comment\n" + Hex(0xab) + "\r\n";
  auto allow = AccessList::Parse(text, AccessList::Mode::kAllow, "list");
  ASSERT_TRUE(allow.ok()) << allow.status();
  EXPECT_EQ((*allow)->size(), 3u);
  EXPECT_TRUE((*allow)->Allows(H(1)));
  EXPECT_TRUE((*allow)->Allows(H(0xab)));
  EXPECT_FALSE((*allow)->Allows(H(3)));
  auto deny = AccessList::Parse(text, AccessList::Mode::kDeny, "list");
  ASSERT_TRUE(deny.ok());
  EXPECT_FALSE((*deny)->Allows(H(2)));
  EXPECT_TRUE((*deny)->Allows(H(3)));
}

TEST(AccessListTest, UppercaseHexIsTheSameHash) {
  std::string upper = Hex(0xab);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto l = AccessList::Parse(upper, AccessList::Mode::kAllow, "x");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE((*l)->Allows(H(0xab)));
}

TEST(AccessListTest, MalformedLineIsNamedWithItsNumber) {
  for (const std::string& bad :
       std::vector<std::string>{Hex(1).substr(0, 39), Hex(1) + "0",
                                "zz" + Hex(1).substr(2),
        Hex(1) + " " + Hex(2)}) {
    auto l = AccessList::Parse(Hex(5) + "\n# ok\n" + bad + "\n",
                               AccessList::Mode::kAllow, "/etc/list");
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_NE(l.status().message().find("/etc/list:3:"), std::string::npos)
        << l.status();
  }
}

TEST(AccessListTest, EmptyFileAllowsNothingOrDeniesNothing) {
  auto allow = AccessList::Parse("", AccessList::Mode::kAllow, "e");
  auto deny = AccessList::Parse("\n# nothing\n", AccessList::Mode::kDeny, "e");
  ASSERT_TRUE(allow.ok() && deny.ok());
  EXPECT_FALSE((*allow)->Allows(H(1)));
  EXPECT_TRUE((*deny)->Allows(H(1)));
}

TEST(AccessListTest, MissingFileIsAnError) {
  auto l = AccessList::Load("/nonexistent/ringtrack-list", AccessList::Mode::kAllow);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("/nonexistent/ringtrack-list"),
            std::string::npos);
  // errno's text: a missing file and an unreadable one need different fixes.
  EXPECT_NE(l.status().message().find("No such file or directory"),
            std::string::npos)
      << l.status().message();
}

TEST(AccessListTest, MemoryBytesCoverItsTable) {
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    char line[48];
    std::snprintf(line, sizeof(line), "%08x%032d\n", i, 0);
    text += line;
  }
  auto l = AccessList::Parse(text, AccessList::Mode::kAllow, "m");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ((*l)->size(), 10000u);
  // At least a slot and a control byte per hash; at most the table sized
  // once for the line count (load factor 7/8, rounded up to 2^k - 1).
  EXPECT_GE((*l)->MemoryBytes(), 10000 * (sizeof(InfoHash) + 1));
  EXPECT_LE((*l)->MemoryBytes(), 16384 * (sizeof(InfoHash) + 1) + 64);
  auto empty = AccessList::Parse("", AccessList::Mode::kAllow, "e");
  ASSERT_TRUE(empty.ok());
  EXPECT_LE((*empty)->MemoryBytes(), 64u);
}

}  // namespace
}  // namespace ringtrack

#include "core/cli/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringtrack {
namespace {

std::vector<std::string> Normalize(
    std::vector<std::string> in, std::initializer_list<std::string_view> rep) {
  std::vector<char*> argv;
  for (auto& s : in) argv.push_back(s.data());
  std::deque<std::string> storage;
  std::vector<char*> out =
      NormalizeFlags(static_cast<int>(argv.size()), argv.data(), rep, &storage);
  return {out.begin(), out.end()};
}

TEST(CommandLineTest, DashesInNamesBecomeUnderscores) {
  EXPECT_EQ(
      Normalize({"prog", "--peer-timeout=5", "-max-torrents", "8",
                 "--info-hash", "ab-cd"},
                {}),
      (std::vector<std::string>{"prog", "--peer_timeout=5", "-max_torrents",
                                "8", "--info_hash", "ab-cd"}));
}

TEST(CommandLineTest, ValuesAndPositionalsAreUntouched) {
  EXPECT_EQ(Normalize({"prog", "announce", "--numwant", "-1", "--left=-2", "--",
                       "--not-a-flag"},
                      {}),
            (std::vector<std::string>{"prog", "announce", "--numwant", "-1",
                                      "--left=-2", "--", "--not-a-flag"}));
}

TEST(CommandLineTest, RepeatableFlagsAccumulate) {
  EXPECT_EQ(Normalize({"prog", "--listen", "a:1", "--workers=2", "--listen=b:2",
                       "-xdp", "lo", "--xdp=eth0"},
                      {"listen", "xdp"}),
            (std::vector<std::string>{"prog", "--xdp=lo,eth0",
                                      "--listen=a:1,b:2", "--workers=2"}));
}

TEST(CommandLineTest, ByteSizesTakeBinarySuffixes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseByteSize("4G"), 4ull << 30);
  EXPECT_EQ(*ParseByteSize("64k"), 64ull << 10);
  EXPECT_EQ(*ParseByteSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseByteSize("1T"), 1ull << 40);
  for (const char* bad : {"", "M", "0", "1.5G", "12X", "-1G", "99999999T"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ringtrack

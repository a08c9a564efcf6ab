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
  EXPECT_EQ(*ParseByteSize("1.5G"), 3ull << 29);
  EXPECT_EQ(*ParseByteSize("0.5K"), 512u);
  EXPECT_EQ(*ParseByteSize("8MB"), 8ull << 20);
  for (const char* bad : {"", "M", "0", "0.0001", ".5G", "1.5.G", "12X",
                          "-1G", "1e3", "99999999T", " 1G", "1G "}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
  EXPECT_NE(ParseByteSize("12X").status().message().find("use K, M, G or T"),
            std::string::npos);
}

TEST(CommandLineTest, ByteSizesFormatBackExactly) {
  for (uint64_t b : {1ull, 4097ull, 4096ull, 8ull << 20, 3ull << 29,
                     100ull << 40, (1ull << 20) + 1024}) {
    EXPECT_EQ(*ParseByteSize(FormatByteSize(b)), b) << FormatByteSize(b);
  }
  EXPECT_EQ(FormatByteSize(8 << 20), "8M");
  EXPECT_EQ(FormatByteSize(3ull << 29), "1536M");
  EXPECT_EQ(FormatByteSize(4097), "4097");
}

TEST(CommandLineTest, DurationsNeedAUnit) {
  EXPECT_EQ(*ParseDurationWithUnit("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseDurationWithUnit("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDurationWithUnit("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDurationWithUnit("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDurationWithUnit("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseDurationWithUnit("0s"), absl::ZeroDuration());
  const absl::Status bare = ParseDurationWithUnit("30").status();
  EXPECT_FALSE(bare.ok());
  EXPECT_NE(bare.message().find("add a unit: 30s"), std::string::npos)
      << bare.message();
  for (const char* bad : {"", "s", "-5s", "5 s", "soon", "inf", "1.5"}) {
    EXPECT_FALSE(ParseDurationWithUnit(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ringtrack

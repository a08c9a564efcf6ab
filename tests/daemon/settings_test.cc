// The settings table's value types and checks (daemon/settings.h): what the
// command line and the config file both go through.
#include "daemon/settings.h"

#include <gtest/gtest.h>

#include <string>

namespace ringtrack::setting {
namespace {

TEST(SettingsTest, BytesTakeSuffixesAndFractions) {
  Bytes b;
  std::string err;
  ASSERT_TRUE(AbslParseFlag("1.5G", &b, &err)) << err;
  EXPECT_EQ(b.bytes, 3ull << 29);
  EXPECT_EQ(AbslUnparseFlag(b), "1536M");
  ASSERT_TRUE(AbslParseFlag("4096", &b, &err));
  EXPECT_EQ(b.bytes, 4096u);
  ASSERT_TRUE(AbslParseFlag("", &b, &err));  // "not set"
  EXPECT_EQ(b.bytes, 0u);
  EXPECT_EQ(AbslUnparseFlag(b), "");
  EXPECT_FALSE(AbslParseFlag("8X", &b, &err));
  EXPECT_NE(err.find("use K, M, G or T"), std::string::npos) << err;
}

TEST(SettingsTest, DurationsSayWhichUnitToAdd) {
  Duration d;
  std::string err;
  ASSERT_TRUE(AbslParseFlag("30s", &d, &err)) << err;
  EXPECT_EQ(d.value, absl::Seconds(30));
  EXPECT_EQ(AbslUnparseFlag(d), "30s");
  ASSERT_TRUE(AbslParseFlag("0", &d, &err));
  EXPECT_EQ(d.value, absl::ZeroDuration());
  EXPECT_FALSE(AbslParseFlag("30", &d, &err));
  EXPECT_NE(err.find("add a unit: 30s"), std::string::npos) << err;
}

TEST(SettingsTest, SecondsAreWholeWithOrWithoutAUnit) {
  Seconds s;
  std::string err;
  ASSERT_TRUE(AbslParseFlag("900", &s, &err)) << err;
  EXPECT_EQ(s.value, 900);
  ASSERT_TRUE(AbslParseFlag("15m", &s, &err)) << err;
  EXPECT_EQ(s.value, 900);
  EXPECT_EQ(AbslUnparseFlag(s), "900");
  EXPECT_FALSE(AbslParseFlag("1.5s", &s, &err));
  EXPECT_FALSE(AbslParseFlag("soon", &s, &err));
  EXPECT_NE(err.find("whole seconds"), std::string::npos) << err;
}

TEST(SettingsTest, RangesNameTheFlagTheValuesAndWhy) {
  const Info stats{"stats_interval", Kind::kDuration,
                   ZeroOr(1, 86400).Why("it floods the log"), kRestart, "h"};
  EXPECT_TRUE(CheckValue(stats, 0).ok());
  EXPECT_TRUE(CheckValue(stats, 1).ok());
  EXPECT_TRUE(CheckValue(stats, 86400).ok());
  const absl::Status s = CheckValue(stats, 0.001);
  EXPECT_EQ(s.message(),
            "--stats_interval must be 0, or 1s..24h, not 1ms (it floods the log)");
  const Info memory{"max_memory", Kind::kBytes, ZeroOr(4 << 20, kNoLimit), kRestart, "h"};
  EXPECT_EQ(DescribeValues(memory), "empty, or ≥ 4M");
  EXPECT_FALSE(CheckValue(memory, 1 << 20).ok());
  const Info interval{"interval", Kind::kSeconds, Range(10, 86400), kLive, "h"};
  EXPECT_EQ(CheckValue(interval, 5).message(), "--interval must be 10..86400 s, not 5");
  EXPECT_TRUE(CheckValue(interval, 10).ok());
  EXPECT_FALSE(CheckValue(interval, 86401).ok());
}

TEST(SettingsTest, ChoicesAreListed) {
  const Info io{"io", Kind::kText, OneOf("auto|uring|mmsg"), kRestart, "h"};
  EXPECT_TRUE(CheckChoice(io, "mmsg").ok());
  EXPECT_EQ(CheckChoice(io, "epoll").message(),
            "--io must be one of auto, uring, mmsg, not 'epoll'");
  EXPECT_EQ(CheckChoice(io, "").message(),
            "--io must be one of auto, uring, mmsg, not ''");
}

TEST(SettingsTest, EveryKindSaysWhatItExpects) {
  for (Kind k : {Kind::kInt, Kind::kReal, Kind::kBool, Kind::kText, Kind::kList,
                 Kind::kBytes, Kind::kDuration, Kind::kSeconds}) {
    EXPECT_NE(KindExpects(k), "a value");
  }
}

}  // namespace
}  // namespace ringtrack::setting

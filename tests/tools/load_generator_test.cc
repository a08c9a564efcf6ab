#include "tools/load_generator.h"

#include <string>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

TEST(CountErrorMessage, CountsEachMessage) {
  ErrorMessageCounts counts;
  CountErrorMessage("torrent not allowed", &counts);
  CountErrorMessage("tracker is full", &counts);
  CountErrorMessage("torrent not allowed", &counts);
  EXPECT_EQ(counts, (ErrorMessageCounts{{"torrent not allowed", 2},
                                        {"tracker is full", 1}}));
}

TEST(CountErrorMessage, KeepsBytesAsTheyCame) {
  ErrorMessageCounts counts;
  CountErrorMessage(std::string_view("a\0b", 3), &counts);
  CountErrorMessage("", &counts);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts.at(std::string("a\0b", 3)), 1u);
  EXPECT_EQ(counts.at(""), 1u);
}

TEST(CountErrorMessage, DistinctMessagesPastTheCapShareOneEntry) {
  ErrorMessageCounts counts;
  const size_t n = kMaxErrorMessages + 100;
  for (size_t i = 0; i < n; ++i) {
    CountErrorMessage("slow down, request " + std::to_string(i), &counts);
  }
  // The first kMaxErrorMessages messages keep their own entries; counting
  // one of them again still finds it.
  CountErrorMessage("slow down, request 0", &counts);
  EXPECT_EQ(counts.size(), kMaxErrorMessages + 1);
  EXPECT_EQ(counts.at("slow down, request 0"), 2u);
  EXPECT_EQ(counts.at(std::string(kOtherErrorMessages)),
            n - kMaxErrorMessages);
  uint64_t total = 0;
  for (const auto& [message, count] : counts) total += count;
  EXPECT_EQ(total, n + 1);
}

}  // namespace
}  // namespace ringtrack

#include "tools/json.h"

#include <string>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

TEST(JsonQuote, PlainTextIsQuoted) {
  EXPECT_EQ(JsonQuote("torrent not allowed"), "\"torrent not allowed\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

TEST(JsonQuote, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonQuote, BytesOutsidePrintableAsciiAreEscaped) {
  EXPECT_EQ(JsonQuote(std::string("\n\x00\x1f\x7f\xc3\xa9", 6)),
            "\"\\u000a\\u0000\\u001f\\u007f\\u00c3\\u00a9\"");
}

TEST(JsonQuote, EveryByteGivesPrintableAscii) {
  for (int b = 0; b < 256; ++b) {
    const std::string q = JsonQuote(std::string(1, static_cast<char>(b)));
    for (char c : q) {
      EXPECT_GE(c, 0x20) << b;
      EXPECT_LT(c, 0x7f) << b;
    }
  }
}

}  // namespace
}  // namespace ringtrack

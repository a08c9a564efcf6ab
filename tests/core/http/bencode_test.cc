#include "core/http/bencode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringtrack::bencode {
namespace {

std::string Text(const std::vector<uint8_t>& b, size_t n) {
  return {b.begin(), b.begin() + n};
}

TEST(WriterTest, ExactBytes) {
  std::vector<uint8_t> buf(64);
  Writer w(buf);
  w.BeginDict();
  w.KeyInt("a", 0);
  w.KeyInt("b", -42);
  w.String("c");
  w.BeginList();
  w.String("xyz");
  w.String(std::string_view());
  w.Int(INT64_MAX);
  w.End();
  w.End();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Text(buf, w.size()),
            "d1:ai0e1:bi-42e1:cl3:xyz0:i9223372036854775807eee");
  EXPECT_EQ(IntSize(0), 3u);
  EXPECT_EQ(IntSize(-42), 5u);
  EXPECT_EQ(IntSize(INT64_MIN), 22u);
  EXPECT_EQ(StringSize(0), 2u);
  EXPECT_EQ(StringSize(20), 23u);
}

TEST(WriterTest, NeverWritesPastItsSpan) {
  for (size_t cap = 0; cap < 20; ++cap) {
    std::vector<uint8_t> buf(cap + 4, 0xee);
    Writer w{std::span<uint8_t>(buf).first(cap)};
    w.BeginDict();
    w.String("peers");
    w.String("0123456789");
    w.End();
    EXPECT_EQ(w.ok(), cap >= 20) << cap;
    for (size_t i = cap; i < buf.size(); ++i) EXPECT_EQ(buf[i], 0xee) << cap;
  }
}

TEST(ReaderTest, ReadsWhatTheWriterWrote) {
  const std::string s = "d8:intervali1800e5:peers6:abcdefe";
  Reader r({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  ASSERT_TRUE(r.BeginDict());
  std::string_view k, v;
  int64_t i;
  ASSERT_TRUE(r.ReadString(&k));
  EXPECT_EQ(k, "interval");
  ASSERT_TRUE(r.ReadInt(&i));
  EXPECT_EQ(i, 1800);
  ASSERT_TRUE(r.ReadString(&k));
  ASSERT_TRUE(r.ReadString(&v));
  EXPECT_EQ(v, "abcdef");
  ASSERT_TRUE(r.ReadEnd());
  EXPECT_TRUE(r.done());
}

TEST(ReaderTest, RefusesNonCanonicalAndTruncated) {
  for (const char* bad : {"i-0e", "i01e", "ie", "i1", "i-e", "01:a", "5:abc",
                          "i99999999999999999999e", "x", "", "l", "d1:a",
                          "99999999999:a"}) {
    const std::string s = bad;
    Reader r({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    EXPECT_FALSE(r.Skip()) << bad;
  }
  const std::string deep(100, 'l');
  Reader r({reinterpret_cast<const uint8_t*>(deep.data()), deep.size()});
  EXPECT_FALSE(r.Skip());
}

TEST(ReaderTest, SkipSweepNeverCrashes) {
  const std::string s = "d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei5e"
                        "10:downloadedi7e10:incompletei-3eee4:listl1:xi0eee";
  for (size_t n = 0; n <= s.size(); ++n) {
    Reader r({reinterpret_cast<const uint8_t*>(s.data()), n});
    EXPECT_EQ(r.Skip(), n == s.size()) << n;
  }
}

}  // namespace
}  // namespace ringtrack::bencode

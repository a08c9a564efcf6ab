#include "core/http/query.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringtrack::http {
namespace {

const std::array<uint8_t, 20> kHash = {0x8c, 0x1e, 0xb0, 0xac, 0xc6, 0x04, 0x1c,
                                       0xbd, 0xdf, 0xd9, 0xde, 0x9b, 0x8b, 0xaa,
                                       0x0c, 0xdb, 0x0b, 0x3a, 0xc0, 0xec};

TEST(RouteTest, FirstSegmentOnly) {
  EXPECT_EQ(RouteOf("/announce"), Route::kAnnounce);
  EXPECT_EQ(RouteOf("/scrape"), Route::kScrape);
  EXPECT_EQ(RouteOf("/"), Route::kNone);
  EXPECT_EQ(RouteOf("/announce/"), Route::kNone);
  EXPECT_EQ(RouteOf("/announce/passkey"), Route::kNone);
  EXPECT_EQ(RouteOf("/announcex"), Route::kNone);
  EXPECT_EQ(RouteOf("/ANNOUNCE"), Route::kNone);
}

// libtorrent (qBittorrent, Deluge): lower-case escapes, '-' raw.
TEST(AnnounceQueryTest, Libtorrent) {
  AnnounceQuery q;
  ASSERT_EQ(ParseAnnounceQuery(
                "info_hash=%8c%1e%b0%ac%c6%04%1c%bd%df%d9%de%9b%8b%aa%0c%db"
                "%0b%3a%c0%ec&peer_id=-qB4500-k4FlR3oq2Bc%21&port=6881"
                "&uploaded=0&downloaded=0&left=1048576&corrupt=0&key=6C9A1F2B"
                "&event=started&numwant=200&compact=1&no_peer_id=1"
                "&supportcrypto=1&redundant=0",
                &q),
            QueryError::kNone);
  EXPECT_EQ(q.core.info_hash.bytes, kHash);
  EXPECT_EQ(std::string(q.core.peer_id.begin(), q.core.peer_id.end()),
            "-qB4500-k4FlR3oq2Bc!");
  EXPECT_EQ(q.core.peer.port, 6881);
  EXPECT_EQ(q.core.left, 1048576u);
  EXPECT_EQ(q.core.event, Event::kStarted);
  EXPECT_EQ(q.core.numwant, 200);
  EXPECT_EQ(q.core.key, 0x6C9A1F2Bu);
  EXPECT_TRUE(q.compact);
  EXPECT_TRUE(q.no_peer_id);
}

// Transmission: upper-case escapes, unreserved bytes raw, key in hex.
TEST(AnnounceQueryTest, TransmissionWithRawBytes) {
  AnnounceQuery q;
  // Hash bytes 'A' '~' 0x00 0xff '.' '-' '_' 'z' ' ' then 11 × 0x41.
  ASSERT_EQ(ParseAnnounceQuery(
                "info_hash=A~%00%FF.-_z%20AAAAAAAAAAA&peer_id=-TR3000-abcdefghijkl"
                "&port=51413&uploaded=10&downloaded=20&left=0&numwant=80"
                "&key=1a2b3c4d&compact=1&supportcrypto=1&event=completed",
                &q),
            QueryError::kNone);
  const uint8_t want[20] = {'A', '~', 0, 0xff, '.', '-', '_', 'z', ' ', 'A',
                            'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A'};
  EXPECT_TRUE(std::equal(std::begin(want), std::end(want),
                         q.core.info_hash.bytes.begin()));
  EXPECT_EQ(q.core.uploaded, 10u);
  EXPECT_EQ(q.core.downloaded, 20u);
  EXPECT_EQ(q.core.left, 0u);
  EXPECT_EQ(q.core.event, Event::kCompleted);
  EXPECT_EQ(q.core.key, 0x1a2b3c4du);
}

TEST(AnnounceQueryTest, OptionalParameters) {
  const std::string base =
      "info_hash=%8c%1e%b0%ac%c6%04%1c%bd%df%d9%de%9b%8b%aa%0c%db%0b%3a%c0%ec"
      "&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1&uploaded=0&downloaded=0&left=5";
  AnnounceQuery q;
  ASSERT_EQ(ParseAnnounceQuery(base, &q), QueryError::kNone);
  EXPECT_EQ(q.core.event, Event::kNone);
  EXPECT_EQ(q.core.numwant, -1);
  EXPECT_TRUE(q.compact);
  EXPECT_FALSE(q.no_peer_id);
  ASSERT_EQ(ParseAnnounceQuery(base + "&compact=0&event=stopped", &q),
            QueryError::kNone);
  EXPECT_FALSE(q.compact);
  EXPECT_EQ(q.core.event, Event::kStopped);
  // BEP 21's paused, an empty event and unknown ones are "none".
  for (const char* ev : {"&event=paused", "&event=", "&event=bogus"}) {
    ASSERT_EQ(ParseAnnounceQuery(base + ev, &q), QueryError::kNone) << ev;
    EXPECT_EQ(q.core.event, Event::kNone) << ev;
  }
  // ip= is ignored, as are unknown parameters and empty pieces.
  ASSERT_EQ(ParseAnnounceQuery(base + "&ip=10.0.0.1&&foo&ipv6=x", &q),
            QueryError::kNone);
  // A huge numwant is capped later, not refused.
  ASSERT_EQ(ParseAnnounceQuery(base + "&numwant=99999999999", &q),
            QueryError::kNone);
  EXPECT_EQ(q.core.numwant, INT32_MAX);
  // A malformed key is ignored.
  ASSERT_EQ(ParseAnnounceQuery(base + "&key=not-hex", &q), QueryError::kNone);
  EXPECT_EQ(q.core.key, 0u);
}

TEST(AnnounceQueryTest, MissingOrMalformedRequiredOnesFail) {
  const std::string h =
      "info_hash=%8c%1e%b0%ac%c6%04%1c%bd%df%d9%de%9b%8b%aa%0c%db%0b%3a%c0%ec";
  const std::string p = "&peer_id=aaaaaaaaaaaaaaaaaaaa";
  const std::string rest = "&port=1&uploaded=0&downloaded=0&left=5";
  struct Case {
    std::string query;
    QueryError want;
  } cases[] = {
      {p + rest, QueryError::kInfoHash},
      {h + rest, QueryError::kPeerId},
      {h + p + "&uploaded=0&downloaded=0&left=5", QueryError::kPort},
      {h + p + "&port=1&downloaded=0&left=5", QueryError::kUploaded},
      {h + p + "&port=1&uploaded=0&left=5", QueryError::kDownloaded},
      {h + p + "&port=1&uploaded=0&downloaded=0", QueryError::kLeft},
      {"info_hash=%8c%1e" + p + rest, QueryError::kInfoHash},  // short
      {h + "%00" + p + rest, QueryError::kInfoHash},           // long
      {h + "&info_hash=x" + p + rest, QueryError::kInfoHash},  // twice
      {"info_hash=%8g" + p + rest, QueryError::kInfoHash},     // bad escape
      {"info_hash=%8" + p + rest, QueryError::kInfoHash},
      {h + p + "&port=65536&uploaded=0&downloaded=0&left=5", QueryError::kPort},
      {h + p + "&port=-1&uploaded=0&downloaded=0&left=5", QueryError::kPort},
      {h + p + "&port=&uploaded=0&downloaded=0&left=5", QueryError::kPort},
      {h + p + "&port=1&uploaded=-5&downloaded=0&left=5",
       QueryError::kUploaded},
      {h + p + "&port=1&uploaded=0&downloaded=0&left=18446744073709551616",
       QueryError::kLeft},
      {h + p + rest + "&numwant=ten", QueryError::kNumwant},
  };
  for (const Case& c : cases) {
    AnnounceQuery q;
    EXPECT_EQ(ParseAnnounceQuery(c.query, &q), c.want) << c.query;
    EXPECT_FALSE(QueryErrorMessage(c.want).empty());
  }
  AnnounceQuery q;
  ASSERT_EQ(ParseAnnounceQuery(
                h + p + "&port=0&uploaded=0&downloaded=0"
                        "&left=18446744073709551615",
                &q),
            QueryError::kNone);  // port 0 is the tracker's to refuse
  EXPECT_EQ(q.core.left, UINT64_MAX);
}

TEST(ScrapeQueryTest, HashesInOrderAndTheCap) {
  ScrapeQuery q;
  ASSERT_EQ(ParseScrapeQuery("info_hash=aaaaaaaaaaaaaaaaaaaa&x=1"
                             "&info_hash=%62bbbbbbbbbbbbbbbbbbb",
                             kMaxScrapeHashes, &q),
            QueryError::kNone);
  ASSERT_EQ(q.count, 2u);
  EXPECT_EQ(q.bytes[0], 'a');
  EXPECT_EQ(q.bytes[20], 'b');
  EXPECT_EQ(q.hashes().size(), 40u);
  EXPECT_EQ(ParseScrapeQuery("", kMaxScrapeHashes, &q), QueryError::kNoHashes);
  EXPECT_EQ(ParseScrapeQuery("info_hash=abc", kMaxScrapeHashes, &q),
            QueryError::kInfoHash);
  std::string many;
  for (size_t i = 0; i <= kMaxScrapeHashes; ++i) {
    many += "&info_hash=aaaaaaaaaaaaaaaaaaaa";
  }
  EXPECT_EQ(ParseScrapeQuery(many, kMaxScrapeHashes, &q),
            QueryError::kTooManyHashes);
  EXPECT_EQ(ParseScrapeQuery(many, 3, &q), QueryError::kTooManyHashes);
}

TEST(PercentTest, RoundTripsEveryByte) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  std::vector<char> enc(3 * 256);
  const size_t n = PercentEncode(all, enc);
  ASSERT_GT(n, 0u);
  // Unreserved bytes stay raw, the rest become %XX.
  EXPECT_EQ(n, 66 + 3 * (256 - 66));
  std::vector<uint8_t> dec(256);
  ASSERT_EQ(PercentDecode({enc.data(), n}, dec), 256);
  EXPECT_EQ(dec, all);
  EXPECT_EQ(PercentEncode(all, std::span(enc).first(10)), 0u);
  EXPECT_EQ(PercentDecode("abc", std::span(dec).first(2)), -1);
  EXPECT_EQ(PercentDecode("a b", dec), -1);
  EXPECT_EQ(PercentDecode("%zz", dec), -1);
  EXPECT_EQ(PercentDecode("+", dec), 1);
  EXPECT_EQ(dec[0], '+');
}

// Every prefix of a valid query parses or fails cleanly (ASan in CI).
TEST(AnnounceQueryTest, LengthSweepNeverCrashes) {
  const std::string query =
      "info_hash=%8c%1e%b0%ac%c6%04%1c%bd%df%d9%de%9b%8b%aa%0c%db%0b%3a%c0%ec"
      "&peer_id=-qB4500-k4FlR3oq2Bc%21&port=6881&uploaded=0&downloaded=0"
      "&left=1048576&event=started&numwant=200&compact=1";
  for (size_t n = 0; n <= query.size(); ++n) {
    const std::string s = query.substr(0, n);
    AnnounceQuery a;
    const QueryError e = ParseAnnounceQuery(s, &a);
    if (n <= query.find("&left=") + 6) {
      EXPECT_NE(e, QueryError::kNone) << n;
    }
    ScrapeQuery sq;
    ParseScrapeQuery(s, kMaxScrapeHashes, &sq);
  }
}

}  // namespace
}  // namespace ringtrack::http

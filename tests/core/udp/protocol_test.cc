#include "core/udp/protocol.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ringtrack::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

void Put32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}
void Put64(Bytes* b, uint64_t v) {
  Put32(b, static_cast<uint32_t>(v >> 32));
  Put32(b, static_cast<uint32_t>(v));
}
void PutN(Bytes* b, uint8_t first, size_t n) {
  for (size_t i = 0; i < n; ++i) b->push_back(static_cast<uint8_t>(first + i));
}

// A BEP 15 announce, field by field.
Bytes AnnouncePacket() {
  Bytes b;
  Put64(&b, 0x1122334455667788ULL);  // connection_id
  Put32(&b, 1);                      // action
  Put32(&b, 0xcafebabe);             // transaction_id
  PutN(&b, 0x10, 20);                // info_hash
  PutN(&b, 0x40, 20);                // peer_id
  Put64(&b, 1000);                   // downloaded
  Put64(&b, 2000);                   // left
  Put64(&b, 3000);                   // uploaded
  Put32(&b, 2);                      // event: started
  Put32(&b, 0x7f000001);             // ip
  Put32(&b, 0xabcdef01);             // key
  Put32(&b, 0xffffffff);             // num_want: -1
  b.push_back(0x1a);                 // port 6881
  b.push_back(0xe1);
  return b;
}

TEST(ProtocolTest, ParsesConnectFromBep15Bytes) {
  const Bytes b = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80,
                   0,    0,    0,    0,    0xde, 0xad, 0xbe, 0xef};
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  EXPECT_EQ(r.action, Action::kConnect);
  EXPECT_EQ(r.connect.transaction_id, 0xdeadbeefu);
}

TEST(ProtocolTest, ConnectWithWrongMagicIsBadMagic) {
  Bytes b = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x81,
             0,    0,    0,    0,    1,    2,    3,    4};
  Request r;
  EXPECT_EQ(ParseRequest(b, &r), ParseError::kBadMagic);
  EXPECT_FALSE(IsAnswerable(ParseError::kBadMagic));
}

TEST(ProtocolTest, ParsesEveryAnnounceField) {
  const Bytes b = AnnouncePacket();
  ASSERT_EQ(b.size(), kAnnounceRequestSize);
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  const AnnounceRequest& a = r.announce;
  EXPECT_EQ(r.action, Action::kAnnounce);
  EXPECT_EQ(a.connection_id, 0x1122334455667788ULL);
  EXPECT_EQ(a.transaction_id, 0xcafebabeu);
  EXPECT_EQ(a.info_hash.bytes[0], 0x10);
  EXPECT_EQ(a.info_hash.bytes[19], 0x10 + 19);
  EXPECT_EQ(a.peer_id[0], 0x40);
  EXPECT_EQ(a.peer_id[19], 0x40 + 19);
  EXPECT_EQ(a.downloaded, 1000u);
  EXPECT_EQ(a.left, 2000u);
  EXPECT_EQ(a.uploaded, 3000u);
  EXPECT_EQ(a.event, Event::kStarted);
  EXPECT_EQ(a.ip, 0x7f000001u);
  EXPECT_EQ(a.key, 0xabcdef01u);
  EXPECT_EQ(a.num_want, -1);
  EXPECT_EQ(a.port, 6881);
  EXPECT_EQ(a.url_data_size, 0);
}

TEST(ProtocolTest, AnnounceRoundTrips) {
  Request r;
  ASSERT_EQ(ParseRequest(AnnouncePacket(), &r), ParseError::kNone);
  uint8_t out[200];
  const size_t n = WriteAnnounceRequest(out, r.announce);
  ASSERT_EQ(n, kAnnounceRequestSize);
  EXPECT_EQ(Bytes(out, out + n), AnnouncePacket());
}

TEST(ProtocolTest, UnknownEventReadsAsNone) {
  Bytes b = AnnouncePacket();
  b[kOffEvent + 3] = 9;
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  EXPECT_EQ(r.announce.event, Event::kNone);
}

TEST(ProtocolTest, WalksBep41Options) {
  Bytes b = AnnouncePacket();
  // NOP, URL "/ann", unknown type 0x7 with 3 bytes (skipped), NOP,
  // URL "ounce?a=1", end, then garbage that must not be read.
  const Bytes opts = {0x1, 0x2, 4,   '/', 'a', 'n', 'n', 0x7, 3,   9,
                      9,   9,   0x1, 0x2, 9,   'o', 'u', 'n', 'c', 'e',
                      '?', 'a', '=', '1', 0x0, 0x2, 5,   'x'};
  b.insert(b.end(), opts.begin(), opts.end());
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  EXPECT_EQ(r.announce.url(), "/announce?a=1");
  EXPECT_FALSE(r.announce.url_data_truncated);
}

TEST(ProtocolTest, TruncatedOptionEndsWalkButKeepsAnnounce) {
  for (const Bytes& opts :
       {Bytes{0x2}, Bytes{0x2, 5, 'a', 'b'}, Bytes{0x2, 1, 'x', 0x9}}) {
    Bytes b = AnnouncePacket();
    b.insert(b.end(), opts.begin(), opts.end());
    Request r;
    ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
    EXPECT_EQ(r.announce.port, 6881);
    EXPECT_LE(r.announce.url_data_size, 1);
  }
}

TEST(ProtocolTest, LongUrlDataIsCutAndFlagged) {
  AnnounceRequest a;
  a.port = 1;
  std::string url(kMaxUrlData, 'u');
  std::memcpy(a.url_data.data(), url.data(), url.size());
  a.url_data_size = kMaxUrlData;
  uint8_t out[1024];
  const size_t n = WriteAnnounceRequest(out, a);
  ASSERT_GT(n, kAnnounceRequestSize + kMaxUrlData);
  // Add one more URL option: the parsed data stays at the cap.
  Bytes b(out, out + n - 1);  // drop the end option
  b.insert(b.end(), {0x2, 3, 'x', 'y', 'z'});
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  EXPECT_EQ(r.announce.url(), url);
  EXPECT_TRUE(r.announce.url_data_truncated);
}

Bytes ScrapePacket(size_t n) {
  Bytes b;
  Put64(&b, 42);
  Put32(&b, 2);
  Put32(&b, 7);
  for (size_t i = 0; i < n; ++i) PutN(&b, static_cast<uint8_t>(i), 20);
  return b;
}

TEST(ProtocolTest, ScrapeLengths) {
  Request r;
  EXPECT_EQ(ParseRequest(ScrapePacket(0), &r), ParseError::kNoScrapeHashes);
  EXPECT_TRUE(IsAnswerable(ParseError::kNoScrapeHashes));
  EXPECT_EQ(r.scrape.transaction_id, 7u);
  for (size_t n : {1, 2, 74}) {
    const Bytes packet = ScrapePacket(n);  // r.scrape.hashes points into it
    ASSERT_EQ(ParseRequest(packet, &r), ParseError::kNone);
    EXPECT_EQ(r.scrape.hash_count, n);
    EXPECT_FALSE(r.scrape.truncated);
    EXPECT_EQ(r.scrape.hash(n - 1).bytes[0], static_cast<uint8_t>(n - 1));
  }
  const Bytes packet75 = ScrapePacket(75);
  ASSERT_EQ(ParseRequest(packet75, &r), ParseError::kNone);
  EXPECT_EQ(r.scrape.hash_count, 74u);
  EXPECT_TRUE(r.scrape.truncated);
  Bytes odd = ScrapePacket(1);
  odd.push_back(0);
  EXPECT_EQ(ParseRequest(odd, &r), ParseError::kBadScrapeLength);
  odd.resize(16 + 19);
  EXPECT_EQ(ParseRequest(odd, &r), ParseError::kBadScrapeLength);
}

// A scrape cut by a receive buffer is judged by its length on the wire and
// answered for the hashes received: the first 74 whenever at least
// kMaxMeaningfulRequestSize bytes were kept, exactly as if it were whole.
TEST(ProtocolTest, CutScrapeIsJudgedByItsWireLength) {
  static_assert(kMaxMeaningfulRequestSize == 16 + 74 * 20);
  for (size_t n : {74, 75, 98, 200, 3000}) {
    const Bytes whole = ScrapePacket(n);
    Request w;
    ASSERT_EQ(ParseRequest(whole, &w), ParseError::kNone);
    for (size_t kept : {kMaxMeaningfulRequestSize, size_t{1960}, size_t{2048},
                        whole.size()}) {
      if (kept > whole.size()) continue;
      SCOPED_TRACE(::testing::Message() << "n=" << n << " kept=" << kept);
      Request r;
      ASSERT_EQ(ParseRequest({whole.data(), kept}, whole.size(), &r),
                ParseError::kNone);
      EXPECT_EQ(r.scrape.hash_count, w.scrape.hash_count);
      EXPECT_EQ(r.scrape.hash_count, std::min<size_t>(n, 74));
      EXPECT_EQ(r.scrape.truncated, n > 74);
      EXPECT_EQ(r.scrape.hash(73).bytes[0], 73);
    }
  }
  // The wire length decides validity, whatever was kept.
  Bytes odd = ScrapePacket(200);
  odd.push_back(0);
  Request r;
  EXPECT_EQ(ParseRequest({odd.data(), 2048}, odd.size(), &r),
            ParseError::kBadScrapeLength);
  const Bytes ok = ScrapePacket(200);
  EXPECT_EQ(ParseRequest({ok.data(), 2047}, ok.size(), &r), ParseError::kNone);
  // Fewer bytes than 74 hashes kept: only the hashes received whole.
  ASSERT_EQ(ParseRequest({ok.data(), 16 + 3 * 20 + 7}, ok.size(), &r),
            ParseError::kNone);
  EXPECT_EQ(r.scrape.hash_count, 3u);
  EXPECT_TRUE(r.scrape.truncated);
  EXPECT_EQ(ParseRequest({ok.data(), 16 + 19}, ok.size(), &r),
            ParseError::kTooShort);
  EXPECT_EQ(ParseRequest({ok.data(), 15}, ok.size(), &r),
            ParseError::kTooShort);
}

// An announce whose BEP 41 options were cut off is still an announce, its
// URL data flagged as cut; a connect cut after its 16 bytes is a connect.
TEST(ProtocolTest, CutAnnounceAndConnectAreStillAnswerable) {
  Bytes b = AnnouncePacket();
  for (int i = 0; i < 20; ++i) {
    b.insert(b.end(), {0x2, 100});
    b.insert(b.end(), 100, 'u');
  }
  b.push_back(0x0);
  Request whole;
  ASSERT_EQ(ParseRequest(b, &whole), ParseError::kNone);
  EXPECT_TRUE(whole.announce.url_data_truncated);  // over kMaxUrlData
  for (size_t kept : {size_t{98}, size_t{99}, size_t{150}, size_t{2048}}) {
    Request r;
    ASSERT_EQ(ParseRequest({b.data(), kept}, b.size(), &r), ParseError::kNone)
        << kept;
    EXPECT_EQ(r.announce.port, 6881);
    EXPECT_EQ(r.announce.transaction_id, whole.announce.transaction_id);
    EXPECT_EQ(r.announce.info_hash, whole.announce.info_hash);
    EXPECT_TRUE(r.announce.url_data_truncated) << kept;
  }
  Request r;
  EXPECT_EQ(ParseRequest({b.data(), 97}, b.size(), &r), ParseError::kTooShort);
  // Options that ended before the cut: nothing was lost.
  Bytes ended = AnnouncePacket();
  ended.insert(ended.end(), {0x2, 1, '/', 0x0});
  ended.resize(3000, 0xee);
  ASSERT_EQ(ParseRequest({ended.data(), 2048}, ended.size(), &r),
            ParseError::kNone);
  EXPECT_EQ(r.announce.url(), "/");
  EXPECT_FALSE(r.announce.url_data_truncated);
  uint8_t c[4000] = {};
  ASSERT_EQ(WriteConnectRequest(c, 99), 16u);
  ASSERT_EQ(ParseRequest({c, 16}, sizeof(c), &r), ParseError::kNone);
  EXPECT_EQ(r.connect.transaction_id, 99u);
}

// Every wire length to 65 507 (the largest UDP payload over IPv4) for every
// action, cut at 2 048 bytes: the verdict is the whole datagram's.
TEST(ProtocolTest, CutAtTwoKilobytesChangesNoVerdict) {
  std::mt19937 rng(3);
  Bytes buf(65507);
  for (auto& x : buf) x = static_cast<uint8_t>(rng());
  for (uint32_t action = 0; action <= 4; ++action) {
    buf[8] = buf[9] = buf[10] = 0;
    buf[11] = static_cast<uint8_t>(action);
    if (action == 0) WriteConnectRequest(buf, 5);
    for (size_t len = 0; len <= buf.size(); ++len) {
      Request whole, cut;
      const ParseError w = ParseRequest({buf.data(), len}, &whole);
      const ParseError c =
          ParseRequest({buf.data(), std::min<size_t>(len, 2048)}, len, &cut);
      ASSERT_EQ(w, c) << "action " << action << " len " << len;
      if (w == ParseError::kNone && action == 2) {
        ASSERT_EQ(whole.scrape.hash_count, cut.scrape.hash_count) << len;
      }
    }
  }
}

TEST(ProtocolTest, ActionsAndShortPackets) {
  Request r;
  Bytes b = ScrapePacket(1);
  b[kOffAction + 3] = 3;
  EXPECT_EQ(ParseRequest(b, &r), ParseError::kErrorAction);
  b[kOffAction + 3] = 4;
  EXPECT_EQ(ParseRequest(b, &r), ParseError::kUnknownAction);
  b[kOffAction] = 0x80;
  EXPECT_EQ(ParseRequest(b, &r), ParseError::kUnknownAction);
  const Bytes a = AnnouncePacket();
  for (size_t len = 16; len < kAnnounceRequestSize; ++len) {
    EXPECT_EQ(ParseRequest({a.data(), len}, &r), ParseError::kTooShort) << len;
  }
}

TEST(ProtocolTest, TrailingBytesAfterConnectAreTolerated) {
  uint8_t b[40] = {};
  ASSERT_EQ(WriteConnectRequest(b, 99), 16u);
  Request r;
  ASSERT_EQ(ParseRequest(b, &r), ParseError::kNone);
  EXPECT_EQ(r.connect.transaction_id, 99u);
}

// Every length 0..255 for every action, random contents: never reads out of
// bounds (run under sanitizers too) and short ones are always refused.
TEST(ProtocolTest, LengthSweepNeverMisbehaves) {
  std::mt19937 rng(1);
  uint8_t buf[256];
  for (uint32_t action = 0; action <= 5; ++action) {
    for (size_t len = 0; len < sizeof(buf); ++len) {
      for (auto& x : buf) x = static_cast<uint8_t>(rng());
      if (len >= 12) buf[8] = buf[9] = buf[10] = 0, buf[11] = action;
      Request r;
      const ParseError e = ParseRequest({buf, len}, &r);
      if (len < 16) {
        EXPECT_EQ(e, ParseError::kTooShort);
      }
      if (action == 1 && len >= 16 && len < 98) {
        EXPECT_EQ(e, ParseError::kTooShort);
      }
      if (action == 2 && len >= 16) {
        EXPECT_EQ(e == ParseError::kBadScrapeLength, (len - 16) % 20 != 0);
      }
    }
  }
}

TEST(ProtocolTest, ConnectResponseBytes) {
  uint8_t out[16];
  ASSERT_EQ(WriteConnectResponse(out, 0x01020304, 0x1122334455667788ULL), 16u);
  const Bytes want = {0,    0,    0,    0,    1,    2,    3,    4,
                      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(Bytes(out, out + 16), want);
  Response r;
  ASSERT_EQ(ParseResponse(out, AddressFamily::kV4, &r),
            ResponseParseError::kNone);
  EXPECT_EQ(r.connect.connection_id, 0x1122334455667788ULL);
  EXPECT_EQ(r.transaction_id(), 0x01020304u);
  EXPECT_EQ(WriteConnectResponse({out, 15}, 1, 1), 0u);
}

TEST(ProtocolTest, AnnounceResponseV4AndV6Entries) {
  uint8_t out[100];
  size_t n = WriteAnnounceResponseHeader(out, 5, 1800, 3, 4);
  ASSERT_EQ(n, 20u);
  n += WritePeerEntry({out + n, 80}, PeerEndpoint::V4(0x7f000002, 6881));
  ASSERT_EQ(n, 26u);
  const Bytes entry = {127, 0, 0, 2, 0x1a, 0xe1};
  EXPECT_EQ(Bytes(out + 20, out + 26), entry);
  Response r;
  ASSERT_EQ(ParseResponse({out, n}, AddressFamily::kV4, &r),
            ResponseParseError::kNone);
  EXPECT_EQ(r.announce.interval, 1800u);
  EXPECT_EQ(r.announce.leechers, 3u);
  EXPECT_EQ(r.announce.seeders, 4u);
  ASSERT_EQ(r.announce.peer_count(), 1u);
  EXPECT_EQ(r.announce.peer(0), PeerEndpoint::V4(0x7f000002, 6881));

  uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip6[15] = 1;
  n = WriteAnnounceResponseHeader(out, 6, 60, 0, 1);
  n += WritePeerEntry({out + n, 80}, PeerEndpoint::V6(ip6, 443));
  ASSERT_EQ(n, 38u);
  EXPECT_EQ(out[20], 0x20);
  EXPECT_EQ(out[35], 1);
  EXPECT_EQ(out[36], 0x01);
  EXPECT_EQ(out[37], 0xbb);
  ASSERT_EQ(ParseResponse({out, n}, AddressFamily::kV6, &r),
            ResponseParseError::kNone);
  ASSERT_EQ(r.announce.peer_count(), 1u);
  EXPECT_EQ(r.announce.peer(0), PeerEndpoint::V6(ip6, 443));
}

TEST(ProtocolTest, ScrapeAndErrorResponses) {
  uint8_t out[64];
  size_t n = WriteScrapeResponseHeader(out, 9);
  n += WriteScrapeEntry({out + n, 56}, 1, 2, 3);
  ASSERT_EQ(n, 20u);
  const Bytes want = {0, 0, 0, 2, 0, 0, 0, 9, 0, 0,
                      0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  EXPECT_EQ(Bytes(out, out + n), want);
  Response r;
  ASSERT_EQ(ParseResponse({out, n}, AddressFamily::kV4, &r),
            ResponseParseError::kNone);
  ASSERT_EQ(r.scrape.entry_count(), 1u);
  EXPECT_EQ(r.scrape.entry(0).completed, 2u);

  n = WriteErrorResponse(out, 10, "invalid port");
  ASSERT_EQ(n, 20u);
  ASSERT_EQ(ParseResponse({out, n}, AddressFamily::kV4, &r),
            ResponseParseError::kNone);
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "invalid port");
  EXPECT_EQ(ParseResponse({out, 7}, AddressFamily::kV4, &r),
            ResponseParseError::kTooShort);
}

TEST(ProtocolTest, ScrapeRequestRoundTrip) {
  uint8_t hashes[40];
  for (int i = 0; i < 40; ++i) hashes[i] = static_cast<uint8_t>(i);
  uint8_t out[56];
  ASSERT_EQ(WriteScrapeRequest(out, 77, 88, hashes), 56u);
  Request r;
  ASSERT_EQ(ParseRequest(out, &r), ParseError::kNone);
  EXPECT_EQ(r.scrape.connection_id, 77u);
  EXPECT_EQ(r.scrape.transaction_id, 88u);
  EXPECT_EQ(r.scrape.hash_count, 2u);
  EXPECT_EQ(r.scrape.hash(1).bytes[0], 20);
}

}  // namespace
}  // namespace ringtrack::protocol

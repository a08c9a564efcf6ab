#include "core/http/request_head.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringtrack::http {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// What qBittorrent (libtorrent 2.0) sends: lower-case escapes, unreserved
// bytes raw, Connection: close.
constexpr std::string_view kLibtorrent =
    "GET /announce?info_hash=%8c%1e%b0%ac%c6%04%1c%bd%df%d9%de%9b%8b%aa%0c%db"
    "%0b%3a%c0%ec&peer_id=-qB4500-k4FlR3oq2Bc%21&port=6881&uploaded=0"
    "&downloaded=0&left=1048576&corrupt=0&key=6C9A1F2B&event=started"
    "&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0 "
    "HTTP/1.1\r\n"
    "Host: tracker.example:6969\r\n"
    "User-Agent: qBittorrent/4.5.0\r\n"
    "Accept-Encoding: gzip\r\n"
    "Connection: close\r\n"
    "\r\n";

TEST(FindHeadTest, FramesAWholeHeadAndLeavesThePipelinedRest) {
  const std::string two = std::string(kLibtorrent) + "GET /scr";
  const Frame f = FindHead(Bytes(two), HeadLimits{});
  ASSERT_EQ(f.state, FrameState::kComplete);
  EXPECT_EQ(f.head_size, kLibtorrent.size());
}

TEST(FindHeadTest, NeedsMoreUntilTheBlankLine) {
  for (size_t n = 0; n < kLibtorrent.size(); ++n) {
    const Frame f = FindHead(Bytes(kLibtorrent.substr(0, n)), HeadLimits{});
    EXPECT_EQ(f.state, FrameState::kNeedMore) << n;
  }
}

TEST(FindHeadTest, TooLargeIs431) {
  std::string head = "GET /announce HTTP/1.1\r\nX: ";
  head.append(9000, 'a');
  const Frame f = FindHead(Bytes(head), HeadLimits{});
  ASSERT_EQ(f.state, FrameState::kError);
  EXPECT_EQ(f.error, Status::kHeadersTooLarge);
  // The limit is a parameter.
  const Frame g = FindHead(Bytes(kLibtorrent), HeadLimits{.max_head_size = 100});
  EXPECT_EQ(g.state, FrameState::kError);
  EXPECT_EQ(g.error, Status::kHeadersTooLarge);
}

TEST(FindHeadTest, NotHttpIsRefusedAtOnce) {
  // A TLS ClientHello's first bytes, a NUL in a head, a leading space.
  const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00};
  EXPECT_EQ(FindHead(tls, HeadLimits{}).state, FrameState::kError);
  EXPECT_EQ(FindHead(Bytes(std::string_view("GET /\0 HTTP/1.1", 15)),
                     HeadLimits{})
                .state,
            FrameState::kError);
  EXPECT_EQ(FindHead(Bytes(" GET / HTTP/1.1\r\n"), HeadLimits{}).state,
            FrameState::kError);
}

TEST(ParseHeadTest, ReadsALibtorrentAnnounce) {
  RequestHead h;
  ASSERT_EQ(ParseHead(kLibtorrent, HeadLimits{}, &h), Status::kOk);
  EXPECT_EQ(h.method, Method::kGet);
  EXPECT_EQ(h.path, "/announce");
  EXPECT_TRUE(h.query.starts_with("info_hash=%8c"));
  EXPECT_TRUE(h.query.ends_with("redundant=0"));
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_FALSE(h.keep_alive);  // Connection: close
  ASSERT_EQ(h.header_count, 4u);
  ASSERT_NE(h.Find("user-agent"), nullptr);
  EXPECT_EQ(h.Find("USER-AGENT")->value, "qBittorrent/4.5.0");
}

TEST(ParseHeadTest, KeepAliveFollowsRfc9112) {
  RequestHead h;
  ASSERT_EQ(ParseHead("GET / HTTP/1.1\r\nHost: a\r\n\r\n", {}, &h),
            Status::kOk);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(ParseHead("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n",
                      {}, &h),
            Status::kOk);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(ParseHead("GET / HTTP/1.0\r\n\r\n", {}, &h), Status::kOk);
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(h.minor_version, 0);
  ASSERT_EQ(ParseHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", {}, &h),
            Status::kOk);
  EXPECT_TRUE(h.keep_alive);
}

TEST(ParseHeadTest, AbsoluteFormAndLeadingEmptyLines) {
  RequestHead h;
  ASSERT_EQ(ParseHead("\r\nGET http://t.example:6969/scrape?info_hash=a "
                      "HTTP/1.1\r\nHost: t.example\r\n\r\n",
                      {}, &h),
            Status::kOk);
  EXPECT_EQ(h.path, "/scrape");
  EXPECT_EQ(h.query, "info_hash=a");
  ASSERT_EQ(ParseHead("GET http://t.example HTTP/1.1\r\nHost: t\r\n\r\n", {}, &h),
            Status::kOk);
  EXPECT_EQ(h.path, "/");
}

TEST(ParseHeadTest, OtherMethodsParseForThe405) {
  RequestHead h;
  ASSERT_EQ(ParseHead("POST /announce HTTP/1.1\r\nHost: a\r\n\r\n", {}, &h),
            Status::kOk);
  EXPECT_EQ(h.method, Method::kOther);
  EXPECT_EQ(h.method_token, "POST");
  ASSERT_EQ(ParseHead("HEAD /announce HTTP/1.1\r\nHost: a\r\n\r\n", {}, &h),
            Status::kOk);
  EXPECT_EQ(h.method, Method::kHead);
}

TEST(ParseHeadTest, EveryMalformedHeadHasItsStatus) {
  struct Case {
    std::string_view head;
    Status want;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", Status::kBadRequest},  // no Host
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Status::kVersionNotSupported},
      {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Status::kVersionNotSupported},
      {"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET / http/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", Status::kBadRequest},  // bare LF
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
       Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
       "Content-Length: 0\r\n\r\n",
       Status::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
       Status::kBadRequest},
      {"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", Status::kBadRequest},
      {"\r\n\r\n", Status::kBadRequest},
  };
  for (const Case& c : cases) {
    RequestHead h;
    EXPECT_EQ(ParseHead(c.head, {}, &h), c.want) << c.head;
  }
  RequestHead h;
  EXPECT_EQ(ParseHead("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                      {}, &h),
            Status::kOk);
}

TEST(ParseHeadTest, HeaderCountLimitIs431) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 4; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  head += "\r\n";
  RequestHead h;
  EXPECT_EQ(ParseHead(head, HeadLimits{.max_headers = 5}, &h), Status::kOk);
  EXPECT_EQ(ParseHead(head, HeadLimits{.max_headers = 4}, &h),
            Status::kHeadersTooLarge);
}

TEST(ParseHeadTest, HasTokenReadsLists) {
  EXPECT_TRUE(HasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(HasToken(" close ", "close"));
  EXPECT_FALSE(HasToken("closed", "close"));
  EXPECT_FALSE(HasToken("", "close"));
}

// Every prefix of a valid head, and of it with each byte flipped: framing
// and parsing never crash and never read past what they were given (run
// under ASan in CI).
TEST(ParseHeadTest, LengthAndFlipSweepNeverCrashes) {
  const std::string head(kLibtorrent);
  for (size_t n = 0; n <= head.size(); ++n) {
    const std::vector<uint8_t> prefix(head.begin(), head.begin() + n);
    FindHead(prefix, HeadLimits{});
    RequestHead h;
    const std::string s(head.substr(0, n));
    const Status st = ParseHead(s, HeadLimits{}, &h);
    if (n < head.size()) {
      EXPECT_NE(st, Status::kOk) << n;
    }
  }
  for (size_t i = 0; i < head.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string s = head;
      s[i] = static_cast<char>(s[i] ^ flip);
      const Frame f = FindHead(
          {reinterpret_cast<const uint8_t*>(s.data()), s.size()}, HeadLimits{});
      RequestHead h;
      if (f.state == FrameState::kComplete) {
        ParseHead(std::string_view(s).substr(0, f.head_size), HeadLimits{}, &h);
      }
    }
  }
}

TEST(StatusTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(Status::kOk), "OK");
  EXPECT_EQ(ReasonPhrase(Status::kHeadersTooLarge),
            "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(Status::kMethodNotAllowed), "Method Not Allowed");
}

}  // namespace
}  // namespace ringtrack::http

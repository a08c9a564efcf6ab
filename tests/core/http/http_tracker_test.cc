#include "core/http/http_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/http/client.h"
#include "core/udp/udp_tracker.h"

namespace ringtrack {
namespace {

using http::Status;

constexpr uint32_t kNow = 1'800'000'000;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A swarm store with both front ends over one tracker core.
class HttpTrackerTest : public ::testing::Test {
 protected:
  HttpTrackerTest()
      : table_(SwarmTableConfig{.initial_slots = 1024, .seed0 = 1, .seed1 = 2}),
        ids_(MasterKey{3, 4}, kNow),
        core_(TrackerConfig{}, &table_),
        udp_(&core_, &ids_),
        http_(&core_, HttpConfig{}) {}

  struct Reply {
    std::string text;  // the whole response
    HttpResult result;
    http::ResponseHead head;
    std::string_view body() const {
      return std::string_view(text).substr(head.head_size);
    }
  };
  Reply Send(std::string_view request, const PeerEndpoint& from,
             const HttpTracker* t = nullptr) {
    if (t == nullptr) t = &http_;
    std::vector<uint8_t> out(HttpTracker::kMaxResponseSize);
    Reply r;
    r.result = t->Handle(Bytes(request), from, kNow, 42, out, &stats_);
    r.text.assign(out.begin(), out.begin() + r.result.response_size);
    EXPECT_EQ(http::ParseResponseHead(Bytes(r.text), &r.head),
              http::ResponseFrame::kComplete)
        << r.text;
    EXPECT_EQ(r.head.keep_alive, r.result.keep_alive) << r.text;
    return r;
  }
  static std::string Announce(const AnnounceRequest& a, bool compact = true,
                              bool keep_alive = true) {
    std::vector<uint8_t> buf(http::kMaxAnnounceRequestSize);
    const size_t n = http::WriteAnnounceRequest(
        buf, http::RequestTarget{.host = "127.0.0.1:6969"}, a, compact,
        keep_alive);
    EXPECT_GT(n, 0u);
    return {buf.begin(), buf.begin() + n};
  }
  static AnnounceRequest Req(uint8_t torrent, uint16_t port, uint64_t left) {
    AnnounceRequest a;
    a.info_hash.bytes.fill(torrent);
    a.peer_id.fill('p');
    a.peer.port = port;
    a.left = left;
    a.event = Event::kStarted;
    return a;
  }
  // A UDP announce through the BEP 15 front end (connect first).
  protocol::Response UdpAnnounce(const PeerEndpoint& from, uint8_t torrent,
                                 uint16_t port, uint64_t left) {
    protocol::AnnounceRequest a;
    a.connection_id = ids_.Make(from, kNow);
    a.transaction_id = 9;
    a.info_hash.bytes.fill(torrent);
    a.port = port;
    a.left = left;
    a.event = Event::kStarted;
    std::vector<uint8_t> d(protocol::kAnnounceRequestSize);
    protocol::WriteAnnounceRequest(d, a);
    udp_reply_.assign(kMaxUdpReplySize, 0);
    const UdpResult r = udp_.Handle(d, from, kNow, 7, udp_reply_, &udp_stats_);
    udp_reply_.resize(r.reply_size);
    protocol::Response resp;
    EXPECT_EQ(protocol::ParseResponse(udp_reply_, from.family, &resp),
              protocol::ResponseParseError::kNone);
    return resp;
  }

  SwarmTable table_;
  ConnectionIds ids_;
  Tracker core_;
  UdpTracker udp_;
  HttpTracker http_;
  HttpStats stats_;
  UdpStats udp_stats_;
  std::vector<uint8_t> udp_reply_;
  const PeerEndpoint alice_ = PeerEndpoint::V4(0x7f000001, 40001);
  const PeerEndpoint bob_ = PeerEndpoint::V4(0x7f000002, 40002);
};

TEST_F(HttpTrackerTest, AnnounceExactBytes) {
  const Reply r = Send(
      "GET /announce?info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb"
      "&port=6881&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\nHost: x\r\n\r\n",
      alice_);
  EXPECT_EQ(r.text,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            "Content-Length: 77\r\n\r\n"
            "d8:completei1e10:incompletei0e8:intervali1800e"
            "12:min intervali1800e5:peers0:e");
  EXPECT_TRUE(r.result.keep_alive);
  EXPECT_EQ(r.result.outcome, HttpOutcome::kAnnounce);
  EXPECT_EQ(stats_.tracker.announces.value(), 1u);
}

// An HTTP leecher gets a UDP seeder and a UDP leecher an HTTP seeder:
// one swarm store, one rule set.
TEST_F(HttpTrackerTest, MixedSwarmBothWays) {
  ASSERT_EQ(UdpAnnounce(alice_, 1, 7001, 0).action, protocol::Action::kAnnounce);
  Reply r = Send(Announce(Req(1, 7002, 100)), bob_);
  http::AnnounceResponse a;
  ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r.body()), &a),
            http::ReplyError::kNone)
      << r.text;
  EXPECT_EQ(a.complete, 1);
  EXPECT_EQ(a.incomplete, 1);
  ASSERT_EQ(a.peer_count, 1u);
  EXPECT_EQ(a.peers[0], PeerEndpoint::V4(0x7f000001, 7001));
  EXPECT_TRUE(a.compact);

  // The reverse: an HTTP seeder, a UDP leecher.
  r = Send(Announce(Req(2, 7003, 0)), bob_);
  const protocol::Response u = UdpAnnounce(alice_, 2, 7004, 5);
  ASSERT_EQ(u.action, protocol::Action::kAnnounce);
  ASSERT_EQ(u.announce.peer_count(), 1u);
  EXPECT_EQ(u.announce.peer(0), PeerEndpoint::V4(0x7f000002, 7003));
  EXPECT_EQ(u.announce.seeders, 1u);
  // Counted by protocol.
  EXPECT_EQ(stats_.tracker.announces.value(), 2u);
  EXPECT_EQ(udp_stats_.tracker.announces.value(), 2u);
  // Scrape sees both, whichever protocol asks.
  std::vector<uint8_t> buf(1024);
  InfoHash h;
  h.bytes.fill(1);
  const size_t n = http::WriteScrapeRequest(
      buf, http::RequestTarget{.host = "t"}, h.bytes, true);
  r = Send(std::string_view(reinterpret_cast<char*>(buf.data()), n), alice_);
  http::ScrapeResponse s;
  ASSERT_EQ(http::ParseScrapeResponse(Bytes(r.body()), &s),
            http::ReplyError::kNone);
  ASSERT_EQ(s.file_count, 1u);
  EXPECT_EQ(s.files[0].info_hash, h);
  EXPECT_EQ(s.files[0].complete, 1);
  EXPECT_EQ(s.files[0].incomplete, 1);
}

TEST_F(HttpTrackerTest, DictionaryFormAndIpv6) {
  Send(Announce(Req(3, 7001, 0)), alice_);
  Reply r = Send(Announce(Req(3, 7002, 10), /*compact=*/false), bob_);
  EXPECT_NE(r.body().find("5:peersld2:ip9:127.0.0.14:porti7001eee"),
            std::string_view::npos)
      << r.body();
  http::AnnounceResponse a;
  ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r.body()), &a),
            http::ReplyError::kNone);
  ASSERT_EQ(a.peer_count, 1u);
  EXPECT_FALSE(a.compact);
  EXPECT_EQ(a.peers[0], PeerEndpoint::V4(0x7f000001, 7001));

  // IPv6 requesters get peers6 (BEP 7) and an empty peers.
  const uint8_t v6a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t v6b[16] = {0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  Send(Announce(Req(4, 7001, 0)), PeerEndpoint::V6(v6a, 1));
  r = Send(Announce(Req(4, 7002, 10)), PeerEndpoint::V6(v6b, 2));
  const std::string want_peers6 =
      std::string("5:peers0:6:peers618:") +
      std::string(reinterpret_cast<const char*>(v6a), 16) + "\x1b\x59" + "e";
  EXPECT_TRUE(r.body().ends_with(want_peers6)) << r.body();
  ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r.body()), &a),
            http::ReplyError::kNone);
  ASSERT_EQ(a.peer_count, 1u);
  EXPECT_EQ(a.peers[0], PeerEndpoint::V6(v6a, 7001));
}

TEST_F(HttpTrackerTest, ErrorsHaveTheirStatus) {
  struct Case {
    std::string_view request;
    int status;
    HttpOutcome outcome;
    bool keep_alive;
  } cases[] = {
      {"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, HttpOutcome::kNotFound,
       true},
      {"GET /announce/key HTTP/1.1\r\nHost: x\r\n\r\n", 404,
       HttpOutcome::kNotFound, true},
      {"POST /announce HTTP/1.1\r\nHost: x\r\n\r\n", 405,
       HttpOutcome::kMethodNotAllowed, false},
      {"GET /announce HTTP/1.1\r\n\r\n", 400, HttpOutcome::kBadRequest, false},
      {"GET /announce HTTP/3.0\r\nHost: x\r\n\r\n", 505,
       HttpOutcome::kBadVersion, false},
  };
  for (const Case& c : cases) {
    const Reply r = Send(c.request, alice_);
    EXPECT_EQ(r.head.status, c.status) << c.request;
    EXPECT_EQ(r.result.outcome, c.outcome) << c.request;
    EXPECT_EQ(r.result.keep_alive, c.keep_alive) << c.request;
    EXPECT_EQ(r.body().size(), r.head.content_length);
  }
  const Reply r = Send("PUT / HTTP/1.1\r\nHost: x\r\n\r\n", alice_);
  EXPECT_NE(r.text.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_NE(r.text.find("\r\nConnection: close\r\n"), std::string::npos);
  // What the framing refused.
  std::vector<uint8_t> out(HttpTracker::kMaxResponseSize);
  const HttpResult big =
      http_.Refuse(Status::kHeadersTooLarge, alice_, out, &stats_);
  EXPECT_EQ(std::string(out.begin(), out.begin() + big.response_size),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "Content-Type: text/plain\r\nContent-Length: 36\r\n"
            "Connection: close\r\n\r\n"
            "431 Request Header Fields Too Large\n");
  EXPECT_FALSE(big.keep_alive);
  EXPECT_EQ(stats_.outcomes[static_cast<size_t>(HttpOutcome::kHeadTooLarge)]
                .value(),
            1u);
}

// Refusals a client should show are `failure reason` with status 200.
TEST_F(HttpTrackerTest, RefusalsAreFailureReasonsWith200) {
  Reply r = Send("GET /announce?info_hash=short HTTP/1.1\r\nHost: x\r\n\r\n",
                 alice_);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.body(), "d14:failure reason17:invalid info_hashe");
  EXPECT_EQ(r.result.outcome, HttpOutcome::kFailure);
  EXPECT_TRUE(r.result.keep_alive);
  EXPECT_EQ(stats_.bad_query[static_cast<size_t>(http::QueryError::kInfoHash)]
                .value(),
            1u);

  r = Send(Announce(Req(5, 0, 1)), alice_);
  EXPECT_EQ(r.body(), "d14:failure reason12:invalid porte");

  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "01";
  auto list = AccessList::Parse(hex, AccessList::Mode::kAllow, "test");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(core_.SetAccessList(std::move(*list)), nullptr);
  r = Send(Announce(Req(2, 7000, 1)), alice_);
  EXPECT_EQ(r.body(), "d14:failure reason19:torrent not allowede");
  EXPECT_EQ(table_.stats().torrents, 0u);
  EXPECT_EQ(stats_.tracker.refused[static_cast<size_t>(Refusal::kNotAllowed)]
                .value(),
            1u);
  r = Send("GET /scrape?info_hash=%01%01%01%01%01%01%01%01%01%01%01%01%01%01"
           "%01%01%01%01%01%01&info_hash=%02%02%02%02%02%02%02%02%02%02%02%02"
           "%02%02%02%02%02%02%02%02 HTTP/1.1\r\nHost: x\r\n\r\n",
           alice_);
  EXPECT_EQ(r.body(), "d14:failure reason19:torrent not allowede");
  r = Send(Announce(Req(1, 7000, 1)), alice_);
  EXPECT_EQ(r.result.outcome, HttpOutcome::kAnnounce);

  // A full scrape is refused.
  r = Send("GET /scrape HTTP/1.1\r\nHost: x\r\n\r\n", alice_);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_TRUE(r.body().starts_with("d14:failure reason")) << r.body();
}

TEST_F(HttpTrackerTest, TrackerFullAndRateLimitedAreFailureReasons) {
  MemoryBudget budget(4096);
  SwarmTable table(SwarmTableConfig{.initial_slots = 64, .seed0 = 1,
                                    .seed1 = 2, .budget = &budget});
  Tracker core(TrackerConfig{}, &table);
  HttpTracker http(&core, HttpConfig{});
  bool full = false;
  for (int t = 1; t < 250 && !full; ++t) {
    const Reply r = Send(Announce(Req(static_cast<uint8_t>(t), 7000, 1)),
                         alice_, &http);
    full = r.body() == "d14:failure reason15:tracker is fulle";
  }
  EXPECT_TRUE(full);

  SourceLimiter limiter(SourceLimiterConfig{.rate_per_s = 1, .burst = 1,
                                            .seed0 = 7, .seed1 = 8});
  SwarmTable limited(SwarmTableConfig{.initial_slots = 64, .seed0 = 1,
                                      .seed1 = 2, .limiter = &limiter});
  Tracker core2(TrackerConfig{}, &limited);
  HttpTracker http2(&core2, HttpConfig{});
  Send(Announce(Req(1, 7000, 1)), alice_, &http2);
  const Reply r = Send(Announce(Req(2, 7000, 1)), alice_, &http2);
  EXPECT_EQ(r.body(),
            "d14:failure reason39:too many new torrents from your addresse");
}

TEST_F(HttpTrackerTest, HeadGetsTheHeadOnly) {
  const Reply get = Send(Announce(Req(6, 7000, 1)), alice_);
  std::string head = Announce(Req(6, 7000, 1));
  head.replace(0, 3, "HEAD");
  const Reply r = Send(head, alice_);
  EXPECT_EQ(r.head.content_length, get.head.content_length);
  EXPECT_EQ(r.text.size(), r.head.head_size);
}

TEST_F(HttpTrackerTest, KeepAliveRules) {
  std::string req = Announce(Req(7, 7000, 1), true, /*keep_alive=*/false);
  Reply r = Send(req, alice_);
  EXPECT_FALSE(r.result.keep_alive);
  EXPECT_NE(r.text.find("Connection: close"), std::string::npos);
  // HTTP/1.0 without keep-alive closes; with it, the reply says so.
  r = Send("GET /announce?info_hash=x HTTP/1.0\r\n\r\n", alice_);
  EXPECT_FALSE(r.result.keep_alive);
  EXPECT_NE(r.text.find("Connection: close"), std::string::npos);
  r = Send("GET /announce?info_hash=x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
           alice_);
  EXPECT_TRUE(r.result.keep_alive);
  EXPECT_NE(r.text.find("Connection: keep-alive"), std::string::npos);
}

TEST_F(HttpTrackerTest, ScrapeSortsAndMergesHashes) {
  Send(Announce(Req(9, 7000, 0)), alice_);
  Send(Announce(Req(9, 7000, 5)), bob_);
  std::vector<uint8_t> hashes(60);
  std::fill(hashes.begin(), hashes.begin() + 20, 9);
  std::fill(hashes.begin() + 20, hashes.begin() + 40, 8);
  std::fill(hashes.begin() + 40, hashes.end(), 9);
  std::vector<uint8_t> buf(1024);
  const size_t n = http::WriteScrapeRequest(
      buf, http::RequestTarget{.host = "t"}, hashes, true);
  const Reply r =
      Send(std::string_view(reinterpret_cast<char*>(buf.data()), n), alice_);
  const std::string h8(20, '\x08'), h9(20, '\x09');
  EXPECT_EQ(r.body(), "d5:filesd20:" + h8 +
                          "d8:completei0e10:downloadedi0e10:incompletei0ee"
                          "20:" + h9 +
                          "d8:completei1e10:downloadedi0e10:incompletei1eeee");
  EXPECT_EQ(r.result.outcome, HttpOutcome::kScrape);
}

TEST_F(HttpTrackerTest, TrustedProxyNamesTheClient) {
  auto proxy = http::Cidr::Parse("127.0.0.0/8");
  ASSERT_TRUE(proxy.ok());
  HttpConfig config;
  config.trusted_proxies = http::TrustedProxies({*proxy});
  HttpTracker behind(&core_, config);
  std::string req = Announce(Req(10, 7000, 1));
  req.insert(req.size() - 2, "X-Forwarded-For: 203.0.113.9, 198.51.100.7, 127.0.0.5\r\n");
  Send(req, alice_, &behind);
  // The swarm holds the client the proxy named (rightmost untrusted hop).
  const Reply r = Send(Announce(Req(10, 7001, 0)), bob_);
  http::AnnounceResponse a;
  ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r.body()), &a),
            http::ReplyError::kNone);
  ASSERT_EQ(a.peer_count, 1u);
  EXPECT_EQ(a.peers[0], PeerEndpoint::V4(0xc6336407, 7000));
  EXPECT_EQ(stats_.proxied.value(), 1u);

  // The same header from an untrusted peer is ignored.
  const PeerEndpoint stranger = PeerEndpoint::V4(0x0a000001, 1);
  Send(req, stranger, &behind);
  const Reply r2 = Send(Announce(Req(10, 7002, 0)), bob_);
  ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r2.body()), &a),
            http::ReplyError::kNone);
  bool stranger_stored = false;
  for (size_t i = 0; i < a.peer_count; ++i) {
    stranger_stored |= a.peers[i] == PeerEndpoint::V4(0x0a000001, 7000);
  }
  EXPECT_TRUE(stranger_stored);
  EXPECT_EQ(stats_.proxied.value(), 1u);
}

http::RequestHead ParsedHead(const std::string& text) {
  http::RequestHead h;
  EXPECT_EQ(http::ParseHead(text, {}, &h), Status::kOk) << text;
  return h;
}

TEST(ClientAddressTest, ProxyHeaders) {
  std::vector<http::Cidr> cidrs;
  for (const char* c : {"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}) {
    auto p = http::Cidr::Parse(c);
    ASSERT_TRUE(p.ok()) << c;
    cidrs.push_back(*p);
  }
  const http::TrustedProxies proxies(cidrs);
  const PeerEndpoint proxy = PeerEndpoint::V4(0x0a000001, 555);
  const PeerEndpoint stranger = PeerEndpoint::V4(0xcb007101, 556);
  auto client = [&](const std::string& fields, const PeerEndpoint& from) {
    std::string text = "GET / HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n";
    // ParsedHead's views alias `text`: keep it alive for ClientOf.
    http::RequestHead h;
    EXPECT_EQ(http::ParseHead(text, {}, &h), Status::kOk) << text;
    return proxies.ClientOf(h, from);
  };
  // Rightmost untrusted hop; the client's forged entries to its left.
  EXPECT_EQ(client("X-Forwarded-For: 1.1.1.1, 198.51.100.7, 10.9.9.9\r\n", proxy),
            PeerEndpoint::V4(0xc6336407, 555));
  // Several fields are one list.
  EXPECT_EQ(client("X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 10.1.1.1\r\n",
                   proxy),
            PeerEndpoint::V4(0x01010101, 555));
  // All trusted: the leftmost.
  EXPECT_EQ(client("X-Forwarded-For: 10.1.1.1, 10.2.2.2\r\n", proxy),
            PeerEndpoint::V4(0x0a010101, 555));
  // With ports, brackets, v4-mapped.
  EXPECT_EQ(client("X-Forwarded-For: 198.51.100.7:4711\r\n", proxy),
            PeerEndpoint::V4(0xc6336407, 555));
  EXPECT_EQ(client("X-Forwarded-For: ::ffff:198.51.100.7\r\n", proxy),
            PeerEndpoint::V4(0xc6336407, 555));
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0,
                          0,    0,    0,    0,    0, 0, 0, 0x17};
  EXPECT_EQ(client("Forwarded: for=\"[2001:db9::17]:4711\";proto=http\r\n",
                   proxy),
            PeerEndpoint::V6(v6, 555));
  EXPECT_EQ(client("Forwarded: for=198.51.100.7, for=192.0.2.1;by=x\r\n", proxy),
            PeerEndpoint::V4(0xc6336407, 555));
  EXPECT_EQ(client("X-Real-IP: 198.51.100.8\r\n", proxy),
            PeerEndpoint::V4(0xc6336408, 555));
  // Garbage where the client should be: the next header kind, else the peer.
  EXPECT_EQ(client("X-Forwarded-For: nonsense\r\nX-Real-IP: 198.51.100.8\r\n",
                   proxy),
            PeerEndpoint::V4(0xc6336408, 555));
  EXPECT_EQ(client("Forwarded: for=unknown\r\n", proxy), proxy);
  EXPECT_EQ(client("", proxy), proxy);
  // Spoofed: an untrusted peer's headers are ignored.
  EXPECT_EQ(client("X-Forwarded-For: 198.51.100.7\r\n", stranger), stranger);
  EXPECT_EQ(client("X-Real-IP: 198.51.100.7\r\n", stranger), stranger);
  EXPECT_EQ(client("Forwarded: for=198.51.100.7\r\n", stranger), stranger);
  // No list: nobody is trusted.
  http::RequestHead h = ParsedHead(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 198.51.100.7\r\n\r\n");
  EXPECT_EQ(http::TrustedProxies().ClientOf(h, proxy), proxy);
}

TEST(ClientAddressTest, CidrParsing) {
  auto c = http::Cidr::Parse("10.1.2.3/8");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Contains(PeerEndpoint::V4(0x0affffff, 0)));
  EXPECT_FALSE(c->Contains(PeerEndpoint::V4(0x0b000000, 0)));
  auto odd = http::Cidr::Parse("192.168.0.0/23");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Contains(PeerEndpoint::V4(0xc0a801ff, 0)));
  EXPECT_FALSE(odd->Contains(PeerEndpoint::V4(0xc0a80200, 0)));
  auto all = http::Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains(PeerEndpoint::V4(0x01020304, 0)));
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff};
  EXPECT_FALSE(all->Contains(PeerEndpoint::V6(v6, 0)));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
                          "host.example", "::/129", "10.0.0.0/8x"}) {
    const auto r = http::Cidr::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos);
    }
  }
}

TEST(ClientTest, ScrapePathAndResponseHead) {
  std::string p;
  ASSERT_TRUE(http::ScrapePathOf("/announce", &p));
  EXPECT_EQ(p, "/scrape");
  ASSERT_TRUE(http::ScrapePathOf("/x/announce.php", &p));
  EXPECT_EQ(p, "/x/scrape.php");
  EXPECT_FALSE(http::ScrapePathOf("/a", &p));
  http::ResponseHead h;
  const std::string_view ok =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t n = 0; n < ok.size() - 3; ++n) {
    EXPECT_EQ(http::ParseResponseHead(Bytes(ok.substr(0, n)), &h),
              http::ResponseFrame::kNeedMore);
  }
  ASSERT_EQ(http::ParseResponseHead(Bytes(ok), &h),
            http::ResponseFrame::kComplete);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(http::ParseResponseHead(Bytes("HTTP/1.1 200 OK\r\n\r\n"), &h),
            http::ResponseFrame::kError);
}

// Client writer → server parser → server writer → client parser, over
// many announces of every shape.
TEST_F(HttpTrackerTest, RoundTripsEveryField) {
  for (int i = 0; i < 64; ++i) {
    AnnounceRequest a = Req(static_cast<uint8_t>(100 + i % 4), 
                            static_cast<uint16_t>(1000 + i), i % 3 ? 5 : 0);
    for (size_t k = 0; k < 20; ++k) {
      a.info_hash.bytes[k] = static_cast<uint8_t>(i * 31 + k * 7);
      a.peer_id[k] = static_cast<uint8_t>(i + k * 13);
    }
    a.uploaded = 1ull << (i % 64);
    a.downloaded = i;
    a.numwant = i % 5 == 0 ? -1 : i;
    a.key = i % 2 ? 0xdeadbeef : 0;
    a.event = static_cast<Event>(i % 4);
    const std::string req = Announce(a, i % 2 == 0);
    const http::Frame f = http::FindHead(Bytes(req), {});
    ASSERT_EQ(f.state, http::FrameState::kComplete);
    ASSERT_EQ(f.head_size, req.size());
    http::RequestHead h;
    ASSERT_EQ(http::ParseHead(req, {}, &h), Status::kOk);
    http::AnnounceQuery q;
    ASSERT_EQ(http::ParseAnnounceQuery(h.query, &q), http::QueryError::kNone);
    EXPECT_EQ(q.core.info_hash, a.info_hash);
    EXPECT_EQ(q.core.peer_id, a.peer_id);
    EXPECT_EQ(q.core.peer.port, a.peer.port);
    EXPECT_EQ(q.core.uploaded, a.uploaded);
    EXPECT_EQ(q.core.downloaded, a.downloaded);
    EXPECT_EQ(q.core.left, a.left);
    EXPECT_EQ(q.core.numwant, a.numwant);
    EXPECT_EQ(q.core.key, a.key);
    EXPECT_EQ(q.core.event, a.event);
    EXPECT_EQ(q.compact, i % 2 == 0);
    const Reply r = Send(req, PeerEndpoint::V4(0x7f000100 + i, 1));
    http::AnnounceResponse resp;
    ASSERT_EQ(http::ParseAnnounceResponse(Bytes(r.body()), &resp),
              http::ReplyError::kNone);
    if (a.event != Event::kStopped) {
      EXPECT_EQ(resp.interval, 1800);
      EXPECT_EQ(resp.min_interval, 1800);
    }
  }
}

// A length sweep of a valid request through Handle(): every prefix is
// answered or refused, never a crash (ASan in CI).
TEST_F(HttpTrackerTest, LengthSweepNeverCrashes) {
  const std::string req = Announce(Req(11, 7000, 1));
  std::vector<uint8_t> out(HttpTracker::kMaxResponseSize);
  for (size_t n = 0; n <= req.size(); ++n) {
    const HttpResult r =
        http_.Handle(Bytes(std::string_view(req).substr(0, n)), alice_, kNow, 1,
                     out, &stats_);
    EXPECT_LE(r.response_size, out.size());
    EXPECT_GT(r.response_size, 0u);
  }
}

}  // namespace
}  // namespace ringtrack

// libFuzzer target: the HTTP codec (core/http/) on hostile bytes, both
// directions.
//   * Server side: the input is what a connection sends. FindHead() frames
//     heads one after another (pipelining); each is answered by
//     HttpTracker::Handle() over a small swarm table, from a TCP peer that
//     is or is not a trusted proxy, or refused (Refuse()). Every response
//     fits its buffer, has a head the client parser reads, a Content-Length
//     equal to its body (none for HEAD), and closes exactly when it says
//     `Connection: close`; the table's invariants hold.
//   * Query round trip: an announce query that parses is written back by
//     the client writer and parses to the same fields.
//   * Client side: the input read as a bencoded announce and scrape reply
//     and as a response head never crashes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/bencode.h"
#include "core/http/client.h"
#include "core/http/http_tracker.h"
#include "core/http/query.h"
#include "core/http/request_head.h"

using namespace ringtrack;

namespace {

void Fail(const std::string& why) {
  std::fprintf(stderr, "http_codec_fuzzer: %s\n", why.c_str());
  std::abort();
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void CheckResponse(std::span<const uint8_t> resp, const HttpResult& r,
                   bool head_method) {
  if (r.response_size > HttpTracker::kMaxResponseSize) Fail("response too big");
  http::ResponseHead h;
  if (http::ParseResponseHead(resp.first(r.response_size), &h) !=
      http::ResponseFrame::kComplete) {
    Fail("the client cannot read the response head");
  }
  const size_t body = r.response_size - h.head_size;
  if (!head_method && body != h.content_length) Fail("Content-Length is wrong");
  if (head_method && body != 0 && body != h.content_length) {
    Fail("HEAD got a partial body");
  }
  if (h.keep_alive != r.keep_alive) Fail("Connection header disagrees");
}

void RoundTripQuery(std::string_view query) {
  http::AnnounceQuery q;
  if (http::ParseAnnounceQuery(query, &q) != http::QueryError::kNone) return;
  std::vector<uint8_t> buf(http::kMaxAnnounceRequestSize);
  const size_t n = http::WriteAnnounceRequest(
      buf, http::RequestTarget{.host = "t"}, q.core, q.compact, true);
  if (n == 0) Fail("the client writer refused a parsed announce");
  http::RequestHead h;
  if (http::ParseHead({reinterpret_cast<const char*>(buf.data()), n}, {}, &h) !=
      http::Status::kOk) {
    Fail("the client writer's head does not parse");
  }
  http::AnnounceQuery again;
  if (http::ParseAnnounceQuery(h.query, &again) != http::QueryError::kNone) {
    Fail("the written announce does not parse");
  }
  const AnnounceRequest& a = q.core;
  const AnnounceRequest& b = again.core;
  if (!(a.info_hash == b.info_hash) || a.peer_id != b.peer_id ||
      a.peer.port != b.peer.port || a.left != b.left ||
      a.uploaded != b.uploaded || a.downloaded != b.downloaded ||
      a.event != b.event || a.numwant != b.numwant || a.key != b.key ||
      q.compact != again.compact) {
    Fail("announce round trip changed a field");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static SwarmTable* table = new SwarmTable(SwarmTableConfig{
      .initial_slots = 64, .max_peers_per_source = 3,
      .max_peers_per_swarm = 6});
  static Tracker* core = new Tracker(TrackerConfig{}, table);
  static HttpTracker* http = [] {
    HttpConfig c;
    c.limits.max_head_size = 2048;
    c.limits.max_headers = 16;
    c.trusted_proxies = http::TrustedProxies(
        {*http::Cidr::Parse("127.0.0.0/8"), *http::Cidr::Parse("fd00::/8")});
    return new HttpTracker(core, c);
  }();
  static std::vector<uint8_t>* out =
      new std::vector<uint8_t>(HttpTracker::kMaxResponseSize);

  FuzzedDataProvider in(data, size);
  const uint8_t who = in.ConsumeIntegral<uint8_t>();
  uint8_t v6[16] = {static_cast<uint8_t>(who & 1 ? 0xfd : 0x20), 1};
  v6[15] = who;
  const PeerEndpoint peer =
      who & 2 ? PeerEndpoint::V6(v6, 1000 + who)
              : PeerEndpoint::V4(who & 1 ? 0x7f000001 : 0x0a000001 + who,
                                 1000 + who);
  const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
  HttpStats stats;

  std::span<const uint8_t> rest(stream);
  for (int requests = 0; requests < 16 && !rest.empty(); ++requests) {
    const http::Frame f = http::FindHead(rest, http->config().limits);
    if (f.state == http::FrameState::kNeedMore) break;
    if (f.state == http::FrameState::kError) {
      const HttpResult r = http->Refuse(f.error, peer, *out, &stats);
      CheckResponse(*out, r, false);
      if (r.keep_alive) Fail("a framing error kept the connection");
      break;
    }
    if (f.head_size == 0 || f.head_size > rest.size()) Fail("bad frame size");
    const std::span<const uint8_t> head = rest.first(f.head_size);
    const HttpResult r =
        http->Handle(head, peer, 1'800'000'000, requests, *out, &stats);
    http::RequestHead parsed;
    const bool is_head =
        http::ParseHead({reinterpret_cast<const char*>(head.data()),
                         head.size()},
                        http->config().limits, &parsed) == http::Status::kOk &&
        parsed.method == http::Method::kHead;
    CheckResponse(*out, r, is_head);
    if (http::ParseHead({reinterpret_cast<const char*>(head.data()),
                         head.size()},
                        http->config().limits,
                        &parsed) == http::Status::kOk) {
      RoundTripQuery(parsed.query);
    }
    if (!r.keep_alive) break;
    rest = rest.subspan(f.head_size);
  }
  std::string why;
  if (!table->CheckInvariants(&why)) Fail(why);

  // The client side on the same bytes.
  static http::AnnounceResponse* announce = new http::AnnounceResponse;
  static http::ScrapeResponse* scrape = new http::ScrapeResponse;
  http::ParseAnnounceResponse(stream, announce);
  http::ParseScrapeResponse(stream, scrape);
  http::ResponseHead rh;
  http::ParseResponseHead(stream, &rh);
  bencode::Reader reader(stream);
  reader.Skip();
  RoundTripQuery({reinterpret_cast<const char*>(stream.data()), stream.size()});
  return 0;
}

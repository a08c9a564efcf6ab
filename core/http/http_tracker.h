// HttpTracker: the HTTP front end of the tracker (BEP 3 announce, BEP 48
// scrape, RFC 9112). Turns one request head from one connection into calls
// on the tracker core (core/tracker/tracker.h) and writes the whole
// response. No sockets: the daemon's connection loop frames heads with
// FindHead() (core/http/request_head.h), hands each to Handle(), sends
// what it wrote, and closes or keeps the connection as it says.
//
// What a request gets:
//   * GET or HEAD /announce?… → 200 with the bencoded announce reply, or
//     200 with `failure reason` for a bad query (QueryError) or a
//     tracker refusal (Refusal: not allowed, tracker full, too many new
//     torrents, invalid port);
//   * GET or HEAD /scrape?info_hash=…(×n) → 200 with `files`, or 200 with
//     `failure reason` (no hashes: a full scrape is refused; more than
//     kMaxScrapeHashes; a hash the access list refuses);
//   * another path → 404, another method → 405, a malformed head → 400, a
//     head over the limits → 431, HTTP/2.0 and the like → 505.
//   * HEAD gets GET's head (with its Content-Length) and no body.
// Connections: a response keeps the connection open iff the request's
// version and Connection field ask for it (RFC 9112 §9.3) and it is a 200
// or 404; every error that may have left the stream out of step (400,
// 405, 431, 505) closes it, and says `Connection: close`.
// Who the peer is: TrustedProxies::ClientOf() (core/http/client_address.h).
//
// Thread safety: Handle() may run on many threads at once, each with its
// own HttpStats; the HttpTracker is immutable after construction.
#ifndef RINGTRACK_CORE_HTTP_HTTP_TRACKER_H_
#define RINGTRACK_CORE_HTTP_HTTP_TRACKER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/http/client_address.h"
#include "core/http/query.h"
#include "core/http/request_head.h"
#include "core/http/response.h"
#include "core/tracker/tracker.h"

namespace ringtrack {

// What became of one HTTP request.
enum class HttpOutcome : uint8_t {
  kAnnounce = 0,      // 200, peers
  kScrape,            // 200, files
  kFailure,           // 200, failure reason (bad query or refusal)
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kBadRequest,        // 400
  kHeadTooLarge,      // 431
  kBadVersion,        // 505
  kCount,
};
std::string_view HttpOutcomeName(HttpOutcome o);  // "announce", ...

// One thread's counters of its HTTP requests.
struct HttpStats {
  std::array<Counter, static_cast<size_t>(HttpOutcome::kCount)> outcomes;
  // The same outcomes by the client's family: [0] IPv4, [1] IPv6.
  std::array<std::array<Counter, static_cast<size_t>(HttpOutcome::kCount)>, 2>
      by_family;
  // kFailure for a bad query, by what was wrong.
  std::array<Counter, static_cast<size_t>(http::QueryError::kCount)>
      bad_query;
  Counter proxied;  // requests whose client a trusted proxy named
  Counter bytes_in;   // request heads
  Counter bytes_out;  // responses
  // The core's counters for the announces and scrapes that came over HTTP.
  TrackerStats tracker;
};

struct HttpConfig {
  http::HeadLimits limits;
  http::TrustedProxies trusted_proxies;
};

struct HttpResult {
  size_t response_size = 0;  // bytes written to `out`, to send
  bool keep_alive = false;   // false: close after sending
  HttpOutcome outcome = HttpOutcome::kBadRequest;
};

class HttpTracker {
 public:
  // Buffers given to Handle() must hold this much.
  static constexpr size_t kMaxResponseSize = http::kMaxResponseSize;

  // REQUIRES: tracker outlives the HttpTracker.
  HttpTracker(Tracker* tracker, HttpConfig config);

  // Answers one request head (as FindHead() framed it: CRLF CRLF
  // included) that came over a connection from `tcp_peer`, at Unix time
  // `now`; `random` varies the peers picked. Writes the whole response
  // into `out`.
  // REQUIRES: out.size() >= kMaxResponseSize.
  HttpResult Handle(std::span<const uint8_t> head, const PeerEndpoint& tcp_peer,
                    uint32_t now, uint64_t random, std::span<uint8_t> out,
                    HttpStats* stats) const;

  // The response to a head FindHead() refused (its `error`: 400 or 431),
  // counted as from `tcp_peer`; it closes the connection.
  // REQUIRES: out.size() >= kMaxResponseSize.
  HttpResult Refuse(http::Status status, const PeerEndpoint& tcp_peer,
                    std::span<uint8_t> out, HttpStats* stats) const;

  const HttpConfig& config() const { return config_; }
  Tracker* tracker() const { return tracker_; }

 private:
  size_t Announce(const http::RequestHead& head, const PeerEndpoint& client,
                  uint32_t now, uint64_t random, std::span<uint8_t> body,
                  HttpStats* stats, HttpOutcome* outcome) const;
  size_t Scrape(const http::RequestHead& head, std::span<uint8_t> body,
                HttpStats* stats, HttpOutcome* outcome) const;

  Tracker* const tracker_;
  const HttpConfig config_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_HTTP_HTTP_TRACKER_H_

// The HTTP tracker's responses, written into caller buffers: the bencoded
// bodies (BEP 3, 23, 7, 48) and the status line and header fields around
// them (RFC 9112).
//
// Bodies:
//   announce  d8:completei…e10:incompletei…e8:intervali…e12:min intervali…e
//             5:peers…[6:peers6…]e  (keys in bencode's sorted order)
//     compact (the default): `peers` is one string of 6-byte IPv4 entries;
//     an IPv6 requester gets an empty `peers` and its peers in `peers6`,
//     18 bytes each (BEP 7). compact=0: `peers` is a list of
//     d2:ip…4:porti…ee dictionaries of either family (no `peer id`: the
//     tracker does not keep peer ids).
//   scrape    d5:filesd20:<hash>d8:completei…e10:downloadedi…e
//             10:incompletei…eee…ee, one entry per distinct hash, sorted.
//   failure   d14:failure reason<len>:<text>e, sent with status 200: BEP 3
//             clients show the reason only then (libtorrent treats any
//             other status as a broken tracker).
// Heads: `HTTP/1.1 <code> <reason>`, Content-Type: text/plain, an exact
// Content-Length, `Connection: close` on a response after which the
// server closes, `Connection: keep-alive` to an HTTP/1.0 client it keeps,
// and `Allow: GET, HEAD` on a 405.
#ifndef RINGTRACK_CORE_HTTP_RESPONSE_H_
#define RINGTRACK_CORE_HTTP_RESPONSE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/http/request_head.h"
#include "core/swarm/peer_set.h"
#include "core/tracker/tracker.h"

namespace ringtrack::http {

// The longest head WriteResponseHead() writes.
inline constexpr size_t kMaxResponseHeadSize = 160;
// The longest body: an announce's dictionary form with kMaxPeersOut IPv6
// peers (each d2:ip39:<addr>4:porti65535ee, 57 bytes) is about 11.5 KiB.
inline constexpr size_t kMaxResponseBodySize = 12 * 1024;
inline constexpr size_t kMaxResponseSize =
    kMaxResponseHeadSize + kMaxResponseBodySize;

// Writes a head for a body of `content_length` bytes. `keep_alive`: the
// server keeps the connection after it; `minor_version` is the request's
// (it decides how keep-alive is said). Returns the bytes written, 0 if
// `out` is too small.
size_t WriteResponseHead(std::span<uint8_t> out, Status status,
                         size_t content_length, bool keep_alive,
                         int minor_version);

// The body of an answered announce: counts and intervals from `reply`,
// peers from `peers` (reply.peer_count entries of reply.family, as the
// tracker wrote them). Returns the bytes written, 0 if `out` is too small.
size_t WriteAnnounceBody(std::span<uint8_t> out, const AnnounceReply& reply,
                         std::span<const uint8_t> peers, bool compact);
// The body of a scrape: `counts[i]` belongs to the i-th hash of `hashes`
// (20 bytes each). Sorts and merges duplicates itself.
// REQUIRES: hashes.size() / 20 == counts.size() <= kMaxScrapeHashes.
size_t WriteScrapeBody(std::span<uint8_t> out, std::span<const uint8_t> hashes,
                       std::span<const SwarmCounts> counts);
size_t WriteFailureBody(std::span<uint8_t> out, std::string_view reason);

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_RESPONSE_H_

// The HTTP tracker's requests: a request target's path routed to announce
// or scrape, and its query string read into typed requests (BEP 3, BEP 23,
// BEP 48), and written back from them (for the tools).
//
// Announce parameters:
//   info_hash, peer_id  required, exactly 20 bytes after percent-decoding;
//                       clients send every byte as %XX, or leave unreserved
//                       bytes raw: both are read (any raw query byte other
//                       than '&', '=', '#', '%' stands for itself)
//   port                required, 0–65535 (0 is refused by the tracker)
//   uploaded, downloaded, left
//                       required, decimal, 0 to 2^64-1
//   event               optional: started, completed, stopped; empty,
//                       "paused" (BEP 21) or any other value is none
//   numwant             optional, decimal (capped by the tracker)
//   compact             optional: "0" asks for the dictionary peer list
//   no_peer_id          optional: "1" (the reply carries no peer ids
//                       anyway: the tracker does not store them)
//   key                 optional, up to 8 hex digits; otherwise ignored
//   ip, and any other   ignored (BEP 7: `ip` lets anyone announce someone
//                       else, so the peer is always the connection's)
// A required parameter that is missing, malformed or given twice is a
// QueryError, answered as `failure reason` with status 200.
#ifndef RINGTRACK_CORE_HTTP_QUERY_H_
#define RINGTRACK_CORE_HTTP_QUERY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/types.h"
#include "core/tracker/tracker.h"

namespace ringtrack::http {

// Most info hashes one scrape may ask for. 64 hashes, every byte
// percent-encoded, are 4.5 KiB of query, which leaves room for headers in
// an 8 KiB head (HeadLimits), and their reply is under 7 KiB. BEP 15 has a
// similar cap (74) for its datagrams.
inline constexpr size_t kMaxScrapeHashes = 64;

// Which handler a request path goes to. Routing looks at the path's first
// segment so that `/announce/<key>` (a private tracker's passkey) can be
// added later without changing how `/announce` is read; today a path with
// anything after /announce or /scrape is kNone (404).
enum class Route : uint8_t { kNone, kAnnounce, kScrape };
Route RouteOf(std::string_view path);

enum class QueryError : uint8_t {
  kNone = 0,
  kBadEncoding,   // a '%' not followed by two hex digits, or a bad raw byte
  kInfoHash,      // info_hash missing, not 20 bytes, or given twice
  kPeerId,        // peer_id missing, not 20 bytes, or given twice
  kPort,          // port missing or not 0–65535
  kUploaded,      // missing or not a decimal number
  kDownloaded,
  kLeft,
  kNumwant,       // not a decimal number
  kNoHashes,      // scrape without info_hash (a full scrape: refused)
  kTooManyHashes,  // scrape with more than the cap
  kCount,
};
// The `failure reason` text, e.g. "invalid info_hash".
std::string_view QueryErrorMessage(QueryError e);
// A short name for metric labels, e.g. "info_hash".
std::string_view QueryErrorName(QueryError e);

// An announce's query, typed. `core.peer` holds only the port: the
// caller fills in the address from the connection (or a trusted proxy).
struct AnnounceQuery {
  AnnounceRequest core;
  bool compact = true;
  bool no_peer_id = false;
};
QueryError ParseAnnounceQuery(std::string_view query, AnnounceQuery* out);

// A scrape's info hashes, decoded, in the order asked (duplicates kept;
// the reply writer sorts and merges them).
struct ScrapeQuery {
  std::array<uint8_t, kMaxScrapeHashes * kInfoHashSize> bytes;
  size_t count = 0;
  std::span<const uint8_t> hashes() const {
    return {bytes.data(), count * kInfoHashSize};
  }
};
// REQUIRES: max_hashes <= kMaxScrapeHashes.
QueryError ParseScrapeQuery(std::string_view query, size_t max_hashes,
                            ScrapeQuery* out);

// Decodes %XX escapes (and raw query bytes as themselves) of `in` into
// `out`. Returns the bytes written, or -1 if `in` is malformed or does not
// fit.
ptrdiff_t PercentDecode(std::string_view in, std::span<uint8_t> out);
// Writes `bytes` percent-encoded (unreserved bytes of RFC 3986 raw, every
// other as %XX, upper-case hex). Returns the bytes written, or 0 if `out`
// is too small.
size_t PercentEncode(std::span<const uint8_t> bytes, std::span<char> out);

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_QUERY_H_

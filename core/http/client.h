// The client side of the HTTP tracker protocol, for the tools and tests:
// writes announce and scrape request heads from typed fields, frames a
// response head, and reads bencoded announce and scrape replies. The
// mirror of core/http/query.h and core/http/response.h, so a round trip
// through both checks each against the other.
#ifndef RINGTRACK_CORE_HTTP_CLIENT_H_
#define RINGTRACK_CORE_HTTP_CLIENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "core/http/query.h"
#include "core/tracker/tracker.h"

namespace ringtrack::http {

// Where requests go: the Host field's value ("host:port", "[v6]:port") and
// the announce path from the URL ("/announce").
struct RequestTarget {
  std::string_view host;
  std::string_view announce_path = "/announce";
};

// The scrape path for an announce path (BEP 48's convention: "announce" in
// the last segment becomes "scrape"). False if the last segment does not
// start with "announce" (the tracker has no scrape URL).
bool ScrapePathOf(std::string_view announce_path, std::string* out);

// The longest head WriteAnnounceRequest() writes for a host of up to 255
// bytes and a path of up to 255 bytes.
inline constexpr size_t kMaxAnnounceRequestSize = 1024;

// Writes `GET <path>?info_hash=…&peer_id=…&port=…&uploaded=…&downloaded=…
// &left=…[&event=…][&numwant=…][&compact=0][&key=…] HTTP/1.1` with Host,
// and `Connection: close` unless keep_alive. r.numwant < 0 and r.key == 0
// are left out. Returns the bytes written, 0 if `out` is too small.
size_t WriteAnnounceRequest(std::span<uint8_t> out, const RequestTarget& to,
                            const AnnounceRequest& r, bool compact,
                            bool keep_alive);
// Writes `GET <scrape path>?info_hash=…(×n) HTTP/1.1`. Returns 0 if `out`
// is too small or the announce path has no scrape path.
// REQUIRES: hashes.size() % 20 == 0.
size_t WriteScrapeRequest(std::span<uint8_t> out, const RequestTarget& to,
                          std::span<const uint8_t> hashes, bool keep_alive);

// A response head, framed and parsed.
struct ResponseHead {
  int status = 0;
  size_t head_size = 0;       // bytes of the head, CRLF CRLF included
  size_t content_length = 0;  // the body follows the head
  bool keep_alive = false;    // the server keeps the connection
};
enum class ResponseFrame : uint8_t {
  kNeedMore,  // no whole head yet
  kComplete,  // *out is filled in; the body is content_length bytes
  kError,     // not an HTTP/1.x head with a Content-Length
};
// Reads the head at the start of `received` (at most 8 KiB of head).
ResponseFrame ParseResponseHead(std::span<const uint8_t> received,
                                ResponseHead* out);

// A bencoded announce reply, read. Views alias the body.
struct AnnounceResponse {
  std::string_view failure_reason;  // non-empty: refused, nothing else set
  std::string_view warning_message;
  int64_t interval = 0;
  int64_t min_interval = 0;
  int64_t complete = 0;
  int64_t incomplete = 0;
  // Peers of either form: the compact strings' entries and the
  // dictionary list's, up to kMaxPeers of them (peers_dropped counts any
  // past that).
  static constexpr size_t kMaxPeers = 2 * kMaxPeersOut;
  std::array<PeerEndpoint, kMaxPeers> peers;
  size_t peer_count = 0;
  size_t peers_dropped = 0;
  bool compact = false;  // `peers` was a string
};
enum class ReplyError : uint8_t {
  kNone = 0,
  kMalformed,    // not a bencoded dictionary, or a field of the wrong type
  kMissing,      // no failure reason and no `interval` / `files`
};
ReplyError ParseAnnounceResponse(std::span<const uint8_t> body,
                                 AnnounceResponse* out);

struct ScrapeFile {
  InfoHash info_hash;
  int64_t complete = 0;
  int64_t downloaded = 0;
  int64_t incomplete = 0;
};
struct ScrapeResponse {
  std::string_view failure_reason;
  std::array<ScrapeFile, kMaxScrapeHashes> files;
  size_t file_count = 0;  // more than kMaxScrapeHashes: kMalformed
};
ReplyError ParseScrapeResponse(std::span<const uint8_t> body,
                               ScrapeResponse* out);

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_CLIENT_H_

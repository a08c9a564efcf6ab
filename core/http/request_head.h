// The HTTP/1.x request head: framing (where a head ends in the bytes a
// connection received) and parsing (request line and header fields, RFC
// 9112 §2–§5), for the tracker's HTTP front end and the metrics endpoint.
// Pure functions over caller bytes: no sockets, no allocation, nothing
// read outside the spans given.
//
// Why our own parser: Debian 12 ships neither picohttpparser nor llhttp,
// and libhttp-parser (its only packaged C parser) is unmaintained since
// 2020. A tracker needs very little of HTTP: GET and HEAD, no bodies, no
// chunked coding, no obsolete line folding. So this parser is small and
// strict: anything outside that subset is refused (400) instead of being
// interpreted, which also closes the request-smuggling doors that lenient
// parsers leave open (a body on a GET, Transfer-Encoding, two
// Content-Lengths, whitespace before a colon, bare LF line ends).
//
// What it accepts:
//   * request line `METHOD SP TARGET SP HTTP/1.0|HTTP/1.1 CRLF`, the method
//     a token; the target in origin form (`/path?query`) or absolute form
//     (`http://host/path?query`, RFC 9112 §3.2.2), printable ASCII only;
//     up to kMaxEmptyLinesBefore empty lines before it are skipped (§2.2);
//   * header fields `name: value CRLF`, names tokens, values visible ASCII,
//     space and tab (obs-text, bytes ≥ 0x80, is allowed in values only);
//   * an HTTP/1.1 request must carry Host (§3.2).
// What it refuses (Status): 400 for anything malformed or with a body,
// 431 for a head over HeadLimits::max_head_size bytes or with more than
// max_headers fields, 505 for an HTTP version other than 1.0 and 1.1.
// The caller answers 405 for methods other than GET and HEAD (the head
// parses) and 404 for unknown paths.
#ifndef RINGTRACK_CORE_HTTP_REQUEST_HEAD_H_
#define RINGTRACK_CORE_HTTP_REQUEST_HEAD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringtrack::http {

// The statuses the tracker and the metrics endpoint send.
enum class Status : uint16_t {
  kOk = 200,
  kBadRequest = 400,
  kNotFound = 404,
  kMethodNotAllowed = 405,
  kHeadersTooLarge = 431,
  kVersionNotSupported = 505,
};
// "OK", "Bad Request", ...
std::string_view ReasonPhrase(Status s);

// Header fields one head may hold at most, whatever HeadLimits say: the
// parser keeps them in a fixed array (RequestHead::headers).
inline constexpr size_t kMaxHeadersCap = 64;
// Empty lines skipped before a request line (RFC 9112 §2.2 asks for at
// least one; some clients send a CRLF after a previous request).
inline constexpr size_t kMaxEmptyLinesBefore = 4;

struct HeadLimits {
  // A libtorrent announce head is about 400 bytes; a scrape of
  // kMaxScrapeHashes hashes, every byte percent-encoded, about 4.7 KiB.
  // 8 KiB holds both with room for a proxy's headers and is what nginx
  // and haproxy allow by default.
  size_t max_head_size = 8192;
  // Real clients send 3 to 8 fields; a proxy adds a few.
  size_t max_headers = 32;  // REQUIRES: <= kMaxHeadersCap
};

// Where a head ends in the bytes received so far.
enum class FrameState : uint8_t {
  kNeedMore,  // no end yet and still within the limit: read more
  kComplete,  // head_size bytes (ending in CRLF CRLF) are one head
  kError,     // answer `error` and close: too large or not HTTP
};
struct Frame {
  FrameState state = FrameState::kNeedMore;
  size_t head_size = 0;               // kComplete: bytes of the head
  Status error = Status::kBadRequest;  // kError: the status to send
};

// Finds the first head in `received` (the unparsed bytes a connection
// has, starting at a request's first byte). Refuses early what can never
// become a valid head: a NUL or a byte that cannot start a method
// (a TLS ClientHello, say) is kError 400 at once, and no CRLF CRLF within
// max_head_size bytes is kError 431. Bytes after the head (a pipelined
// request) are left for the next call.
Frame FindHead(std::span<const uint8_t> received, const HeadLimits& limits);

enum class Method : uint8_t { kGet, kHead, kOther };

struct Header {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // without leading and trailing spaces or tabs
};

// A parsed head. Every view aliases the bytes passed to ParseHead().
struct RequestHead {
  Method method = Method::kOther;
  std::string_view method_token;
  std::string_view target;  // as sent
  std::string_view path;    // the target's path, still percent-encoded
  std::string_view query;   // after '?', without it; empty if none
  int minor_version = 1;    // HTTP/1.<minor_version>
  // RFC 9112 §9.3: 1.1 keeps the connection open unless a Connection
  // field has "close"; 1.0 closes unless it has "keep-alive".
  bool keep_alive = false;
  std::array<Header, kMaxHeadersCap> headers;
  size_t header_count = 0;

  // The first field named `name` (ASCII case-insensitive), or nullptr.
  const Header* Find(std::string_view name) const;
};

// Parses one head as FindHead() framed it (CRLF CRLF included). Returns
// Status::kOk with *out filled in, or the error status to answer.
// REQUIRES: out != nullptr, limits.max_headers <= kMaxHeadersCap.
Status ParseHead(std::string_view head, const HeadLimits& limits,
                 RequestHead* out);

// True iff `list` (a comma-separated field value such as Connection's)
// holds `token`, ASCII case-insensitively.
bool HasToken(std::string_view list, std::string_view token);

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_REQUEST_HEAD_H_

// The BEP 15 (UDP tracker) and BEP 41 (announce options) codec.
//
// Parsing turns a datagram into a typed request or response, or a typed reason
// it is invalid; serializing writes requests and responses into a caller's
// buffer. Both directions are pure, allocation-free and never read or write
// outside the spans they are given, so the daemon, the XDP tests and the tools
// share this one codec. Sizes and offsets are named constants below.
//
// A parse failure carries whether it may be answered with a BEP 15 error
// (IsAnswerable) or must be dropped silently; the caller still decides whether
// the sender has proven its address before answering.
#ifndef RINGTRACK_CORE_UDP_PROTOCOL_H_
#define RINGTRACK_CORE_UDP_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/types.h"
#include "core/udp/wire_constants.h"

namespace ringtrack::protocol {

inline constexpr uint64_t kProtocolMagic = RT_PROTOCOL_MAGIC;

enum class Action : uint32_t {
  kConnect = RT_ACTION_CONNECT,
  kAnnounce = RT_ACTION_ANNOUNCE,
  kScrape = RT_ACTION_SCRAPE,
  kError = RT_ACTION_ERROR,
};

// BEP 15 carries the event as its number (0-3); the tracker's own type.
using Event = ::ringtrack::Event;

// Request layout (offsets in bytes), from core/udp/wire_constants.h.
inline constexpr size_t kConnectRequestSize = RT_CONNECT_REQUEST_SIZE;
inline constexpr size_t kAnnounceRequestSize = RT_ANNOUNCE_REQUEST_SIZE;
inline constexpr size_t kScrapeRequestHeaderSize = RT_SCRAPE_REQUEST_HEADER_SIZE;
inline constexpr size_t kMinRequestSize = RT_MIN_REQUEST_SIZE;
inline constexpr size_t kMaxScrapeHashes = RT_MAX_SCRAPE_HASHES;

inline constexpr size_t kOffConnectionId = RT_OFF_CONNECTION_ID;
inline constexpr size_t kOffAction = RT_OFF_ACTION;
inline constexpr size_t kOffTransactionId = RT_OFF_TRANSACTION_ID;
inline constexpr size_t kOffInfoHash = RT_OFF_INFO_HASH;
inline constexpr size_t kOffPeerId = RT_OFF_PEER_ID;
inline constexpr size_t kOffDownloaded = RT_OFF_DOWNLOADED;
inline constexpr size_t kOffLeft = RT_OFF_LEFT;
inline constexpr size_t kOffUploaded = RT_OFF_UPLOADED;
inline constexpr size_t kOffEvent = RT_OFF_EVENT;
inline constexpr size_t kOffIp = RT_OFF_IP;
inline constexpr size_t kOffKey = RT_OFF_KEY;
inline constexpr size_t kOffNumWant = RT_OFF_NUM_WANT;
inline constexpr size_t kOffPort = RT_OFF_PORT;

// Response layout.
inline constexpr size_t kConnectResponseSize = RT_CONNECT_RESPONSE_SIZE;
inline constexpr size_t kAnnounceResponseHeaderSize =
    RT_ANNOUNCE_RESPONSE_HEADER_SIZE;
inline constexpr size_t kScrapeResponseHeaderSize =
    RT_SCRAPE_RESPONSE_HEADER_SIZE;
inline constexpr size_t kScrapeEntrySize = RT_SCRAPE_ENTRY_SIZE;
inline constexpr size_t kErrorResponseHeaderSize = RT_ERROR_RESPONSE_HEADER_SIZE;
inline constexpr size_t kPeerEntrySizeV4 = RT_PEER_ENTRY_SIZE_V4;
inline constexpr size_t kPeerEntrySizeV6 = RT_PEER_ENTRY_SIZE_V6;

// BEP 41 option types.
inline constexpr uint8_t kOptionEnd = 0x0;
inline constexpr uint8_t kOptionNop = 0x1;
inline constexpr uint8_t kOptionUrlData = 0x2;
// URL data beyond this is cut and flagged; the request itself stays valid.
inline constexpr size_t kMaxUrlData = 256;

inline constexpr size_t PeerEntrySize(AddressFamily f) {
  return f == AddressFamily::kV4 ? kPeerEntrySizeV4 : kPeerEntrySizeV6;
}

// Why a datagram is not a valid request.
enum class ParseError : uint8_t {
  kNone = 0,
  kTooShort,         // shorter than 16 bytes, or than its action needs
  kBadMagic,         // connect with a protocol id other than kProtocolMagic
  kUnknownAction,    // action > 3
  kErrorAction,      // an error packet sent to the tracker
  kBadScrapeLength,  // scrape length not 16 + 20·n
  kNoScrapeHashes,   // scrape of exactly 16 bytes (n = 0)
  kCount,            // number of values, for per-reason counters
};

std::string_view ParseErrorName(ParseError e);

// True iff a request failing with `e` may be answered with a BEP 15 error
// (once its connection ID is verified); all others are dropped silently.
inline constexpr bool IsAnswerable(ParseError e) {
  return e == ParseError::kNoScrapeHashes;
}

struct ConnectRequest {
  uint32_t transaction_id = 0;
};

struct AnnounceRequest {
  uint64_t connection_id = 0;
  uint32_t transaction_id = 0;
  InfoHash info_hash;
  std::array<uint8_t, kPeerIdSize> peer_id{};
  uint64_t downloaded = 0;
  uint64_t left = 0;
  uint64_t uploaded = 0;
  Event event = Event::kNone;  // unknown values are read as kNone
  uint32_t ip = 0;             // host order; 0 = use the sender's address
  uint32_t key = 0;
  int32_t num_want = -1;  // -1 = tracker's default
  uint16_t port = 0;
  // BEP 41 URL data, all 0x2 options concatenated (not NUL-terminated).
  // Not zeroed: parsing every datagram would pay for it; only the first
  // url_data_size bytes are meaningful.
  std::array<char, kMaxUrlData> url_data;
  uint16_t url_data_size = 0;
  bool url_data_truncated = false;

  std::string_view url() const { return {url_data.data(), url_data_size}; }
};

struct ScrapeRequest {
  uint64_t connection_id = 0;
  uint32_t transaction_id = 0;
  // Points into the parsed datagram: hash_count · 20 bytes, hash_count ≤ 74
  // (fewer only if the receive buffer cut the rest, see ParseRequest).
  const uint8_t* hashes = nullptr;
  size_t hash_count = 0;
  bool truncated = false;  // the request carried more than hash_count

  InfoHash hash(size_t i) const {
    return InfoHash::FromBytes(hashes + i * kInfoHashSize);
  }
};

// A parsed request. Exactly one of the members is meaningful, per `action`.
// A request that fails with an answerable error still has action,
// connection_id and transaction_id filled in.
struct Request {
  Action action = Action::kConnect;
  ConnectRequest connect;
  AnnounceRequest announce;
  ScrapeRequest scrape;

  uint64_t connection_id() const {
    return action == Action::kAnnounce ? announce.connection_id
                                       : scrape.connection_id;
  }
  uint32_t transaction_id() const;
};

// Every field a reply depends on lies in a request's first this many
// bytes: a scrape's header and its first kMaxScrapeHashes hashes (an
// announce needs 98, a connect 16). A receive buffer that keeps at least
// this much of each datagram therefore gets the same reply for it as one
// that keeps it whole, whatever it cuts (see ParseRequest below).
inline constexpr size_t kMaxMeaningfulRequestSize =
    kScrapeRequestHeaderSize + kMaxScrapeHashes * kInfoHashSize;

// Parses one datagram sent to a tracker. Trailing bytes after a complete
// request are tolerated (BEP 15). On kNone `*out` is filled in.
// REQUIRES: out != nullptr. `out->scrape.hashes` aliases `datagram`.
ParseError ParseRequest(std::span<const uint8_t> datagram, Request* out);

// Parses a datagram that was `wire_size` bytes long on the wire, of which a
// receive buffer kept only the first `received.size()` (fewer iff the rest
// was cut). Its length is judged by `wire_size` (a scrape of 16 + 20·n
// bytes stays valid), its fields are read from `received`:
//   * the fixed part (16 bytes, an announce's 98) must have been received,
//     else kTooShort;
//   * a scrape answers its first min(n, 74) hashes that were received whole
//     (scrape.truncated: fewer than n), kTooShort if n > 0 and none was;
//   * an announce's BEP 41 options end at the cut (url_data_truncated is
//     set if the walk reached it before an end option).
// With received.size() >= min(wire_size, kMaxMeaningfulRequestSize) the
// result is the same as for the whole datagram.
// REQUIRES: out != nullptr, received.size() <= wire_size.
ParseError ParseRequest(std::span<const uint8_t> received, size_t wire_size,
                        Request* out);

// ---- Serializers. Each returns the number of bytes written, or 0 if `out`
// is too small (nothing meaningful is written then).

size_t WriteConnectRequest(std::span<uint8_t> out, uint32_t transaction_id);
// Writes the 98-byte announce and, if req.url_data_size > 0, BEP 41 URL data
// options after it (split in chunks of at most 255 bytes) and an end option.
size_t WriteAnnounceRequest(std::span<uint8_t> out, const AnnounceRequest& req);
// REQUIRES: hashes.size() is a multiple of 20.
size_t WriteScrapeRequest(std::span<uint8_t> out, uint64_t connection_id,
                          uint32_t transaction_id,
                          std::span<const uint8_t> hashes);

size_t WriteConnectResponse(std::span<uint8_t> out, uint32_t transaction_id,
                            uint64_t connection_id);
// Writes the 20-byte header; peer entries (see WritePeerEntry) follow it.
size_t WriteAnnounceResponseHeader(std::span<uint8_t> out,
                                   uint32_t transaction_id, uint32_t interval,
                                   uint32_t leechers, uint32_t seeders);
// Writes one 6- or 18-byte entry for `peer` at `out`.
size_t WritePeerEntry(std::span<uint8_t> out, const PeerEndpoint& peer);
size_t WriteScrapeResponseHeader(std::span<uint8_t> out,
                                 uint32_t transaction_id);
size_t WriteScrapeEntry(std::span<uint8_t> out, uint32_t seeders,
                        uint32_t completed, uint32_t leechers);
size_t WriteErrorResponse(std::span<uint8_t> out, uint32_t transaction_id,
                          std::string_view message);

// ---- Response parsing, for clients (tools/ and tests).

struct ConnectResponse {
  uint32_t transaction_id = 0;
  uint64_t connection_id = 0;
};
struct AnnounceResponse {
  uint32_t transaction_id = 0;
  uint32_t interval = 0;
  uint32_t leechers = 0;
  uint32_t seeders = 0;
  std::span<const uint8_t> peers;  // whole entries only, aliases the datagram
  AddressFamily family = AddressFamily::kV4;
  size_t peer_count() const { return peers.size() / PeerEntrySize(family); }
  PeerEndpoint peer(size_t i) const;
};
struct ScrapeEntry {
  uint32_t seeders = 0;
  uint32_t completed = 0;
  uint32_t leechers = 0;
};
struct ScrapeResponse {
  uint32_t transaction_id = 0;
  std::span<const uint8_t> entries;  // whole 12-byte entries, aliases datagram
  size_t entry_count() const { return entries.size() / kScrapeEntrySize; }
  ScrapeEntry entry(size_t i) const;
};
struct ErrorResponse {
  uint32_t transaction_id = 0;
  std::string_view message;  // aliases the datagram
};

struct Response {
  Action action = Action::kConnect;
  ConnectResponse connect;
  AnnounceResponse announce;
  ScrapeResponse scrape;
  ErrorResponse error;
  uint32_t transaction_id() const;
};

enum class ResponseParseError : uint8_t {
  kNone = 0,
  kTooShort,
  kUnknownAction
};

// Parses a tracker's reply. `family` says how to read announce peer entries
// (BEP 15: the address family of the socket the reply came over).
ResponseParseError ParseResponse(std::span<const uint8_t> datagram,
                                 AddressFamily family, Response* out);

}  // namespace ringtrack::protocol

#endif  // RINGTRACK_CORE_UDP_PROTOCOL_H_

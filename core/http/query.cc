#include "core/http/query.h"

#include <cassert>
#include <cstring>

namespace ringtrack::http {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Calls f(name, value) for each `name[=value]` of the query, still
// encoded. Empty pieces (`a&&b`) are skipped.
template <typename F>
void ForEachParam(std::string_view query, F f) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    if (!piece.empty()) {
      const size_t eq = piece.find('=');
      f(piece.substr(0, eq), eq == std::string_view::npos
                                 ? std::string_view()
                                 : piece.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// A decimal 0 to 2^64-1, digits only.
bool ParseU64(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *v = x;
  return true;
}

// Decodes a 20-byte value (info_hash, peer_id) into `out`.
bool Decode20(std::string_view s, uint8_t* out) {
  return PercentDecode(s, {out, kInfoHashSize}) ==
         static_cast<ptrdiff_t>(kInfoHashSize);
}

}  // namespace

Route RouteOf(std::string_view path) {
  // Room for /announce/<key> later: the first segment decides, and for
  // now nothing may follow it.
  if (path == "/announce") return Route::kAnnounce;
  if (path == "/scrape") return Route::kScrape;
  return Route::kNone;
}

std::string_view QueryErrorMessage(QueryError e) {
  switch (e) {
    case QueryError::kNone:
      return "";
    case QueryError::kBadEncoding:
      return "malformed query string";
    case QueryError::kInfoHash:
      return "invalid info_hash";
    case QueryError::kPeerId:
      return "invalid peer_id";
    case QueryError::kPort:
      return "invalid port";
    case QueryError::kUploaded:
      return "invalid uploaded";
    case QueryError::kDownloaded:
      return "invalid downloaded";
    case QueryError::kLeft:
      return "invalid left";
    case QueryError::kNumwant:
      return "invalid numwant";
    case QueryError::kNoHashes:
      return "full scrape is not allowed: name info_hash";
    case QueryError::kTooManyHashes:
      return "too many info_hash values in one scrape";
    case QueryError::kCount:
      break;
  }
  return "bad request";
}

std::string_view QueryErrorName(QueryError e) {
  switch (e) {
    case QueryError::kNone:
      return "none";
    case QueryError::kBadEncoding:
      return "encoding";
    case QueryError::kInfoHash:
      return "info_hash";
    case QueryError::kPeerId:
      return "peer_id";
    case QueryError::kPort:
      return "port";
    case QueryError::kUploaded:
      return "uploaded";
    case QueryError::kDownloaded:
      return "downloaded";
    case QueryError::kLeft:
      return "left";
    case QueryError::kNumwant:
      return "numwant";
    case QueryError::kNoHashes:
      return "full_scrape";
    case QueryError::kTooManyHashes:
      return "too_many_hashes";
    case QueryError::kCount:
      break;
  }
  return "?";
}

ptrdiff_t PercentDecode(std::string_view in, std::span<uint8_t> out) {
  size_t n = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(in[i]);
    uint8_t byte;
    if (c == '%') {
      if (i + 2 >= in.size()) return -1;
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      byte = static_cast<uint8_t>(hi << 4 | lo);
      i += 2;
    } else if (c <= 0x20 || c >= 0x7f || c == '#' || c == '&' || c == '=') {
      return -1;
    } else {
      byte = c;  // a raw byte stands for itself ('+' too: not a space here)
    }
    if (n == out.size()) return -1;
    out[n++] = byte;
  }
  return static_cast<ptrdiff_t>(n);
}

size_t PercentEncode(std::span<const uint8_t> bytes, std::span<char> out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (uint8_t b : bytes) {
    if (IsUnreserved(b)) {
      if (n + 1 > out.size()) return 0;
      out[n++] = static_cast<char>(b);
    } else {
      if (n + 3 > out.size()) return 0;
      out[n++] = '%';
      out[n++] = kHex[b >> 4];
      out[n++] = kHex[b & 15];
    }
  }
  return n;
}

QueryError ParseAnnounceQuery(std::string_view query, AnnounceQuery* out) {
  *out = AnnounceQuery();
  AnnounceRequest& r = out->core;
  // Each required parameter: seen once, and well-formed.
  bool info_hash = false, peer_id = false, port = false, uploaded = false,
       downloaded = false, left = false;
  QueryError err = QueryError::kNone;
  auto fail = [&err](QueryError e) {
    if (err == QueryError::kNone) err = e;
  };
  ForEachParam(query, [&](std::string_view name, std::string_view value) {
    if (err != QueryError::kNone) return;
    uint64_t v = 0;
    if (name == "info_hash") {
      if (info_hash || !Decode20(value, r.info_hash.bytes.data())) {
        fail(QueryError::kInfoHash);
      }
      info_hash = true;
    } else if (name == "peer_id") {
      if (peer_id || !Decode20(value, r.peer_id.data())) {
        fail(QueryError::kPeerId);
      }
      peer_id = true;
    } else if (name == "port") {
      if (port || !ParseU64(value, &v) || v > 65535) fail(QueryError::kPort);
      r.peer.port = static_cast<uint16_t>(v);
      port = true;
    } else if (name == "uploaded") {
      if (uploaded || !ParseU64(value, &r.uploaded)) {
        fail(QueryError::kUploaded);
      }
      uploaded = true;
    } else if (name == "downloaded") {
      if (downloaded || !ParseU64(value, &r.downloaded)) {
        fail(QueryError::kDownloaded);
      }
      downloaded = true;
    } else if (name == "left") {
      if (left || !ParseU64(value, &r.left)) fail(QueryError::kLeft);
      left = true;
    } else if (name == "event") {
      r.event = value == "started"     ? Event::kStarted
                : value == "completed" ? Event::kCompleted
                : value == "stopped"   ? Event::kStopped
                                       : Event::kNone;
    } else if (name == "numwant") {
      if (!ParseU64(value, &v)) {
        fail(QueryError::kNumwant);
      } else {
        r.numwant = v > INT32_MAX ? INT32_MAX : static_cast<int32_t>(v);
      }
    } else if (name == "compact") {
      out->compact = value != "0";
    } else if (name == "no_peer_id") {
      out->no_peer_id = value == "1";
    } else if (name == "key") {
      uint32_t k = 0;
      bool hex = !value.empty() && value.size() <= 8;
      for (char c : value) {
        const int d = HexValue(c);
        if (d < 0) hex = false;
        k = k << 4 | static_cast<uint32_t>(d < 0 ? 0 : d);
      }
      r.key = hex ? k : 0;
    }
    // ip= and everything else: ignored.
  });
  if (err != QueryError::kNone) return err;
  if (!info_hash) return QueryError::kInfoHash;
  if (!peer_id) return QueryError::kPeerId;
  if (!port) return QueryError::kPort;
  if (!uploaded) return QueryError::kUploaded;
  if (!downloaded) return QueryError::kDownloaded;
  if (!left) return QueryError::kLeft;
  return QueryError::kNone;
}

QueryError ParseScrapeQuery(std::string_view query, size_t max_hashes,
                            ScrapeQuery* out) {
  assert(max_hashes <= kMaxScrapeHashes);
  out->count = 0;
  QueryError err = QueryError::kNone;
  ForEachParam(query, [&](std::string_view name, std::string_view value) {
    if (err != QueryError::kNone || name != "info_hash") return;
    if (out->count == max_hashes) {
      err = QueryError::kTooManyHashes;
      return;
    }
    if (!Decode20(value, &out->bytes[out->count * kInfoHashSize])) {
      err = QueryError::kInfoHash;
      return;
    }
    ++out->count;
  });
  if (err != QueryError::kNone) return err;
  if (out->count == 0) return QueryError::kNoHashes;
  return QueryError::kNone;
}

}  // namespace ringtrack::http

#include "core/udp/protocol.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/base/wire.h"

namespace ringtrack::protocol {

using wire::LoadBe16;
using wire::LoadBe32;
using wire::LoadBe64;
using wire::StoreBe16;
using wire::StoreBe32;
using wire::StoreBe64;

std::string_view ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return "none";
    case ParseError::kTooShort:
      return "too_short";
    case ParseError::kBadMagic:
      return "bad_magic";
    case ParseError::kUnknownAction:
      return "unknown_action";
    case ParseError::kErrorAction:
      return "error_action";
    case ParseError::kBadScrapeLength:
      return "bad_scrape_length";
    case ParseError::kNoScrapeHashes:
      return "no_scrape_hashes";
    case ParseError::kCount:
      break;
  }
  return "unknown";
}

uint32_t Request::transaction_id() const {
  switch (action) {
    case Action::kConnect:
      return connect.transaction_id;
    case Action::kAnnounce:
      return announce.transaction_id;
    default:
      return scrape.transaction_id;
  }
}

namespace {

// Walks BEP 41 options in `opts`, appending URL data to `req`. A truncated
// option ends the walk; the announce itself stays valid. Returns true iff
// the walk stopped at an end option.
bool WalkOptions(std::span<const uint8_t> opts, AnnounceRequest* req) {
  size_t i = 0;
  while (i < opts.size()) {
    const uint8_t type = opts[i];
    if (type == kOptionEnd) return true;
    if (type == kOptionNop) {
      ++i;
      continue;
    }
    if (i + 1 >= opts.size()) return false;  // no length byte
    const size_t len = opts[i + 1];
    if (i + 2 + len > opts.size()) return false;  // truncated payload
    if (type == kOptionUrlData) {
      const size_t room = kMaxUrlData - req->url_data_size;
      const size_t n = std::min(len, room);
      std::memcpy(req->url_data.data() + req->url_data_size, &opts[i + 2], n);
      req->url_data_size += static_cast<uint16_t>(n);
      if (n < len) req->url_data_truncated = true;
    }
    i += 2 + len;
  }
  return false;
}

// `rest` is what was received after the fixed part; `cut` says the
// datagram went on beyond it.
void ParseAnnounce(const uint8_t* p, std::span<const uint8_t> rest, bool cut,
                   AnnounceRequest* a) {
  a->connection_id = LoadBe64(p + kOffConnectionId);
  a->transaction_id = LoadBe32(p + kOffTransactionId);
  a->info_hash = InfoHash::FromBytes(p + kOffInfoHash);
  std::memcpy(a->peer_id.data(), p + kOffPeerId, kPeerIdSize);
  a->downloaded = LoadBe64(p + kOffDownloaded);
  a->left = LoadBe64(p + kOffLeft);
  a->uploaded = LoadBe64(p + kOffUploaded);
  const uint32_t ev = LoadBe32(p + kOffEvent);
  a->event = ev <= 3 ? static_cast<Event>(ev) : Event::kNone;
  a->ip = LoadBe32(p + kOffIp);
  a->key = LoadBe32(p + kOffKey);
  a->num_want = static_cast<int32_t>(LoadBe32(p + kOffNumWant));
  a->port = LoadBe16(p + kOffPort);
  a->url_data_size = 0;
  a->url_data_truncated = false;
  if (!WalkOptions(rest, a) && cut) a->url_data_truncated = true;
}

}  // namespace

ParseError ParseRequest(std::span<const uint8_t> d, Request* out) {
  return ParseRequest(d, d.size(), out);
}

ParseError ParseRequest(std::span<const uint8_t> d, size_t wire_size,
                        Request* out) {
  assert(d.size() <= wire_size);
  if (d.size() < kMinRequestSize) return ParseError::kTooShort;
  const uint8_t* p = d.data();
  const bool cut = d.size() < wire_size;
  const uint32_t action = LoadBe32(p + kOffAction);
  switch (action) {
    case static_cast<uint32_t>(Action::kConnect):
      out->action = Action::kConnect;
      if (LoadBe64(p + kOffConnectionId) != kProtocolMagic) {
        return ParseError::kBadMagic;
      }
      out->connect.transaction_id = LoadBe32(p + kOffTransactionId);
      return ParseError::kNone;
    case static_cast<uint32_t>(Action::kAnnounce):
      out->action = Action::kAnnounce;
      if (d.size() < kAnnounceRequestSize) return ParseError::kTooShort;
      ParseAnnounce(p, d.subspan(kAnnounceRequestSize), cut, &out->announce);
      return ParseError::kNone;
    case static_cast<uint32_t>(Action::kScrape): {
      out->action = Action::kScrape;
      ScrapeRequest& s = out->scrape;
      s.connection_id = LoadBe64(p + kOffConnectionId);
      s.transaction_id = LoadBe32(p + kOffTransactionId);
      const size_t body = wire_size - kScrapeRequestHeaderSize;
      if (body % kInfoHashSize != 0) return ParseError::kBadScrapeLength;
      const size_t n = body / kInfoHashSize;
      const size_t received =
          (d.size() - kScrapeRequestHeaderSize) / kInfoHashSize;
      s.hashes = p + kScrapeRequestHeaderSize;
      s.hash_count = std::min({n, kMaxScrapeHashes, received});
      s.truncated = n > s.hash_count;
      if (n == 0) return ParseError::kNoScrapeHashes;
      if (s.hash_count == 0) return ParseError::kTooShort;
      return ParseError::kNone;
    }
    case static_cast<uint32_t>(Action::kError):
      return ParseError::kErrorAction;
    default:
      return ParseError::kUnknownAction;
  }
}

size_t WriteConnectRequest(std::span<uint8_t> out, uint32_t transaction_id) {
  if (out.size() < kConnectRequestSize) return 0;
  StoreBe64(&out[kOffConnectionId], kProtocolMagic);
  StoreBe32(&out[kOffAction], static_cast<uint32_t>(Action::kConnect));
  StoreBe32(&out[kOffTransactionId], transaction_id);
  return kConnectRequestSize;
}

size_t WriteAnnounceRequest(std::span<uint8_t> out, const AnnounceRequest& a) {
  size_t need = kAnnounceRequestSize;
  if (a.url_data_size > 0) {
    need += a.url_data_size + 2 * ((a.url_data_size + 254) / 255) + 1;
  }
  if (out.size() < need) return 0;
  uint8_t* p = out.data();
  StoreBe64(p + kOffConnectionId, a.connection_id);
  StoreBe32(p + kOffAction, static_cast<uint32_t>(Action::kAnnounce));
  StoreBe32(p + kOffTransactionId, a.transaction_id);
  std::memcpy(p + kOffInfoHash, a.info_hash.bytes.data(), kInfoHashSize);
  std::memcpy(p + kOffPeerId, a.peer_id.data(), kPeerIdSize);
  StoreBe64(p + kOffDownloaded, a.downloaded);
  StoreBe64(p + kOffLeft, a.left);
  StoreBe64(p + kOffUploaded, a.uploaded);
  StoreBe32(p + kOffEvent, static_cast<uint32_t>(a.event));
  StoreBe32(p + kOffIp, a.ip);
  StoreBe32(p + kOffKey, a.key);
  StoreBe32(p + kOffNumWant, static_cast<uint32_t>(a.num_want));
  StoreBe16(p + kOffPort, a.port);
  size_t pos = kAnnounceRequestSize;
  for (size_t done = 0; done < a.url_data_size;) {
    const size_t chunk = std::min<size_t>(255, a.url_data_size - done);
    p[pos++] = kOptionUrlData;
    p[pos++] = static_cast<uint8_t>(chunk);
    std::memcpy(p + pos, a.url_data.data() + done, chunk);
    pos += chunk;
    done += chunk;
  }
  if (a.url_data_size > 0) p[pos++] = kOptionEnd;
  return pos;
}

size_t WriteScrapeRequest(std::span<uint8_t> out, uint64_t connection_id,
                          uint32_t transaction_id,
                          std::span<const uint8_t> hashes) {
  const size_t need = kScrapeRequestHeaderSize + hashes.size();
  if (out.size() < need) return 0;
  StoreBe64(&out[kOffConnectionId], connection_id);
  StoreBe32(&out[kOffAction], static_cast<uint32_t>(Action::kScrape));
  StoreBe32(&out[kOffTransactionId], transaction_id);
  if (!hashes.empty()) {
    std::memcpy(&out[kScrapeRequestHeaderSize], hashes.data(), hashes.size());
  }
  return need;
}

size_t WriteConnectResponse(std::span<uint8_t> out, uint32_t transaction_id,
                            uint64_t connection_id) {
  if (out.size() < kConnectResponseSize) return 0;
  StoreBe32(&out[0], static_cast<uint32_t>(Action::kConnect));
  StoreBe32(&out[4], transaction_id);
  StoreBe64(&out[8], connection_id);
  return kConnectResponseSize;
}

size_t WriteAnnounceResponseHeader(std::span<uint8_t> out,
                                   uint32_t transaction_id, uint32_t interval,
                                   uint32_t leechers, uint32_t seeders) {
  if (out.size() < kAnnounceResponseHeaderSize) return 0;
  StoreBe32(&out[0], static_cast<uint32_t>(Action::kAnnounce));
  StoreBe32(&out[4], transaction_id);
  StoreBe32(&out[8], interval);
  StoreBe32(&out[12], leechers);
  StoreBe32(&out[16], seeders);
  return kAnnounceResponseHeaderSize;
}

size_t WritePeerEntry(std::span<uint8_t> out, const PeerEndpoint& peer) {
  const size_t ip_len = peer.family == AddressFamily::kV4 ? 4 : 16;
  if (out.size() < ip_len + 2) return 0;
  std::memcpy(out.data(), peer.ip.data(), ip_len);
  StoreBe16(&out[ip_len], peer.port);
  return ip_len + 2;
}

size_t WriteScrapeResponseHeader(std::span<uint8_t> out,
                                 uint32_t transaction_id) {
  if (out.size() < kScrapeResponseHeaderSize) return 0;
  StoreBe32(&out[0], static_cast<uint32_t>(Action::kScrape));
  StoreBe32(&out[4], transaction_id);
  return kScrapeResponseHeaderSize;
}

size_t WriteScrapeEntry(std::span<uint8_t> out, uint32_t seeders,
                        uint32_t completed, uint32_t leechers) {
  if (out.size() < kScrapeEntrySize) return 0;
  StoreBe32(&out[0], seeders);
  StoreBe32(&out[4], completed);
  StoreBe32(&out[8], leechers);
  return kScrapeEntrySize;
}

size_t WriteErrorResponse(std::span<uint8_t> out, uint32_t transaction_id,
                          std::string_view message) {
  const size_t need = kErrorResponseHeaderSize + message.size();
  if (out.size() < need) return 0;
  StoreBe32(&out[0], static_cast<uint32_t>(Action::kError));
  StoreBe32(&out[4], transaction_id);
  if (!message.empty()) {
    std::memcpy(&out[kErrorResponseHeaderSize], message.data(), message.size());
  }
  return need;
}

PeerEndpoint AnnounceResponse::peer(size_t i) const {
  const size_t sz = PeerEntrySize(family);
  const uint8_t* p = peers.data() + i * sz;
  PeerEndpoint e;
  e.family = family;
  const size_t ip_len = sz - 2;
  std::memcpy(e.ip.data(), p, ip_len);
  e.port = LoadBe16(p + ip_len);
  return e;
}

ScrapeEntry ScrapeResponse::entry(size_t i) const {
  const uint8_t* p = entries.data() + i * kScrapeEntrySize;
  return {LoadBe32(p), LoadBe32(p + 4), LoadBe32(p + 8)};
}

uint32_t Response::transaction_id() const {
  switch (action) {
    case Action::kConnect:
      return connect.transaction_id;
    case Action::kAnnounce:
      return announce.transaction_id;
    case Action::kScrape:
      return scrape.transaction_id;
    case Action::kError:
      return error.transaction_id;
  }
  return 0;
}

ResponseParseError ParseResponse(std::span<const uint8_t> d,
                                 AddressFamily family, Response* out) {
  if (d.size() < 8) return ResponseParseError::kTooShort;
  const uint32_t action = LoadBe32(d.data());
  const uint32_t tid = LoadBe32(d.data() + 4);
  switch (action) {
    case static_cast<uint32_t>(Action::kConnect):
      if (d.size() < kConnectResponseSize) return ResponseParseError::kTooShort;
      out->action = Action::kConnect;
      out->connect = {tid, LoadBe64(d.data() + 8)};
      return ResponseParseError::kNone;
    case static_cast<uint32_t>(Action::kAnnounce): {
      if (d.size() < kAnnounceResponseHeaderSize) {
        return ResponseParseError::kTooShort;
      }
      out->action = Action::kAnnounce;
      AnnounceResponse& a = out->announce;
      a.transaction_id = tid;
      a.interval = LoadBe32(d.data() + 8);
      a.leechers = LoadBe32(d.data() + 12);
      a.seeders = LoadBe32(d.data() + 16);
      a.family = family;
      const size_t body = d.size() - kAnnounceResponseHeaderSize;
      a.peers = d.subspan(kAnnounceResponseHeaderSize,
                          body - body % PeerEntrySize(family));
      return ResponseParseError::kNone;
    }
    case static_cast<uint32_t>(Action::kScrape): {
      out->action = Action::kScrape;
      out->scrape.transaction_id = tid;
      const size_t body = d.size() - kScrapeResponseHeaderSize;
      out->scrape.entries =
          d.subspan(kScrapeResponseHeaderSize, body - body % kScrapeEntrySize);
      return ResponseParseError::kNone;
    }
    case static_cast<uint32_t>(Action::kError):
      out->action = Action::kError;
      out->error.transaction_id = tid;
      out->error.message = std::string_view(
          reinterpret_cast<const char*>(d.data()) + kErrorResponseHeaderSize,
          d.size() - kErrorResponseHeaderSize);
      return ResponseParseError::kNone;
    default:
      return ResponseParseError::kUnknownAction;
  }
}

}  // namespace ringtrack::protocol

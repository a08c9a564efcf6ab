#include "core/http/client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/base/wire.h"
#include "core/http/bencode.h"
#include "core/http/request_head.h"
#include "core/http/text.h"

namespace ringtrack::http {

namespace {

// Appends `bytes` percent-encoded.
void AddEncoded(Appender* a, std::span<const uint8_t> bytes) {
  char buf[3 * kInfoHashSize];
  const size_t n = PercentEncode(bytes, buf);
  if (n == 0 && !bytes.empty()) a->Fail();
  a->Add({buf, n});
}

void AddTail(Appender* a, const RequestTarget& to, bool keep_alive) {
  a->Add(" HTTP/1.1\r\nHost: ");
  a->Add(to.host);
  a->Add(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
}


// Appends the entries of a compact string to out->peers.
void AddCompact(std::span<const uint8_t> s, AddressFamily f,
                AnnounceResponse* out) {
  const size_t entry = CompactPeerSize(f);
  const size_t ip = f == AddressFamily::kV4 ? 4 : 16;
  for (size_t i = 0; i + entry <= s.size(); i += entry) {
    if (out->peer_count == AnnounceResponse::kMaxPeers) {
      ++out->peers_dropped;
      continue;
    }
    PeerEndpoint& p = out->peers[out->peer_count++];
    p = PeerEndpoint();
    p.family = f;
    std::memcpy(p.ip.data(), s.data() + i, ip);
    p.port = wire::LoadBe16(s.data() + i + ip);
  }
}

// Reads one d2:ip…4:porti…e(7:peer id…)e entry of the dictionary form.
bool ReadPeerDict(bencode::Reader* r, AnnounceResponse* out) {
  if (!r->BeginDict()) return false;
  PeerEndpoint p;
  bool have_ip = false;
  while (!r->AtEnd()) {
    std::string_view key;
    if (!r->ReadString(&key)) return false;
    if (key == "ip") {
      std::string_view ip;
      if (!r->ReadString(&ip) || ip.size() >= INET6_ADDRSTRLEN) return false;
      char buf[INET6_ADDRSTRLEN];
      std::memcpy(buf, ip.data(), ip.size());
      buf[ip.size()] = '\0';
      if (inet_pton(AF_INET, buf, p.ip.data()) == 1) {
        p.family = AddressFamily::kV4;
        have_ip = true;
      } else if (inet_pton(AF_INET6, buf, p.ip.data()) == 1) {
        p.family = AddressFamily::kV6;
        have_ip = true;
      }
    } else if (key == "port") {
      int64_t port;
      if (!r->ReadInt(&port) || port < 0 || port > 65535) return false;
      p.port = static_cast<uint16_t>(port);
    } else if (!r->Skip()) {
      return false;
    }
  }
  if (!r->ReadEnd()) return false;
  if (!have_ip) return true;  // a host name: not ours to resolve
  if (out->peer_count == AnnounceResponse::kMaxPeers) {
    ++out->peers_dropped;
  } else {
    out->peers[out->peer_count++] = p;
  }
  return true;
}

}  // namespace

bool ScrapePathOf(std::string_view announce_path, std::string* out) {
  const size_t slash = announce_path.rfind('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view last = announce_path.substr(slash + 1);
  constexpr std::string_view kAnnounce = "announce";
  if (last.substr(0, kAnnounce.size()) != kAnnounce) return false;
  out->assign(announce_path.substr(0, slash + 1));
  out->append("scrape");
  out->append(last.substr(kAnnounce.size()));
  return true;
}

size_t WriteAnnounceRequest(std::span<uint8_t> out, const RequestTarget& to,
                            const AnnounceRequest& r, bool compact,
                            bool keep_alive) {
  Appender a(out);
  a.Add("GET ");
  a.Add(to.announce_path);
  a.Add(to.announce_path.find('?') == std::string_view::npos ? "?" : "&");
  a.Add("info_hash=");
  AddEncoded(&a, r.info_hash.bytes);
  a.Add("&peer_id=");
  AddEncoded(&a, r.peer_id);
  a.Add("&port=");
  a.AddNumber(r.peer.port);
  a.Add("&uploaded=");
  a.AddNumber(r.uploaded);
  a.Add("&downloaded=");
  a.AddNumber(r.downloaded);
  a.Add("&left=");
  a.AddNumber(r.left);
  switch (r.event) {
    case Event::kStarted:
      a.Add("&event=started");
      break;
    case Event::kCompleted:
      a.Add("&event=completed");
      break;
    case Event::kStopped:
      a.Add("&event=stopped");
      break;
    case Event::kNone:
      break;
  }
  if (r.numwant >= 0) {
    a.Add("&numwant=");
    a.AddNumber(static_cast<uint64_t>(r.numwant));
  }
  a.Add(compact ? "&compact=1" : "&compact=0");
  if (r.key != 0) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    char key[8];
    for (int i = 0; i < 8; ++i) key[i] = kHex[(r.key >> (28 - 4 * i)) & 15];
    a.Add("&key=");
    a.Add({key, 8});
  }
  AddTail(&a, to, keep_alive);
  return a.ok() ? a.size() : 0;
}

size_t WriteScrapeRequest(std::span<uint8_t> out, const RequestTarget& to,
                          std::span<const uint8_t> hashes, bool keep_alive) {
  std::string path;
  if (!ScrapePathOf(to.announce_path, &path)) return 0;
  Appender a(out);
  a.Add("GET ");
  a.Add(path);
  for (size_t i = 0; i + kInfoHashSize <= hashes.size(); i += kInfoHashSize) {
    a.Add(i == 0 && path.find('?') == std::string::npos ? "?info_hash="
                                                         : "&info_hash=");
    AddEncoded(&a, hashes.subspan(i, kInfoHashSize));
  }
  AddTail(&a, to, keep_alive);
  return a.ok() ? a.size() : 0;
}

ResponseFrame ParseResponseHead(std::span<const uint8_t> received,
                                ResponseHead* out) {
  constexpr size_t kMaxHead = 8192;
  const std::string_view all(reinterpret_cast<const char*>(received.data()),
                             std::min(received.size(), kMaxHead));
  const size_t end = all.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return received.size() >= kMaxHead ? ResponseFrame::kError
                                       : ResponseFrame::kNeedMore;
  }
  *out = ResponseHead();
  out->head_size = end + 4;
  std::string_view rest = all.substr(0, end + 2);
  size_t eol = rest.find("\r\n");
  const std::string_view status_line = rest.substr(0, eol);
  rest.remove_prefix(eol + 2);
  // HTTP/1.x SP 3DIGIT SP reason
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
      (status_line[7] != '0' && status_line[7] != '1') ||
      status_line[8] != ' ') {
    return ResponseFrame::kError;
  }
  const bool v11 = status_line[7] == '1';
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    const char c = status_line[i];
    if (c < '0' || c > '9') return ResponseFrame::kError;
    status = status * 10 + (c - '0');
  }
  out->status = status;
  bool have_length = false;
  bool close = false, keep = false;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ResponseFrame::kError;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      size_t v = 0;
      if (value.empty() || value.size() > 9) return ResponseFrame::kError;
      for (char c : value) {
        if (c < '0' || c > '9') return ResponseFrame::kError;
        v = v * 10 + static_cast<size_t>(c - '0');
      }
      if (have_length && v != out->content_length) {
        return ResponseFrame::kError;
      }
      out->content_length = v;
      have_length = true;
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (HasToken(value, "close")) close = true;
      if (HasToken(value, "keep-alive")) keep = true;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return ResponseFrame::kError;  // the tracker never sends one
    }
  }
  if (!have_length) return ResponseFrame::kError;
  // RFC 9112 §9.3, as for requests.
  out->keep_alive = v11 ? !close : keep && !close;
  return ResponseFrame::kComplete;
}

ReplyError ParseAnnounceResponse(std::span<const uint8_t> body,
                                 AnnounceResponse* out) {
  out->failure_reason = {};
  out->warning_message = {};
  out->interval = out->min_interval = out->complete = out->incomplete = 0;
  out->peer_count = out->peers_dropped = 0;
  out->compact = false;
  bencode::Reader r(body);
  if (!r.BeginDict()) return ReplyError::kMalformed;
  bool have_interval = false;
  while (!r.AtEnd()) {
    std::string_view key;
    if (!r.ReadString(&key)) return ReplyError::kMalformed;
    bool ok = true;
    if (key == "failure reason") {
      ok = r.ReadString(&out->failure_reason);
    } else if (key == "warning message") {
      ok = r.ReadString(&out->warning_message);
    } else if (key == "interval") {
      ok = r.ReadInt(&out->interval);
      have_interval = ok;
    } else if (key == "min interval") {
      ok = r.ReadInt(&out->min_interval);
    } else if (key == "complete") {
      ok = r.ReadInt(&out->complete);
    } else if (key == "incomplete") {
      ok = r.ReadInt(&out->incomplete);
    } else if (key == "peers" && r.Peek() == 's') {
      std::span<const uint8_t> s;
      ok = r.ReadString(&s);
      if (ok) AddCompact(s, AddressFamily::kV4, out);
      out->compact = true;
    } else if (key == "peers" && r.Peek() == 'l') {
      ok = r.BeginList();
      while (ok && !r.AtEnd()) ok = ReadPeerDict(&r, out);
      ok = ok && r.ReadEnd();
    } else if (key == "peers6") {
      std::span<const uint8_t> s;
      ok = r.ReadString(&s);
      if (ok) AddCompact(s, AddressFamily::kV6, out);
    } else {
      ok = r.Skip();
    }
    if (!ok) return ReplyError::kMalformed;
  }
  if (!r.ReadEnd() || !r.done()) return ReplyError::kMalformed;
  if (!out->failure_reason.empty()) return ReplyError::kNone;
  return have_interval ? ReplyError::kNone : ReplyError::kMissing;
}

ReplyError ParseScrapeResponse(std::span<const uint8_t> body,
                               ScrapeResponse* out) {
  out->failure_reason = {};
  out->file_count = 0;
  bencode::Reader r(body);
  if (!r.BeginDict()) return ReplyError::kMalformed;
  bool have_files = false;
  while (!r.AtEnd()) {
    std::string_view key;
    if (!r.ReadString(&key)) return ReplyError::kMalformed;
    if (key == "failure reason") {
      if (!r.ReadString(&out->failure_reason)) return ReplyError::kMalformed;
    } else if (key == "files") {
      have_files = true;
      if (!r.BeginDict()) return ReplyError::kMalformed;
      while (!r.AtEnd()) {
        std::span<const uint8_t> hash;
        if (!r.ReadString(&hash) || hash.size() != kInfoHashSize ||
            out->file_count == kMaxScrapeHashes || !r.BeginDict()) {
          return ReplyError::kMalformed;
        }
        ScrapeFile& f = out->files[out->file_count++];
        f = ScrapeFile();
        f.info_hash = InfoHash::FromBytes(hash.data());
        while (!r.AtEnd()) {
          std::string_view k;
          if (!r.ReadString(&k)) return ReplyError::kMalformed;
          bool ok = true;
          if (k == "complete") {
            ok = r.ReadInt(&f.complete);
          } else if (k == "downloaded") {
            ok = r.ReadInt(&f.downloaded);
          } else if (k == "incomplete") {
            ok = r.ReadInt(&f.incomplete);
          } else {
            ok = r.Skip();
          }
          if (!ok) return ReplyError::kMalformed;
        }
        if (!r.ReadEnd()) return ReplyError::kMalformed;
      }
      if (!r.ReadEnd()) return ReplyError::kMalformed;
    } else if (!r.Skip()) {
      return ReplyError::kMalformed;
    }
  }
  if (!r.ReadEnd() || !r.done()) return ReplyError::kMalformed;
  if (!out->failure_reason.empty()) return ReplyError::kNone;
  return have_files ? ReplyError::kNone : ReplyError::kMissing;
}

}  // namespace ringtrack::http

#include "core/http/response.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include "core/base/wire.h"
#include "core/http/bencode.h"
#include "core/http/query.h"
#include "core/http/text.h"

namespace ringtrack::http {

namespace {


// One peer of the dictionary form: d2:ip<addr>4:porti<port>ee.
void WritePeerDict(bencode::Writer* w, std::span<const uint8_t> entry,
                   AddressFamily f) {
  char text[INET6_ADDRSTRLEN];
  const size_t ip_len = f == AddressFamily::kV4 ? 4 : 16;
  inet_ntop(f == AddressFamily::kV4 ? AF_INET : AF_INET6, entry.data(), text,
            sizeof text);
  w->BeginDict();
  w->String("ip");
  w->String(std::string_view(text));
  w->KeyInt("port", wire::LoadBe16(entry.data() + ip_len));
  w->End();
}

}  // namespace

size_t WriteResponseHead(std::span<uint8_t> out, Status status,
                         size_t content_length, bool keep_alive,
                         int minor_version) {
  Appender a(out);
  a.Add("HTTP/1.1 ");
  a.AddNumber(static_cast<uint16_t>(status));
  a.Add(" ");
  a.Add(ReasonPhrase(status));
  a.Add("\r\nContent-Type: text/plain\r\nContent-Length: ");
  a.AddNumber(content_length);
  if (!keep_alive) {
    a.Add("\r\nConnection: close");
  } else if (minor_version == 0) {
    a.Add("\r\nConnection: keep-alive");
  }
  if (status == Status::kMethodNotAllowed) a.Add("\r\nAllow: GET, HEAD");
  a.Add("\r\n\r\n");
  return a.ok() ? a.size() : 0;
}

size_t WriteAnnounceBody(std::span<uint8_t> out, const AnnounceReply& reply,
                         std::span<const uint8_t> peers, bool compact) {
  const size_t entry = CompactPeerSize(reply.family);
  assert(peers.size() >= reply.peer_count * entry);
  const std::span<const uint8_t> all = peers.first(reply.peer_count * entry);
  bencode::Writer w(out);
  w.BeginDict();
  w.KeyInt("complete", reply.complete);
  w.KeyInt("incomplete", reply.incomplete);
  w.KeyInt("interval", reply.interval);
  w.KeyInt("min interval", reply.min_interval);
  w.String("peers");
  if (!compact) {
    w.BeginList();
    for (size_t i = 0; i < reply.peer_count; ++i) {
      WritePeerDict(&w, all.subspan(i * entry, entry), reply.family);
    }
    w.End();
  } else if (reply.family == AddressFamily::kV4) {
    w.String(all);
  } else {
    // BEP 7: IPv6 peers go in peers6; peers stays, empty, for clients
    // that require it.
    w.String(std::string_view());
    w.String("peers6");
    w.String(all);
  }
  w.End();
  return w.ok() ? w.size() : 0;
}

size_t WriteScrapeBody(std::span<uint8_t> out, std::span<const uint8_t> hashes,
                       std::span<const SwarmCounts> counts) {
  const size_t n = hashes.size() / kInfoHashSize;
  assert(n == counts.size() && n <= kMaxScrapeHashes);
  // Bencoded keys are sorted and unique: order the hashes.
  std::array<uint8_t, kMaxScrapeHashes> order;
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint8_t>(i);
  auto key = [&](uint8_t i) { return hashes.data() + i * kInfoHashSize; };
  std::sort(order.begin(), order.begin() + n, [&](uint8_t a, uint8_t b) {
    return std::memcmp(key(a), key(b), kInfoHashSize) < 0;
  });
  bencode::Writer w(out);
  w.BeginDict();
  w.String("files");
  w.BeginDict();
  for (size_t k = 0; k < n; ++k) {
    const uint8_t i = order[k];
    if (k > 0 && std::memcmp(key(order[k - 1]), key(i), kInfoHashSize) == 0) {
      continue;
    }
    w.String({key(i), kInfoHashSize});
    w.BeginDict();
    w.KeyInt("complete", counts[i].seeders);
    w.KeyInt("downloaded", counts[i].completed);
    w.KeyInt("incomplete", counts[i].leechers);
    w.End();
  }
  w.End();
  w.End();
  return w.ok() ? w.size() : 0;
}

size_t WriteFailureBody(std::span<uint8_t> out, std::string_view reason) {
  bencode::Writer w(out);
  w.BeginDict();
  w.String("failure reason");
  w.String(reason);
  w.End();
  return w.ok() ? w.size() : 0;
}

}  // namespace ringtrack::http

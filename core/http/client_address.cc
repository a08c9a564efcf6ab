#include "core/http/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/http/text.h"

namespace ringtrack::http {

namespace {

constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Parses a bare address (no port, no brackets); v4-mapped IPv6 → IPv4.
bool ParseBareAddress(std::string_view s, PeerEndpoint* out) {
  char buf[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  uint8_t bytes[16];
  *out = PeerEndpoint();
  if (inet_pton(AF_INET, buf, bytes) == 1) {
    out->family = AddressFamily::kV4;
    std::memcpy(out->ip.data(), bytes, 4);
    return true;
  }
  if (inet_pton(AF_INET6, buf, bytes) == 1) {
    if (std::memcmp(bytes, kV4Mapped, 12) == 0) {
      out->family = AddressFamily::kV4;
      std::memcpy(out->ip.data(), bytes + 12, 4);
    } else {
      out->family = AddressFamily::kV6;
      std::memcpy(out->ip.data(), bytes, 16);
    }
    return true;
  }
  return false;
}

bool IsDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}


// The `for=` value of one Forwarded element ("for=1.2.3.4;proto=http").
std::string_view ForOf(std::string_view element) {
  while (!element.empty()) {
    const size_t semi = element.find(';');
    const std::string_view pair = TrimOws(element.substr(0, semi));
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos &&
        EqualsIgnoreCase(TrimOws(pair.substr(0, eq)), "for")) {
      return TrimOws(pair.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    element.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace

bool Cidr::Contains(const PeerEndpoint& a) const {
  if (a.family != family) return false;
  const size_t full = prefix_len / 8;
  if (std::memcmp(a.ip.data(), ip.data(), full) != 0) return false;
  const unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.ip[full] & mask) == ip[full];
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  PeerEndpoint a;
  if (!ParseBareAddress(text.substr(0, slash), &a)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(text), "\" is not an address or ADDRESS/PREFIX "
                                 "(e.g. 10.0.0.0/8, 2001:db8::/32)"));
  }
  Cidr c;
  c.family = a.family;
  const int max = a.family == AddressFamily::kV4 ? 32 : 128;
  int len = max;
  if (slash != std::string_view::npos) {
    const std::string_view n = text.substr(slash + 1);
    if (!IsDigits(n) || !absl::SimpleAtoi(std::string(n), &len) || len < 0 || len > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(text), "\": the prefix length must be 0..", max));
    }
  }
  c.prefix_len = static_cast<uint8_t>(len);
  // Keep only the network bits, so Contains() compares bytes.
  for (int i = 0; i < 16; ++i) {
    const int bits = std::min(8, std::max(0, len - 8 * i));
    c.ip[i] = a.ip[i] & static_cast<uint8_t>(0xff00 >> bits);
  }
  return c;
}

bool ParseHeaderAddress(std::string_view text, PeerEndpoint* out) {
  std::string_view s = TrimOws(text);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view after = s.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !IsDigits(after.substr(1)))) {
      return false;
    }
    return ParseBareAddress(s.substr(1, close - 1), out);
  }
  // One colon: IPv4 with a port. More: a bare IPv6 address.
  const size_t colon = s.find(':');
  if (colon != std::string_view::npos &&
      s.find(':', colon + 1) == std::string_view::npos) {
    if (!IsDigits(s.substr(colon + 1))) return false;
    s = s.substr(0, colon);
  }
  return ParseBareAddress(s, out);
}

bool TrustedProxies::Contains(const PeerEndpoint& a) const {
  for (const Cidr& c : cidrs_) {
    if (c.Contains(a)) return true;
  }
  return false;
}

PeerEndpoint TrustedProxies::ClientOf(const RequestHead& head,
                                      const PeerEndpoint& tcp_peer) const {
  if (cidrs_.empty() || !Contains(tcp_peer)) return tcp_peer;
  // Walks a comma-separated list of hops from the right: the first
  // untrusted one is the client; if all are trusted, the leftmost. A hop
  // that is not an address ends the walk without an answer (whoever wrote
  // it is not to be believed further left).
  auto walk = [this](std::string_view hops, bool forwarded,
                     PeerEndpoint* client) {
    bool any = false;
    while (!hops.empty()) {
      const size_t comma = hops.rfind(',');
      const std::string_view hop =
          comma == std::string_view::npos ? hops : hops.substr(comma + 1);
      PeerEndpoint a;
      if (!ParseHeaderAddress(forwarded ? ForOf(hop) : hop, &a)) return false;
      *client = a;
      any = true;
      if (!Contains(a)) return true;
      if (comma == std::string_view::npos) break;
      hops = hops.substr(0, comma);
    }
    return any;
  };
  PeerEndpoint client;
  // Several fields of one name are one list in order (RFC 9110 §5.3): walk
  // them from the last, stopping at the first untrusted hop.
  for (const std::string_view name : {"x-forwarded-for", "forwarded"}) {
    const bool forwarded = name == "forwarded";
    bool found = false, bad = false;
    for (size_t i = head.header_count; i-- > 0 && !bad;) {
      const Header& h = head.headers[i];
      if (!EqualsIgnoreCase(h.name, name)) continue;
      found = true;
      bad = !walk(h.value, forwarded, &client);
      if (!bad && !Contains(client)) break;
    }
    if (found && !bad) {
      client.port = tcp_peer.port;
      return client;
    }
  }
  if (const Header* h = head.Find("x-real-ip");
      h != nullptr && ParseHeaderAddress(h->value, &client)) {
    client.port = tcp_peer.port;
    return client;
  }
  return tcp_peer;
}

}  // namespace ringtrack::http

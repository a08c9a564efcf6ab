// Who an HTTP request is from: the TCP peer, or, behind a trusted reverse
// proxy, the client the proxy names.
//
// A proxy's headers are believed only when the TCP peer itself is in the
// trusted list (`--http-trusted-proxy CIDR`); from anyone else they are
// ignored, since any client can send them. From a trusted peer, the first
// of these that yields an address is used:
//   1. X-Forwarded-For: the comma-separated hops (all such fields, in
//      order, as one list), read from the right: trusted proxies are
//      skipped, the first untrusted hop is the client (a client's own
//      forged entries sit to its left and are never reached). If every hop
//      is trusted the leftmost is the client.
//   2. Forwarded (RFC 7239): the `for=` of each element, read the same way;
//      "unknown" and obfuscated identifiers yield no address.
//   3. X-Real-IP: one address.
// An entry may carry a port ("192.0.2.1:8080", "[2001:db8::1]:80"), which
// is dropped; an IPv4-mapped IPv6 address counts as IPv4. A trusted peer
// that sends none of them (a health check from the proxy host) is itself
// the client.
#ifndef RINGTRACK_CORE_HTTP_CLIENT_ADDRESS_H_
#define RINGTRACK_CORE_HTTP_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/types.h"
#include "core/http/request_head.h"

namespace ringtrack::http {

// An address prefix, e.g. 10.0.0.0/8 or 2001:db8::/32.
struct Cidr {
  AddressFamily family = AddressFamily::kV4;
  std::array<uint8_t, 16> ip{};  // network order, host bits zero
  uint8_t prefix_len = 0;

  bool Contains(const PeerEndpoint& a) const;
  // Parses "ADDR/LEN" or "ADDR" (a single host). Errors name the problem.
  static absl::StatusOr<Cidr> Parse(std::string_view text);
};

// Parses one address as it appears in a proxy header ("1.2.3.4",
// "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]:80", optionally quoted).
// The port of *out is 0. Returns false if it is not an address.
bool ParseHeaderAddress(std::string_view text, PeerEndpoint* out);

// Immutable after construction.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  explicit TrustedProxies(std::vector<Cidr> cidrs)
      : cidrs_(std::move(cidrs)) {}

  bool empty() const { return cidrs_.empty(); }
  bool Contains(const PeerEndpoint& a) const;

  // The client of a request with head `head` that came from TCP peer
  // `tcp_peer` (see the file comment). The port is tcp_peer's.
  PeerEndpoint ClientOf(const RequestHead& head,
                        const PeerEndpoint& tcp_peer) const;

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_CLIENT_ADDRESS_H_

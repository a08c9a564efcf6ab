// Tracker URLs as users paste them from a .torrent or a tracker list, for
// ringtrack-cli and ringtrack-load (both take the same forms, so the parser
// lives here once):
//
//   udp://HOST:PORT[/PATH]        BEP 15; the path is carried but unused
//   http://HOST[:PORT][/PATH]     BEP 3; PORT defaults to 80, PATH to
//                                 /announce (where trackers serve it)
//   HOST:PORT                     shorthand for udp://HOST:PORT
//
// HOST is a name, an IPv4 address or an IPv6 address in brackets
// ([::1]:6969, as RFC 3986 writes it: a bare IPv6 address cannot be told
// from its port). The scheme is case-insensitive. A fragment (#...) is
// dropped, as a client would. https:// is refused with a message: the
// tools speak plain HTTP, and TLS is terminated in front of ringtrackd (see
// README "HTTP"), so a tool pointed at it talks to the proxy's plain side
// or uses curl. Credentials (user@host) are refused: no tracker protocol
// uses them and they are a sign of a pasted URL gone wrong.
//
// Parsing only: resolving HOST is the caller's business (core/ has no
// sockets).
#ifndef RINGTRACK_CORE_CLI_TRACKER_URL_H_
#define RINGTRACK_CORE_CLI_TRACKER_URL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringtrack {

enum class TrackerScheme : uint8_t { kUdp, kHttp };

// "udp" or "http".
std::string_view SchemeName(TrackerScheme scheme);

struct TrackerUrl {
  TrackerScheme scheme = TrackerScheme::kUdp;
  // A name or an address as written; an IPv6 address without brackets.
  std::string host;
  uint16_t port = 0;  // never 0 after a successful parse
  // The path with its query as written (percent-escapes kept), starting
  // with '/'. For HTTP, "/announce" when the URL has no path; for UDP, ""
  // when it has none.
  std::string path;

  bool ipv6_literal() const { return host.find(':') != std::string::npos; }
  // HOST:PORT as an HTTP Host header or a message writes it ([V6]:PORT).
  std::string Authority() const;
  // The URL in its canonical form (scheme, authority, path).
  std::string ToString() const;
};

// Parses one of the forms above. Errors (InvalidArgument) quote the text
// and say what is wrong and what form is expected.
absl::StatusOr<TrackerUrl> ParseTrackerUrl(std::string_view text);

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_CLI_TRACKER_URL_H_

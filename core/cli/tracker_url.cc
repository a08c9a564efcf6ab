#include "core/cli/tracker_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {
namespace {

constexpr std::string_view kDefaultHttpPath = "/announce";
constexpr uint16_t kDefaultHttpPort = 80;

absl::Status Bad(std::string_view text, std::string_view why) {
  // This abseil's string_view is its own type: go through std::string.
  return absl::InvalidArgumentError(
      absl::StrCat("'", std::string(text), "': ", std::string(why)));
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

std::string_view SchemeName(TrackerScheme scheme) {
  return scheme == TrackerScheme::kHttp ? "http" : "udp";
}

std::string TrackerUrl::Authority() const {
  return ipv6_literal() ? absl::StrCat("[", host, "]:", port)
                        : absl::StrCat(host, ":", port);
}

std::string TrackerUrl::ToString() const {
  return absl::StrCat(std::string(SchemeName(scheme)), "://", Authority(),
                      path);
}

absl::StatusOr<TrackerUrl> ParseTrackerUrl(std::string_view text) {
  TrackerUrl url;
  std::string_view rest = text;
  bool has_scheme = false;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    const std::string scheme = absl::AsciiStrToLower(std::string(rest.substr(0, sep)));
    if (scheme == "udp") {
      url.scheme = TrackerScheme::kUdp;
    } else if (scheme == "http") {
      url.scheme = TrackerScheme::kHttp;
    } else if (scheme == "https") {
      return Bad(text,
                 "https:// is not supported: the tools speak plain HTTP "
                 "(TLS is terminated in front of the tracker); use the "
                 "tracker's http:// or udp:// URL");
    } else {
      return Bad(text, "unknown scheme '" + scheme +
                           "' (expected udp://HOST:PORT/announce or "
                           "http://HOST:PORT/announce)");
    }
    has_scheme = true;
    rest.remove_prefix(sep + 3);
  }
  // The fragment never reaches a server.
  rest = rest.substr(0, rest.find('#'));
  const size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos) {
    // "http://h?q" has an empty path before its query: the request line
    // needs "/?q".
    const std::string_view path = rest.substr(authority_end);
    url.path = absl::StrCat(path[0] == '?' ? "/" : "", std::string(path));
  }
  if (authority.find('@') != std::string_view::npos) {
    return Bad(text, "user@host credentials are not part of a tracker URL");
  }

  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Bad(text, "an IPv6 address needs its closing ']' ([::1]:6969)");
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return Bad(text, "expected ':PORT' after the ']' ([::1]:6969)");
      }
      port = after.substr(1);
      has_port = true;
    }
    if (host.find(':') == std::string_view::npos ||
        host.find_first_not_of(":.0123456789abcdefABCDEF") !=
            std::string_view::npos) {
      return Bad(text, "'[" + std::string(host) +
                           "]' is not an IPv6 address (brackets hold one)");
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) {
        return Bad(text,
                   "write an IPv6 address in brackets, as in "
                   "udp://[::1]:6969/announce");
      }
    }
    for (const char c : host) {
      if (!IsHostNameChar(c)) {
        return Bad(text, absl::StrCat("'", std::string(host),
                                      "' is not a host name or address"));
      }
    }
  }
  if (host.empty()) {
    return Bad(text, has_scheme ? "no host (expected SCHEME://HOST:PORT/...)"
                                : "no host (expected HOST:PORT or a URL)");
  }
  url.host = std::string(host);

  if (!has_port && url.scheme == TrackerScheme::kHttp) {
    url.port = kDefaultHttpPort;
  } else {
    uint32_t value = 0;
    if (!has_port) {
      return Bad(text, has_scheme ? "a udp:// URL needs a :PORT (UDP has no "
                                    "default tracker port)"
                                  : "no :PORT (expected HOST:PORT)");
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        !absl::SimpleAtoi(std::string(port), &value) || value == 0 ||
        value > 65535) {
      return Bad(text, "the port '" + std::string(port) +
                           "' is not a number in 1..65535");
    }
    url.port = static_cast<uint16_t>(value);
  }
  if (!has_scheme && !url.path.empty()) {
    return Bad(text,
               "a path needs a scheme: write udp://HOST:PORT/PATH or "
               "http://HOST:PORT/PATH");
  }
  if (url.scheme == TrackerScheme::kHttp && url.path.empty()) {
    url.path = std::string(kDefaultHttpPath);
  }
  for (const char c : url.path) {
    // What may go on an HTTP request line as it is: no controls, no space.
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Bad(text, "the path holds a space or a control character "
                       "(percent-encode it)");
    }
  }
  return url;
}

}  // namespace ringtrack

#include "tools/tracker_target.h"

#include <netdb.h>

#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {

absl::StatusOr<TrackerTarget> ResolveTarget(
    const std::string& spec, std::optional<AddressFamily> prefer) {
  absl::StatusOr<TrackerUrl> url = ParseTrackerUrl(spec);
  if (!url.ok()) return url.status();
  const std::string& host = url->host;
  const std::string port = std::to_string(url->port);
  addrinfo hints{};
  hints.ai_socktype = url->scheme == TrackerScheme::kHttp ? SOCK_STREAM
                                                         : SOCK_DGRAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  const int r = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (r != 0) {
    std::string msg =
        absl::StrCat("cannot resolve '", host, "': ", gai_strerror(r));
    // A name or service that does not exist is the caller's mistake; a
    // resolver that failed (EAI_AGAIN, EAI_FAIL, ...) is a runtime failure.
    if (r == EAI_NONAME || r == EAI_SERVICE) {
      return absl::InvalidArgumentError(std::move(msg));
    }
    return absl::UnavailableError(std::move(msg));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(res, freeaddrinfo);
  const addrinfo* pick = res;
  if (prefer) {
    const int want = *prefer == AddressFamily::kV6 ? AF_INET6 : AF_INET;
    for (const addrinfo* a = res; a; a = a->ai_next) {
      if (a->ai_family == want) {
        pick = a;
        break;
      }
    }
  }
  TrackerTarget t;
  std::memcpy(&t.addr, pick->ai_addr, pick->ai_addrlen);
  t.len = pick->ai_addrlen;
  t.text = spec;
  t.url = *std::move(url);
  return t;
}

absl::StatusOr<InfoHash> ParseInfoHash(const std::string& hex) {
  if (hex.size() != 40 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("info hash '", hex, "' must be 40 hexadecimal digits"));
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  return InfoHash::FromBytes(reinterpret_cast<const uint8_t*>(bytes.data()));
}

std::string InfoHashHex(const InfoHash& h) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size()));
}

}  // namespace ringtrack

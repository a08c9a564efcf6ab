#include "tools/udp_target.h"

#include <netdb.h>

#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {

absl::StatusOr<UdpTarget> ResolveTarget(const std::string& spec,
                                        std::optional<AddressFamily> prefer) {
  std::string rest = spec;
  if (rest.rfind("udp://", 0) == 0) {
    rest = rest.substr(6);
    rest = rest.substr(0, rest.find('/'));
  } else if (rest.find("://") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", spec, "' is not a udp:// tracker URL"));
  }
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() ||
        rest[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("'", spec, "': expected [IPV6]:PORT"));
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", spec, "' has no :PORT"));
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", spec, "': expected HOST:PORT"));
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
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
  UdpTarget t;
  std::memcpy(&t.addr, pick->ai_addr, pick->ai_addrlen);
  t.len = pick->ai_addrlen;
  t.text = spec;
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

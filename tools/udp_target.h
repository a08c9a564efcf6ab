// Tracker addresses for the command-line tools: "HOST:PORT", "[V6]:PORT" or
// "udp://HOST:PORT/path", resolved with getaddrinfo.
#ifndef RINGTRACK_TOOLS_UDP_TARGET_H_
#define RINGTRACK_TOOLS_UDP_TARGET_H_

#include <sys/socket.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/types.h"

namespace ringtrack {

struct UdpTarget {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
  AddressFamily family() const {
    return addr.ss_family == AF_INET6 ? AddressFamily::kV6 : AddressFamily::kV4;
  }
};

// `prefer` picks the family when a host name has both.
absl::StatusOr<UdpTarget> ResolveTarget(
    const std::string& spec, std::optional<AddressFamily> prefer = {});

// Parses 40 hex digits into an info hash.
absl::StatusOr<InfoHash> ParseInfoHash(const std::string& hex);
std::string InfoHashHex(const InfoHash& h);

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_UDP_TARGET_H_

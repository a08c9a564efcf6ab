// Tracker addresses for the command-line tools: a tracker URL in any form
// core/cli/tracker_url.h accepts (udp://, http://, HOST:PORT, [V6] hosts),
// with its host resolved by getaddrinfo.
#ifndef RINGTRACK_TOOLS_TRACKER_TARGET_H_
#define RINGTRACK_TOOLS_TRACKER_TARGET_H_

#include <sys/socket.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/types.h"
#include "core/cli/tracker_url.h"

namespace ringtrack {

struct TrackerTarget {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as the user wrote it, for messages
  TrackerUrl url;
  AddressFamily family() const {
    return addr.ss_family == AF_INET6 ? AddressFamily::kV6 : AddressFamily::kV4;
  }
  bool http() const { return url.scheme == TrackerScheme::kHttp; }
};

// Parses `spec` and resolves its host. `prefer` picks the family when a
// host name has both. Errors: InvalidArgument for a malformed URL or a
// name that does not exist (the caller's mistake), Unavailable when the
// resolver itself failed (a runtime failure).
absl::StatusOr<TrackerTarget> ResolveTarget(
    const std::string& spec, std::optional<AddressFamily> prefer = {});

// Parses 40 hex digits into an info hash.
absl::StatusOr<InfoHash> ParseInfoHash(const std::string& hex);
std::string InfoHashHex(const InfoHash& h);

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_TRACKER_TARGET_H_

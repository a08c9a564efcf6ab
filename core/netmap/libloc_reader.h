// Reads a libloc database (the IPFire location database; Debian's
// libloc-database package installs one at kDefaultLibLocPath) into a
// NetworkMap, one network per autonomous system: a network's name is
// "AS<number>" and its country the country of the first of its prefixes
// the database lists. Prefixes without an AS number are left out of the
// map (their addresses are outside it).
//
// Its own library (ringtrack_netmap_libloc), because it links libloc;
// ringtrack_core links only abseil.
#ifndef RINGTRACK_CORE_NETMAP_LIBLOC_READER_H_
#define RINGTRACK_CORE_NETMAP_LIBLOC_READER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/netmap/network_map.h"

namespace ringtrack {

inline constexpr char kDefaultLibLocPath[] =
    "/usr/share/libloc-location/location.db";

// True iff the file at `path` starts with libloc's magic ("LOCDBXX"), so a
// caller given one path can tell a database from a text map.
bool IsLibLocDatabase(const std::string& path);

// Loads the database at `path`. Errors name the path and what failed.
absl::StatusOr<std::unique_ptr<const NetworkMap>> LoadLibLocNetworkMap(
    const std::string& path);

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_NETMAP_LIBLOC_READER_H_

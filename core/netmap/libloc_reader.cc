#include "core/netmap/libloc_reader.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {

bool IsLibLocDatabase(const std::string&) { return false; }

absl::StatusOr<std::unique_ptr<const NetworkMap>> LoadLibLocNetworkMap(
    const std::string& path) {
  return absl::UnimplementedError(absl::StrCat(path, ": libloc reader pending"));
}

}  // namespace ringtrack

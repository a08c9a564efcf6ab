#include "daemon/system_memory.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringtrack {
namespace {

std::optional<uint64_t> ReadNumberFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  uint64_t v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v)) {
    return std::nullopt;  // "max": no limit
  }
  return v;
}

// This process's cgroup path (v2: the "0::" line of /proc/self/cgroup).
std::string OwnCgroup(bool v2) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    if (v2 && parts[0] == "0") return parts[2];
    if (!v2 && absl::StrContains(parts[1], "memory")) return parts[2];
  }
  return "/";
}

}  // namespace

uint64_t PhysicalMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

std::optional<uint64_t> CgroupMemoryLimitBytes() {
  const std::string v2 = "/sys/fs/cgroup" + OwnCgroup(true);
  if (auto v = ReadNumberFile(v2 + "/memory.max")) return v;
  if (auto v = ReadNumberFile("/sys/fs/cgroup/memory.max")) return v;
  const std::string v1 = "/sys/fs/cgroup/memory" + OwnCgroup(false);
  if (auto v = ReadNumberFile(v1 + "/memory.limit_in_bytes")) {
    // cgroup v1 reports "no limit" as a huge page-aligned number.
    if (*v < (uint64_t{1} << 60)) return v;
  }
  return std::nullopt;
}

uint64_t DefaultMemoryBudgetBytes() {
  uint64_t total = PhysicalMemoryBytes();
  if (total == 0) total = uint64_t{1} << 30;  // unknown: assume 1 GiB
  if (auto limit = CgroupMemoryLimitBytes()) total = std::min(total, *limit);
  return total / 2;
}

uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace ringtrack

// How much memory this process may reasonably use: physical memory, or
// the cgroup's limit when one is set and lower. ringtrackd's default
// --max-memory is half of it.
#ifndef RINGTRACK_DAEMON_SYSTEM_MEMORY_H_
#define RINGTRACK_DAEMON_SYSTEM_MEMORY_H_

#include <cstdint>
#include <optional>
#include <string>

namespace ringtrack {

// MemTotal from /proc/meminfo, in bytes (0 if unreadable).
uint64_t PhysicalMemoryBytes();
// The memory limit of this process's cgroup (v2 memory.max, or v1
// memory.limit_in_bytes); nullopt when there is none.
std::optional<uint64_t> CgroupMemoryLimitBytes();
// min(physical, cgroup limit) / 2.
uint64_t DefaultMemoryBudgetBytes();
// Resident set size of this process, in bytes (from /proc/self/statm).
uint64_t ResidentBytes();

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_SYSTEM_MEMORY_H_

// Fuzzes the state file reader: Verify() and ForEachRecord() over any bytes
// (the records even when the checksum does not match: a reader must never
// trust a record's counts), restoring what it reads into a small table
// whose invariants must then hold. The seed is a real file ringtrackd saved.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/base/memory_budget.h"
#include "core/swarm/state_format.h"
#include "core/swarm/swarm_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringtrack;
  const std::span<const uint8_t> file(data, size);
  (void)state::Verify(file);
  MemoryBudget budget(256 << 10);
  SwarmTableConfig c;
  c.initial_slots = 64;
  c.seed0 = 1;
  c.seed1 = 2;
  c.budget = &budget;
  SwarmTable table(c);
  RestoreCounts counts;
  (void)state::ForEachRecord(file, [&](const SwarmRecord& r) {
    table.Restore(r, 1'800'000'000, &counts);
  });
  std::string why;
  if (!table.CheckInvariants(&why) || budget.used() > budget.limit() + 4096) {
    std::abort();
  }
  return 0;
}

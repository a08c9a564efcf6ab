// State file handling: saves the swarm table to a file (core/state_format.h)
// so that a restart keeps swarms, peers and `completed` counts, and reads
// it back at start.
//
// Saving writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the
// directory, so PATH is always either the previous snapshot or the new one,
// whole, even after a crash or a power cut in the middle. It copies one
// swarm at a time under that swarm's lock (SwarmTable::ForEachSwarm), so
// the workers keep serving while it runs.
//
// Thread safety: SaveState() and LoadState() may run while workers serve
// the same table. Two SaveState() calls for one path must not overlap
// (the server runs them on one thread, then once more after it joined it).
#ifndef RINGTRACK_DAEMON_STATE_FILE_H_
#define RINGTRACK_DAEMON_STATE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/access_list.h"
#include "core/state_format.h"
#include "core/swarm_table.h"

namespace ringtrack {

// The directory `path` lives in, where saves create PATH.tmp and rename it
// (so it must be writable by the user the daemon runs as).
std::string StateFileDirectory(const std::string& path);

struct StateSaveResult {
  uint64_t swarms = 0;
  uint64_t peers = 0;
  uint64_t bytes = 0;
  absl::Duration took;
};

// Writes a snapshot of `table` taken at Unix time `now` to `path`.
// On error the previous file at `path` is left as it was.
absl::StatusOr<StateSaveResult> SaveState(SwarmTable& table,
                                          const std::string& path,
                                          uint32_t now);

struct StateLoadResult {
  state::FileInfo file;
  RestoreCounts restored;
  uint64_t not_allowed = 0;  // swarms skipped: the access list refuses them
  absl::Duration took;
};

// Restores the snapshot at `path` into `table` (SwarmTable::Restore: peers
// past their timeout at `now` are dropped), skipping info hashes `access`
// refuses (nullptr: none). kNotFound when there is no
// file; any other error means the file was refused (the message says why:
// foreign, other version, truncated, corrupt) and nothing was restored
// from it, except in one case no writer produces: a file whose checksum
// matches but whose records disagree with its trailer is restored up to
// the bad record.
absl::StatusOr<StateLoadResult> LoadState(SwarmTable& table,
                                          const std::string& path,
                                          uint32_t now,
                                          const AccessList* access);

// Moves a refused state file aside to PATH.refused-<now> (or
// PATH.refused-<now>.N if that exists), so the next save does not
// overwrite what an operator may want to inspect. Returns the new name.
absl::StatusOr<std::string> SetStateFileAside(const std::string& path,
                                              uint32_t now);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_STATE_FILE_H_

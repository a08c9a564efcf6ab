// State file handling: saves the swarm table to a file (core/swarm/state_format.h)
// so that a restart keeps swarms, peers and `completed` counts, and reads
// it back at start.
//
// One writer per file: StateFileLock holds an exclusive flock(2) on
// PATH.lock for the daemon's life, taken before the file is read or
// written, so a second instance pointed at the same PATH stops at start.
//
// Saving writes a fresh temp file PATH.tmp-XXXXXX (created with O_EXCL, so
// a link planted at a predictable name is never followed), fsyncs it,
// renames it over PATH and fsyncs the directory, so PATH is always either
// the previous snapshot or the new one, whole, even after a crash or a
// power cut in the middle. It copies one swarm at a time under that
// swarm's lock (SwarmTable::ForEachSwarm), so the workers keep serving
// while it runs.
//
// Loading never blocks on what it finds at PATH and never moves a file it
// has not read: LoadState() tells "contents read and refused" (kDataLoss,
// the only case where SetStateFileAside() is safe) from "could not be
// read, or not a file to read" (any other error: the caller leaves it).
//
// Thread safety: SaveState() and LoadState() may run while workers serve
// the same table. Two SaveState() calls for one path must not overlap
// (the server runs them on one thread, then once more after it joined it;
// StateFileLock keeps other processes out).
#ifndef RINGTRACK_DAEMON_STATE_FILE_H_
#define RINGTRACK_DAEMON_STATE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tracker/access_list.h"
#include "core/swarm/state_format.h"
#include "core/swarm/swarm_table.h"
#include "daemon/net.h"

namespace ringtrack {

// The directory `path` lives in, where saves create their temp file and
// rename it (so it must be writable by the user the daemon runs as).
std::string StateFileDirectory(const std::string& path);

// The largest state file a memory budget of `budget_bytes` could restore
// whole: header and trailer plus 11/8 of the budget. Every record takes at
// most 11/8 of the budget its restore charges: its 32-byte swarm header
// against the swarm's 32-byte table slot, each 11-byte IPv4 peer against
// its 8-byte entry, each 23-byte IPv6 peer against its 20-byte entry (and
// writers never write a swarm without peers). A larger file holds more than
// the budget could take even if no peer had expired, so LoadState() refuses
// it from its size instead of checksumming it.
uint64_t MaxStateFileBytes(uint64_t budget_bytes);

// An exclusive lock on a state file: flock(2) on PATH.lock (created 0644
// if missing, and left in place: removing a lock file races the next
// locker), which holds the holder's pid as text. Released when the object
// is destroyed or the process exits, however it exits.
class StateFileLock {
 public:
  // Locks `state_path`. Fails with kFailedPrecondition naming the holder's
  // pid when another process holds the lock, and with the errno's code
  // when PATH.lock cannot be opened (a symbolic link is refused: ELOOP).
  static absl::StatusOr<StateFileLock> Acquire(const std::string& state_path);

  StateFileLock(StateFileLock&&) = default;
  StateFileLock& operator=(StateFileLock&&) = default;

 private:
  explicit StateFileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Removes temp files PATH.tmp-XXXXXX that a save killed half-way left
// behind (regular files only; nothing else is touched). Returns how many.
// REQUIRES: the caller holds the StateFileLock of `path`, so no save of
// another process is writing one.
int RemoveStaleStateTempFiles(const std::string& path);

// Which file a path names: its device and inode.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The identity of the file at `path` (not following a symbolic link);
// nullopt when nothing is there. A path that cannot be examined for any
// other reason gets an identity no file has ({0, 0}), so it is never taken
// for a known file.
std::optional<FileIdentity> IdentityOf(const std::string& path);

struct StateSaveResult {
  uint64_t swarms = 0;
  uint64_t peers = 0;
  uint64_t bytes = 0;
  absl::Duration took;
  // The file now at the path (the new snapshot), so a later save can tell
  // it from a file someone else put there.
  FileIdentity file;
  // Non-empty when the snapshot is in place but the directory could not
  // be fsynced: a power cut before the kernel writes the directory back
  // may bring the previous snapshot back. Not a failed save.
  std::string directory_sync_error;
};

// Writes a snapshot of `table` taken at Unix time `now` to `path`.
// On error the previous file at `path` is left as it was and the temp file
// is removed.
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
// refuses (nullptr: none). The path is opened without following a
// symbolic link and without blocking (a FIFO), and checked to be a regular
// file of at most `max_bytes` before a byte is read. Errors:
//   kNotFound: there is no file at `path`;
//   kDataLoss: the contents were read and refused (foreign, another
//     version, truncated, corrupt; the message says which): the file is
//     proven bad. Nothing was restored from it, except in one case no
//     writer produces: a file whose checksum matches but whose records
//     disagree with its trailer is restored up to the bad record;
//   anything else: the file could not be opened or read, is not a regular
//     file, or is larger than `max_bytes`. Nothing was read from it, and
//     nothing is known about its contents.
absl::StatusOr<StateLoadResult> LoadState(SwarmTable& table,
                                          const std::string& path, uint32_t now,
                                          const AccessList* access,
                                          uint64_t max_bytes);

// Moves a refused state file aside to PATH.refused-<now> (or
// PATH.refused-<now>.N if that exists), so the next save does not
// overwrite what an operator may want to inspect. Never replaces an
// existing name. Returns the new name.
absl::StatusOr<std::string> SetStateFileAside(const std::string& path,
                                              uint32_t now);

// Keeps the file at `path` also as PATH.previous (or PATH.previous.N when
// that exists: an earlier one is never replaced), by a hard link, so the
// next save's rename does not take its contents. Returns the new name.
absl::StatusOr<std::string> KeepStateFileAsPrevious(const std::string& path);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_STATE_FILE_H_

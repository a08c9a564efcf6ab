// AccessList: which info hashes the tracker serves. An allow list serves
// only the hashes it holds; a deny list serves all but those. A list is
// immutable once loaded: a reload builds a new one and Tracker swaps a
// pointer, so no request ever sees a half-loaded list.
//
// File format: one info hash per line as 40 hexadecimal digits; blank lines
// and lines starting with '#' are ignored, as is anything after a '#'
// following the hash. Any other line is an error naming its line number.
// Loading holds the file's text and the list at once, nothing more: the
// table is sized once for the file's line count.
#ifndef RINGTRACK_CORE_TRACKER_ACCESS_LIST_H_
#define RINGTRACK_CORE_TRACKER_ACCESS_LIST_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/base/types.h"

namespace ringtrack {

class AccessList {
 public:
  enum class Mode { kAllow, kDeny };

  // Parses `text`; `source` names it in errors (a file name).
  static absl::StatusOr<std::unique_ptr<const AccessList>> Parse(
      std::string_view text, Mode mode, std::string_view source);
  // Reads and parses the file at `path`.
  static absl::StatusOr<std::unique_ptr<const AccessList>> Load(
      const std::string& path, Mode mode);

  // True iff the tracker may serve `h`. Thread-safe (the list is const).
  bool Allows(const InfoHash& h) const {
    return set_.contains(h) == (mode_ == Mode::kAllow);
  }
  Mode mode() const { return mode_; }
  size_t size() const { return set_.size(); }
  // Bytes the list holds on the heap, as malloc holds them (its hash
  // table's slots and control bytes; the daemon charges them to its
  // memory budget).
  size_t MemoryBytes() const;
  // Every listed hash (to mirror the list elsewhere, e.g. the XDP map).
  const absl::flat_hash_set<InfoHash>& hashes() const { return set_; }

 private:
  explicit AccessList(Mode mode) : mode_(mode) {}
  const Mode mode_;
  absl::flat_hash_set<InfoHash> set_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_TRACKER_ACCESS_LIST_H_

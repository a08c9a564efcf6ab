#include "core/tracker/access_list.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/memory_budget.h"

namespace ringtrack {
namespace {

// REQUIRES: absl::ascii_isxdigit(c).
uint8_t HexDigit(char c) {
  if (c <= '9') return static_cast<uint8_t>(c - '0');
  return static_cast<uint8_t>(absl::ascii_tolower(c) - 'a' + 10);
}

}  // namespace

size_t AccessList::MemoryBytes() const {
  // A flat_hash_set allocates its slots and one control byte per slot
  // (plus a group's worth of cloned control bytes) in one block.
  const size_t cap = set_.capacity();
  if (cap == 0) return 0;
  return MallocChunkBytes(cap * (sizeof(InfoHash) + 1) + 16 + 8);
}

absl::StatusOr<std::unique_ptr<const AccessList>> AccessList::Parse(
    std::string_view text, Mode mode, std::string_view source) {
  std::unique_ptr<AccessList> list(new AccessList(mode));
  // Sized once: growing by rehashing would hold two tables at its peak.
  list->set_.reserve(static_cast<size_t>(
      std::count(text.begin(), text.end(), '\n') + 1));
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    while (!line.empty() && absl::ascii_isspace(line.front())) line.remove_prefix(1);
    while (!line.empty() && absl::ascii_isspace(line.back())) line.remove_suffix(1);
    if (line.empty()) continue;
    bool hex = line.size() == 2 * kInfoHashSize;
    for (char c : line) hex = hex && absl::ascii_isxdigit(c);
    if (!hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(source), ":", line_no,
          ": expected an info hash of 40 hexadecimal "
          "digits, got '", std::string(line.substr(0, 60)), "'"));
    }
    uint8_t bytes[kInfoHashSize];
    for (size_t i = 0; i < kInfoHashSize; ++i) {
      bytes[i] = static_cast<uint8_t>(HexDigit(line[2 * i]) << 4 |
                                      HexDigit(line[2 * i + 1]));
    }
    list->set_.insert(InfoHash::FromBytes(bytes));
  }
  return std::unique_ptr<const AccessList>(std::move(list));
}

absl::StatusOr<std::unique_ptr<const AccessList>> AccessList::Load(
    const std::string& path, Mode mode) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    // The failed open(2) left its errno (ifstream sets none of its own):
    // "Permission denied" and "No such file" need different fixes.
    return absl::NotFoundError(absl::StrCat("access list ", path,
                                            ": cannot open it: ", std::strerror(errno)));
  }
  // One buffer of the file's size (a stringstream would hold two copies).
  const std::streamoff size = in.tellg();
  if (size < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "access list ", path, ": cannot tell its size (not a regular file?)"));
  }
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    return absl::DataLossError(
        absl::StrCat("access list ", path, ": cannot read it"));
  }
  return Parse(text, mode, path);
}

}  // namespace ringtrack

#include "core/access_list.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {

absl::StatusOr<std::unique_ptr<const AccessList>> AccessList::Parse(
    std::string_view text, Mode mode, std::string_view source) {
  std::unique_ptr<AccessList> list(new AccessList(mode));
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
    const std::string bytes = absl::HexStringToBytes(std::string(line));
    list->set_.insert(
        InfoHash::FromBytes(reinterpret_cast<const uint8_t*>(bytes.data())));
  }
  return std::unique_ptr<const AccessList>(std::move(list));
}

absl::StatusOr<std::unique_ptr<const AccessList>> AccessList::Load(
    const std::string& path, Mode mode) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("access list ", path, ": cannot open it"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), mode, path);
}

}  // namespace ringtrack

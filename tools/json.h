// JSON text for the tools' --json output. The tools write their few flat
// objects with absl::StrFormat; this supplies the one part that needs care,
// strings that come off the wire (a tracker's error message can hold any
// bytes).
#ifndef RINGTRACK_TOOLS_JSON_H_
#define RINGTRACK_TOOLS_JSON_H_

#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace ringtrack {

// Returns `text` as a quoted JSON string. Quote and backslash are escaped,
// and so is every byte outside printable ASCII (as \u00XX, the byte read as
// Latin-1), so the output is valid JSON and valid UTF-8 whatever `text`
// holds.
inline std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += absl::StrFormat("\\u%04x", byte);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_JSON_H_

// Small text helpers the HTTP codec's units share: ASCII case-insensitive
// comparison and optional-whitespace trimming (RFC 9110 §5.6.3 OWS: spaces
// and tabs), and a bounded appender that writes into a caller's buffer and
// remembers whether everything fit. Header names and tokens are ASCII, so
// no locale is involved.
#ifndef RINGTRACK_CORE_HTTP_TEXT_H_
#define RINGTRACK_CORE_HTTP_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace ringtrack::http {

inline char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// True iff a and b are equal ignoring ASCII case.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// `s` without leading and trailing spaces and tabs.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Appends to a fixed buffer; ok() is false once something did not fit (and
// nothing more is written after that).
class Appender {
 public:
  explicit Appender(std::span<uint8_t> out) : out_(out) {}
  void Add(std::string_view s) {
    if (!ok_ || out_.size() - n_ < s.size()) {
      ok_ = false;
      return;
    }
    std::memcpy(out_.data() + n_, s.data(), s.size());
    n_ += s.size();
  }
  // `v` in decimal.
  void AddNumber(uint64_t v) {
    char buf[24];
    char* end = buf + sizeof buf;
    char* p = end;
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    Add({p, static_cast<size_t>(end - p)});
  }
  void Fail() { ok_ = false; }
  bool ok() const { return ok_; }
  size_t size() const { return n_; }

 private:
  std::span<uint8_t> out_;
  size_t n_ = 0;
  bool ok_ = true;
};

}  // namespace ringtrack::http

#endif  // RINGTRACK_CORE_HTTP_TEXT_H_

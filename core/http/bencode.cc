#include "core/http/bencode.h"

#include <cstring>

namespace ringtrack::bencode {

namespace {

// Decimal digits of v into buf (right-aligned); returns the start.
char* FormatUnsigned(uint64_t v, char* end) {
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return p;
}

}  // namespace

size_t IntSize(int64_t v) {
  char buf[24];
  const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : v;
  return 2 + (v < 0) + static_cast<size_t>(buf + sizeof buf -
                                           FormatUnsigned(mag, buf + sizeof buf));
}

size_t StringSize(size_t length) {
  char buf[24];
  return 1 + length +
         static_cast<size_t>(buf + sizeof buf -
                             FormatUnsigned(length, buf + sizeof buf));
}

void Writer::Byte(char c) {
  if (!ok_ || n_ >= out_.size()) {
    ok_ = false;
    return;
  }
  out_[n_++] = static_cast<uint8_t>(c);
}

void Writer::Raw(std::span<const uint8_t> bytes) {
  if (!ok_ || out_.size() - n_ < bytes.size()) {
    ok_ = false;
    return;
  }
  if (!bytes.empty()) std::memcpy(out_.data() + n_, bytes.data(), bytes.size());
  n_ += bytes.size();
}

std::span<uint8_t> Writer::Reserve(size_t n) {
  if (!ok_ || out_.size() - n_ < n) {
    ok_ = false;
    return {};
  }
  const std::span<uint8_t> r = out_.subspan(n_, n);
  n_ += n;
  return r;
}

void Writer::Int(int64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : v;
  char* p = FormatUnsigned(mag, end);
  if (v < 0) *--p = '-';
  Byte('i');
  Raw({reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(end - p)});
  Byte('e');
}

void Writer::StringHeader(size_t length) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = FormatUnsigned(length, end);
  Raw({reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(end - p)});
  Byte(':');
}

void Writer::String(std::span<const uint8_t> bytes) {
  StringHeader(bytes.size());
  Raw(bytes);
}

void Writer::String(std::string_view s) {
  String({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

char Reader::Peek() const {
  if (pos_ >= in_.size()) return 0;
  const uint8_t c = in_[pos_];
  if (c == 'i' || c == 'l' || c == 'd') return static_cast<char>(c);
  if (c >= '0' && c <= '9') return 's';
  return 0;
}

bool Reader::ReadInt(int64_t* v) {
  if (pos_ >= in_.size() || in_[pos_] != 'i') return false;
  size_t p = pos_ + 1;
  bool negative = false;
  if (p < in_.size() && in_[p] == '-') {
    negative = true;
    ++p;
  }
  const size_t digits = p;
  uint64_t mag = 0;
  while (p < in_.size() && in_[p] >= '0' && in_[p] <= '9') {
    if (p - digits >= 18) return false;  // keep within int64
    mag = mag * 10 + (in_[p] - '0');
    ++p;
  }
  if (p == digits || p >= in_.size() || in_[p] != 'e') return false;
  // Canonical: no leading zeros, no "-0".
  if (in_[digits] == '0' && (p - digits > 1 || negative)) return false;
  *v = negative ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
  pos_ = p + 1;
  return true;
}

bool Reader::ReadString(std::span<const uint8_t>* s) {
  size_t p = pos_;
  const size_t digits = p;
  uint64_t len = 0;
  while (p < in_.size() && in_[p] >= '0' && in_[p] <= '9') {
    if (p - digits >= 10) return false;  // no string is that long here
    len = len * 10 + (in_[p] - '0');
    ++p;
  }
  if (p == digits || p >= in_.size() || in_[p] != ':') return false;
  if (in_[digits] == '0' && p - digits > 1) return false;
  ++p;
  if (in_.size() - p < len) return false;
  *s = in_.subspan(p, len);
  pos_ = p + len;
  return true;
}

bool Reader::ReadString(std::string_view* s) {
  std::span<const uint8_t> b;
  if (!ReadString(&b)) return false;
  *s = {reinterpret_cast<const char*>(b.data()), b.size()};
  return true;
}

bool Reader::BeginDict() {
  if (pos_ >= in_.size() || in_[pos_] != 'd') return false;
  ++pos_;
  return true;
}

bool Reader::BeginList() {
  if (pos_ >= in_.size() || in_[pos_] != 'l') return false;
  ++pos_;
  return true;
}

bool Reader::ReadEnd() {
  if (!AtEnd()) return false;
  ++pos_;
  return true;
}

bool Reader::Skip() { return SkipDepth(0); }

bool Reader::SkipDepth(int depth) {
  if (depth > kMaxDepth) return false;
  switch (Peek()) {
    case 'i': {
      int64_t v;
      return ReadInt(&v);
    }
    case 's': {
      std::span<const uint8_t> s;
      return ReadString(&s);
    }
    case 'l':
      BeginList();
      while (!AtEnd()) {
        if (!SkipDepth(depth + 1)) return false;
      }
      return ReadEnd();
    case 'd':
      BeginDict();
      while (!AtEnd()) {
        std::span<const uint8_t> key;
        if (!ReadString(&key) || !SkipDepth(depth + 1)) return false;
      }
      return ReadEnd();
    default:
      return false;
  }
}

}  // namespace ringtrack::bencode

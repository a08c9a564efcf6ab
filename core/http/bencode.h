// Bencoding (BEP 3) for the HTTP tracker: a writer that fills a caller's
// buffer, and a bounded reader for the replies the tools parse.
//
// The writer never writes past its span: once something does not fit it
// stops and ok() turns false (the caller sizes buffers so that it never
// happens, and treats false as a bug). The reader walks a value without
// allocating and refuses (returns false) anything that is not canonical
// enough to be unambiguous: leading zeros in integers, "-0", string lengths
// past the end, nesting deeper than kMaxDepth.
#ifndef RINGTRACK_CORE_HTTP_BENCODE_H_
#define RINGTRACK_CORE_HTTP_BENCODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringtrack::bencode {

class Writer {
 public:
  explicit Writer(std::span<uint8_t> out) : out_(out) {}

  void BeginDict() { Byte('d'); }
  void BeginList() { Byte('l'); }
  void End() { Byte('e'); }
  void Int(int64_t v);
  // A byte string: its length, ':' and the bytes.
  void String(std::span<const uint8_t> bytes);
  void String(std::string_view s);
  // A string's length prefix only; the caller then writes `length` bytes
  // with Raw() (or reserves them: see Reserve()).
  void StringHeader(size_t length);
  void Raw(std::span<const uint8_t> bytes);
  // Skips `n` bytes the caller fills in itself; returns where they are
  // (empty when they do not fit).
  std::span<uint8_t> Reserve(size_t n);
  // A dictionary key and an integer value, keys in sorted order (the
  // caller's job: bencoded dictionaries are sorted by raw key bytes).
  void KeyInt(std::string_view key, int64_t v) {
    String(key);
    Int(v);
  }

  bool ok() const { return ok_; }
  size_t size() const { return n_; }

 private:
  void Byte(char c);
  std::span<uint8_t> out_;
  size_t n_ = 0;
  bool ok_ = true;
};

// Bytes Int(v) writes, and String(length bytes) writes.
size_t IntSize(int64_t v);
size_t StringSize(size_t length);

// A bounded reader over one bencoded buffer. Each Read* consumes one value
// at the cursor and returns false (leaving the cursor unspecified) if the
// value there is not of that type or malformed.
class Reader {
 public:
  static constexpr int kMaxDepth = 32;

  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool ReadInt(int64_t* v);
  bool ReadString(std::span<const uint8_t>* s);
  bool ReadString(std::string_view* s);
  // Consumes 'd' or 'l'; then read entries until AtEnd(), then ReadEnd().
  bool BeginDict();
  bool BeginList();
  bool AtEnd() const { return pos_ < in_.size() && in_[pos_] == 'e'; }
  bool ReadEnd();
  // Skips one whole value of any type.
  bool Skip();
  // What the next value is: 'i', 'l', 'd', 's' (a string), or 0 (none).
  char Peek() const;
  bool done() const { return pos_ == in_.size(); }
  size_t position() const { return pos_; }

 private:
  bool SkipDepth(int depth);
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace ringtrack::bencode

#endif  // RINGTRACK_CORE_HTTP_BENCODE_H_

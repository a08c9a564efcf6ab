// Big-endian loads and stores for the BEP 15 wire format.
//
// Every byte-order conversion in ringtrack goes through these helpers; no other
// file calls ntohl()/htonl(). They take raw byte pointers so they work on
// unaligned positions inside a datagram. wire_test.cc checks the exact bytes.
#ifndef RINGTRACK_CORE_BASE_WIRE_H_
#define RINGTRACK_CORE_BASE_WIRE_H_

#include <cstdint>
#include <cstring>

namespace ringtrack::wire {

inline uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace ringtrack::wire

#endif  // RINGTRACK_CORE_BASE_WIRE_H_

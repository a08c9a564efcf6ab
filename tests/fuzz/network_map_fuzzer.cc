// Fuzzes the network map's text parser: any bytes parse to a map or an
// error naming SOURCE:LINE, never a crash; a map that parses answers
// lookups of addresses taken from the input, and of the edges of both
// families, with an id it holds.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/netmap/network_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringtrack;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = NetworkMap::Parse(text, "fuzz.map");
  if (!m.ok()) {
    if (std::string(m.status().message()).rfind("fuzz.map:", 0) != 0) abort();
    return 0;
  }
  const NetworkMap& map = **m;
  auto check = [&](AddressFamily f, const uint8_t* ip) {
    const NetworkId id = map.Lookup(f, ip);
    if (id > map.networks()) abort();
    if (id != kOutsideMap) (void)map.name(id);
  };
  uint8_t edge[16];
  for (uint8_t b : {0x00, 0xff}) {
    std::memset(edge, b, sizeof(edge));
    check(AddressFamily::kV4, edge);
    check(AddressFamily::kV6, edge);
  }
  for (size_t at = 0; at + 16 <= size; at += 7) {
    check(AddressFamily::kV4, data + at);
    check(AddressFamily::kV6, data + at);
  }
  return 0;
}

// libFuzzer target: the response parser ringtrack-cli and ringtrack-load
// use. Any reply parses without a crash or an out-of-bounds read, to
// whole entries that lie inside the datagram, for both address families.
#include <cstdint>
#include <cstdlib>

#include "core/udp/protocol.h"

using namespace ringtrack;
using namespace ringtrack::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (AddressFamily f : {AddressFamily::kV4, AddressFamily::kV6}) {
    Response r;
    if (ParseResponse({data, size}, f, &r) != ResponseParseError::kNone) continue;
    const uint8_t* end = data + size;
    switch (r.action) {
      case Action::kAnnounce:
        if (r.announce.peers.data() + r.announce.peers.size() > end) std::abort();
        for (size_t i = 0; i < r.announce.peer_count(); ++i) {
          if (r.announce.peer(i).family != f) std::abort();
        }
        break;
      case Action::kScrape:
        if (r.scrape.entries.data() + r.scrape.entries.size() > end) std::abort();
        for (size_t i = 0; i < r.scrape.entry_count(); ++i) r.scrape.entry(i);
        break;
      case Action::kError:
        if (r.error.message.data() + r.error.message.size() >
            reinterpret_cast<const char*>(end)) {
          std::abort();
        }
        break;
      case Action::kConnect:
        break;
    }
  }
  return 0;
}

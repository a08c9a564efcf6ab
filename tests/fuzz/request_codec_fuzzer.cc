// libFuzzer target: the request codec. Any datagram parses without a
// crash or a read past its end (ASan), to a result consistent with its
// bytes, and a parsed request serializes back to the same leading bytes.
// Cut by a receive buffer, it reads only what was kept and, if that holds
// kMaxMeaningfulRequestSize bytes, gets the same verdict.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/udp/protocol.h"
#include "core/base/wire.h"

using namespace ringtrack;
using namespace ringtrack::protocol;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) std::abort(); \
  } while (0)

namespace {

// The datagram cut to its first `kept` bytes, as a receive buffer cuts it:
// parsed from an exact-size copy (so ASan sees any read past the cut), it
// reads only received hashes, and when at least kMaxMeaningfulRequestSize
// bytes were kept it gets the whole datagram's verdict and hash count.
void CheckCut(const uint8_t* data, size_t size, size_t kept, ParseError whole,
              const Request& whole_req) {
  std::vector<uint8_t> prefix(data, data + kept);
  Request req;
  const ParseError err = ParseRequest(prefix, size, &req);
  FUZZ_CHECK(err < ParseError::kCount);
  if (err == ParseError::kNone && req.action == Action::kScrape) {
    FUZZ_CHECK(kScrapeRequestHeaderSize +
                   req.scrape.hash_count * kInfoHashSize <= kept);
  }
  if (kept >= kMaxMeaningfulRequestSize) {
    FUZZ_CHECK(err == whole);
    if (err == ParseError::kNone && req.action == Action::kScrape) {
      FUZZ_CHECK(req.scrape.hash_count == whole_req.scrape.hash_count);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Request req;
  const ParseError err = ParseRequest({data, size}, &req);
  FUZZ_CHECK(err < ParseError::kCount);
  for (size_t kept : {size / 2, kMaxMeaningfulRequestSize}) {
    if (kept < size) CheckCut(data, size, kept, err, req);
  }
  if (err != ParseError::kNone) {
    // Only an empty scrape may be answered (with an error), never junk.
    FUZZ_CHECK(!IsAnswerable(err) || (req.action == Action::kScrape &&
                                      size >= kScrapeRequestHeaderSize));
    return 0;
  }
  FUZZ_CHECK(size >= kMinRequestSize);
  FUZZ_CHECK(static_cast<uint32_t>(req.action) == wire::LoadBe32(data + kOffAction));
  std::vector<uint8_t> out(2048);
  switch (req.action) {
    case Action::kConnect: {
      FUZZ_CHECK(wire::LoadBe64(data) == kProtocolMagic);
      const size_t n = WriteConnectRequest(out, req.connect.transaction_id);
      FUZZ_CHECK(n == kConnectRequestSize && std::memcmp(out.data(), data, n) == 0);
      break;
    }
    case Action::kAnnounce: {
      FUZZ_CHECK(size >= kAnnounceRequestSize);
      FUZZ_CHECK(req.announce.url_data_size <= kMaxUrlData);
      AnnounceRequest a = req.announce;
      a.url_data_size = 0;
      const size_t n = WriteAnnounceRequest(out, a);
      FUZZ_CHECK(n == kAnnounceRequestSize);
      // Unknown events are read as "none"; every other byte round-trips.
      FUZZ_CHECK(std::memcmp(out.data(), data, kOffEvent) == 0);
      FUZZ_CHECK(std::memcmp(out.data() + kOffIp, data + kOffIp,
                             kAnnounceRequestSize - kOffIp) == 0);
      break;
    }
    case Action::kScrape: {
      const ScrapeRequest& s = req.scrape;
      FUZZ_CHECK(s.hash_count >= 1 && s.hash_count <= kMaxScrapeHashes);
      FUZZ_CHECK(s.hashes == data + kScrapeRequestHeaderSize);
      FUZZ_CHECK(kScrapeRequestHeaderSize + s.hash_count * kInfoHashSize <= size);
      const size_t n = WriteScrapeRequest(
          out, s.connection_id, s.transaction_id,
          {s.hashes, s.hash_count * kInfoHashSize});
      FUZZ_CHECK(n > 0 && std::memcmp(out.data(), data, n) == 0);
      break;
    }
    case Action::kError:
      std::abort();  // an error packet is never a valid request
  }
  return 0;
}

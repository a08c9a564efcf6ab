#include "daemon/worker.h"

#include "daemon/net.h"

namespace ringtrack {

size_t WorkerCore::Handle(std::span<const uint8_t> datagram,
                          const sockaddr* from, socklen_t from_len,
                          std::span<uint8_t> reply) {
  io.received.Add();
  PeerEndpoint peer;
  if (!ToEndpoint(from, from_len, &peer)) return 0;
  const HandleResult r = shared_.tracker->Handle(
      datagram, peer, shared_.clock->now(), NextRandom(), reply, &stats);
  return r.reply_size;
}

}  // namespace ringtrack

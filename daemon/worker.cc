#include "daemon/worker.h"

#include "daemon/net.h"

#include <cstring>
#include <string_view>

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

HttpResponse WorkerCore::Respond(std::span<const uint8_t> head,
                                 const PeerEndpoint& from, bool must_close,
                                 std::span<uint8_t> out) {
  (void)head;
  (void)from;
  (void)must_close;
  static constexpr std::string_view kReply =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  std::memcpy(out.data(), kReply.data(), kReply.size());
  return {.size = kReply.size(), .close = false, .status = 404};
}

void WorkerCore::HandleBatch(std::span<Datagram> batch) {
  items_.clear();
  item_of_.clear();
  for (size_t j = 0; j < batch.size(); ++j) {
    Datagram& d = batch[j];
    io.received.Add();
    d.reply_size = 0;
    Tracker::BatchItem it;
    if (!ToEndpoint(d.from, d.from_len, &it.from)) continue;
    it.datagram = d.data;
    it.wire_size = d.wire_size;
    it.random = NextRandom();
    it.reply = d.reply;
    items_.push_back(it);
    item_of_.push_back(j);
  }
  shared_.tracker->HandleBatch(std::span(items_), shared_.clock->now(),
                               &stats);
  for (size_t k = 0; k < items_.size(); ++k) {
    batch[item_of_[k]].reply_size = items_[k].result.reply_size;
  }
}

}  // namespace ringtrack

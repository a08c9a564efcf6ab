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
  const UdpResult r = shared_.udp_tracker->Handle(
      datagram, peer, shared_.clock->now(), NextRandom(), reply, &stats);
  return r.reply_size;
}

namespace {

// The status a response carries, and why it closes, by outcome.
HttpResponse ToResponse(const HttpResult& r) {
  HttpResponse out{.size = r.response_size, .close = !r.keep_alive};
  switch (r.outcome) {
    case HttpOutcome::kAnnounce:
    case HttpOutcome::kScrape:
    case HttpOutcome::kFailure:
      out.status = 200;
      break;
    case HttpOutcome::kNotFound:
      out.status = 404;
      break;
    case HttpOutcome::kMethodNotAllowed:
      out.status = 405;
      out.reason = HttpCloseReason::kBadRequest;
      break;
    case HttpOutcome::kBadRequest:
      out.status = 400;
      out.reason = HttpCloseReason::kBadRequest;
      break;
    case HttpOutcome::kHeadTooLarge:  // framed, so: too many fields
      out.status = 431;
      out.reason = HttpCloseReason::kTooManyHeaders;
      break;
    case HttpOutcome::kBadVersion:
      out.status = 505;
      out.reason = HttpCloseReason::kBadRequest;
      break;
    case HttpOutcome::kCount:
      break;
  }
  return out;
}

}  // namespace

HttpResponse WorkerCore::Respond(std::span<const uint8_t> head,
                                 const PeerEndpoint& from, bool must_close,
                                 std::span<uint8_t> out) {
  // must_close is the connection machine's to add (ForceClose()).
  (void)must_close;
  return ToResponse(shared_.http_tracker->Handle(
      head, from, shared_.clock->now(), NextRandom(), out, &http_stats));
}

HttpResponse WorkerCore::Refuse(uint16_t status, const PeerEndpoint& from,
                                std::span<uint8_t> out) {
  HttpResponse r = ToResponse(shared_.http_tracker->Refuse(
      static_cast<http::Status>(status), from, out, &http_stats));
  r.close = true;
  return r;
}

void WorkerCore::HandleBatch(std::span<Datagram> batch) {
  items_.clear();
  item_of_.clear();
  for (size_t j = 0; j < batch.size(); ++j) {
    Datagram& d = batch[j];
    io.received.Add();
    d.reply_size = 0;
    UdpTracker::BatchItem it;
    if (!ToEndpoint(d.from, d.from_len, &it.from)) continue;
    it.datagram = d.data;
    it.wire_size = d.wire_size;
    it.random = NextRandom();
    it.reply = d.reply;
    items_.push_back(it);
    item_of_.push_back(j);
  }
  shared_.udp_tracker->HandleBatch(std::span(items_), shared_.clock->now(),
                               &stats);
  for (size_t k = 0; k < items_.size(); ++k) {
    batch[item_of_[k]].reply_size = items_[k].result.reply_size;
  }
}

}  // namespace ringtrack

#include "core/http/http_tracker.h"

#include <array>
#include <cstdio>
#include <cstring>

namespace ringtrack {

using http::Status;

namespace {

// Where Handle() writes a body: past room for the longest head, so the
// head can be written in front of it and the body moved up once.
constexpr size_t kBodyOffset = http::kMaxResponseHeadSize;

HttpOutcome OutcomeOf(Status s) {
  switch (s) {
    case Status::kOk:
      return HttpOutcome::kAnnounce;  // not used for errors
    case Status::kNotFound:
      return HttpOutcome::kNotFound;
    case Status::kMethodNotAllowed:
      return HttpOutcome::kMethodNotAllowed;
    case Status::kHeadersTooLarge:
      return HttpOutcome::kHeadTooLarge;
    case Status::kVersionNotSupported:
      return HttpOutcome::kBadVersion;
    case Status::kBadRequest:
      break;
  }
  return HttpOutcome::kBadRequest;
}

// A short plain-text body for an error status ("404 Not Found\n").
size_t WriteErrorBody(std::span<uint8_t> out, Status s) {
  char text[64];
  const std::string_view reason = http::ReasonPhrase(s);
  const int n = std::snprintf(text, sizeof text, "%u %.*s\n",
                              static_cast<unsigned>(s),
                              static_cast<int>(reason.size()), reason.data());
  if (n < 0 || static_cast<size_t>(n) > out.size()) return 0;
  std::memcpy(out.data(), text, static_cast<size_t>(n));
  return static_cast<size_t>(n);
}

void Count(HttpOutcome o, const PeerEndpoint& client, HttpStats* stats) {
  stats->outcomes[static_cast<size_t>(o)].Add();
  stats->by_family[client.family == AddressFamily::kV6]
                  [static_cast<size_t>(o)]
                      .Add();
}

}  // namespace

std::string_view HttpOutcomeName(HttpOutcome o) {
  switch (o) {
    case HttpOutcome::kAnnounce:
      return "announce";
    case HttpOutcome::kScrape:
      return "scrape";
    case HttpOutcome::kFailure:
      return "failure";
    case HttpOutcome::kNotFound:
      return "not_found";
    case HttpOutcome::kMethodNotAllowed:
      return "method_not_allowed";
    case HttpOutcome::kBadRequest:
      return "bad_request";
    case HttpOutcome::kHeadTooLarge:
      return "head_too_large";
    case HttpOutcome::kBadVersion:
      return "bad_version";
    case HttpOutcome::kCount:
      break;
  }
  return "?";
}

HttpTracker::HttpTracker(Tracker* tracker, HttpConfig config)
    : tracker_(tracker), config_(std::move(config)) {}

HttpResult HttpTracker::Refuse(Status status, const PeerEndpoint& tcp_peer,
                               std::span<uint8_t> out,
                               HttpStats* stats) const {
  HttpResult r;
  r.outcome = OutcomeOf(status);
  r.keep_alive = false;
  uint8_t body[64];
  const size_t body_size = WriteErrorBody(body, status);
  const size_t head = http::WriteResponseHead(out, status, body_size,
                                              /*keep_alive=*/false, 1);
  std::memcpy(out.data() + head, body, body_size);
  r.response_size = head + body_size;
  Count(r.outcome, tcp_peer, stats);
  stats->bytes_out.Add(r.response_size);
  return r;
}

HttpResult HttpTracker::Handle(std::span<const uint8_t> head_bytes,
                               const PeerEndpoint& tcp_peer, uint32_t now,
                               uint64_t random, std::span<uint8_t> out,
                               HttpStats* stats) const {
  stats->bytes_in.Add(head_bytes.size());
  http::RequestHead head;
  const Status parsed = http::ParseHead(
      {reinterpret_cast<const char*>(head_bytes.data()), head_bytes.size()},
      config_.limits, &head);
  if (parsed != Status::kOk) return Refuse(parsed, tcp_peer, out, stats);

  Status status = Status::kOk;
  HttpOutcome outcome = HttpOutcome::kFailure;
  const std::span<uint8_t> body = out.subspan(kBodyOffset);
  size_t body_size = 0;
  PeerEndpoint client = tcp_peer;
  const http::Route route = http::RouteOf(head.path);
  if (head.method == http::Method::kOther) {
    status = Status::kMethodNotAllowed;
  } else if (route == http::Route::kNone) {
    status = Status::kNotFound;
  } else if (route == http::Route::kAnnounce) {
    client = config_.trusted_proxies.ClientOf(head, tcp_peer);
    if (!(client == tcp_peer)) stats->proxied.Add();
    body_size = Announce(head, client, now, random, body, stats, &outcome);
  } else {
    body_size = Scrape(head, body, stats, &outcome);
  }
  if (status != Status::kOk) {
    outcome = OutcomeOf(status);
    body_size = WriteErrorBody(body, status);
  }
  // 404 leaves the stream in step; 405 may have a body we did not read.
  const bool keep_alive =
      head.keep_alive && status != Status::kMethodNotAllowed;
  uint8_t head_out[http::kMaxResponseHeadSize];
  const size_t head_size = http::WriteResponseHead(
      head_out, status, body_size, keep_alive, head.minor_version);
  const size_t sent_body = head.method == http::Method::kHead ? 0 : body_size;
  std::memmove(out.data() + head_size, body.data(), sent_body);
  std::memcpy(out.data(), head_out, head_size);

  HttpResult r;
  r.response_size = head_size + sent_body;
  r.keep_alive = keep_alive;
  r.outcome = outcome;
  Count(outcome, client, stats);
  stats->bytes_out.Add(r.response_size);
  return r;
}

size_t HttpTracker::Announce(const http::RequestHead& head,
                             const PeerEndpoint& client, uint32_t now,
                             uint64_t random, std::span<uint8_t> body,
                             HttpStats* stats, HttpOutcome* outcome) const {
  http::AnnounceQuery q;
  const http::QueryError err = http::ParseAnnounceQuery(head.query, &q);
  if (err != http::QueryError::kNone) {
    stats->bad_query[static_cast<size_t>(err)].Add();
    *outcome = HttpOutcome::kFailure;
    return http::WriteFailureBody(body, http::QueryErrorMessage(err));
  }
  // The peer is the connection's client, whatever `ip=` said.
  const uint16_t port = q.core.peer.port;
  q.core.peer = client;
  q.core.peer.port = port;
  std::array<uint8_t, kMaxPeersOutBytes> peers;
  const AnnounceReply reply =
      tracker_->Announce(q.core, now, random, peers, &stats->tracker);
  if (reply.refusal != Refusal::kNone) {
    *outcome = HttpOutcome::kFailure;
    return http::WriteFailureBody(body, RefusalMessage(reply.refusal));
  }
  *outcome = HttpOutcome::kAnnounce;
  return http::WriteAnnounceBody(body, reply, peers, q.compact);
}

size_t HttpTracker::Scrape(const http::RequestHead& head,
                           std::span<uint8_t> body, HttpStats* stats,
                           HttpOutcome* outcome) const {
  http::ScrapeQuery q;
  const http::QueryError err =
      http::ParseScrapeQuery(head.query, http::kMaxScrapeHashes, &q);
  *outcome = HttpOutcome::kFailure;
  if (err != http::QueryError::kNone) {
    stats->bad_query[static_cast<size_t>(err)].Add();
    return http::WriteFailureBody(body, http::QueryErrorMessage(err));
  }
  std::array<SwarmCounts, http::kMaxScrapeHashes> counts;
  const Refusal why = tracker_->Scrape(q.hashes(), counts, &stats->tracker);
  if (why != Refusal::kNone) {
    return http::WriteFailureBody(body, RefusalMessage(why));
  }
  *outcome = HttpOutcome::kScrape;
  return http::WriteScrapeBody(body, q.hashes(),
                               std::span(counts).first(q.count));
}

}  // namespace ringtrack

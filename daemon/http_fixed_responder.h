// FixedHttpResponder: answers every request head with the same bytes, for
// the stateless HTTP responder benchmark (the limit ringtrackd's HTTP is
// measured against): the same listeners, loops and connection machine as
// the tracker, with the tracker's work taken out. Set it as
// ServerConfig::http_responder.
//
// It keeps a connection open as HTTP/1.1 does by default, and closes it
// (with the "Connection: close" variant of its reply) for an HTTP/1.0
// request or a "Connection: close" field, as a real server must for
// new-connection-per-request clients to see the end of the reply.
#ifndef RINGTRACK_DAEMON_HTTP_FIXED_RESPONDER_H_
#define RINGTRACK_DAEMON_HTTP_FIXED_RESPONDER_H_

#include <string>
#include <string_view>

#include "daemon/http_conn.h"

namespace ringtrack {

class FixedHttpResponder final : public HttpResponder {
 public:
  // `body`: the reply's body (e.g. a bencoded announce reply of the size
  // the tracker sends). REQUIRES: the reply fits kHttpMaxResponseBytes.
  explicit FixedHttpResponder(std::string_view body);

  HttpResponse Respond(std::span<const uint8_t> head, const PeerEndpoint& from,
                       bool must_close, std::span<uint8_t> out) override;

 private:
  std::string keep_alive_;
  std::string close_;
};

// True iff a request with this head asks to close after its reply: an
// HTTP/1.0 request line without "Connection: keep-alive", or a
// "Connection: close" field (case-insensitive).
bool WantsClose(std::string_view head);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_FIXED_RESPONDER_H_

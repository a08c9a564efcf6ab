#include "daemon/http_fixed_responder.h"

#include <cassert>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {

FixedHttpResponder::FixedHttpResponder(std::string_view body) {
  const std::string head = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ",
      body.size(), "\r\n");
  keep_alive_ = head + "\r\n" + std::string(body);
  close_ = head + "Connection: close\r\n\r\n" + std::string(body);
  assert(close_.size() <= kHttpMaxResponseBytes);
}

bool WantsClose(std::string_view head) {
  const std::string_view line = head.substr(0, head.find('\n'));
  std::string lower(head);
  for (char& c : lower) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (lower.find("\nconnection: close") != std::string::npos) return true;
  return line.find("HTTP/1.0") != std::string_view::npos &&
         lower.find("\nconnection: keep-alive") == std::string::npos;
}

HttpResponse FixedHttpResponder::Respond(std::span<const uint8_t> head,
                                         const PeerEndpoint&, bool must_close,
                                         std::span<uint8_t> out) {
  const bool close =
      must_close ||
      WantsClose({reinterpret_cast<const char*>(head.data()), head.size()});
  const std::string& r = close ? close_ : keep_alive_;
  std::memcpy(out.data(), r.data(), r.size());
  return {.size = r.size(), .close = close, .status = 200};
}

}  // namespace ringtrack

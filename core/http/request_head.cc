#include "core/http/request_head.h"

#include <cassert>
#include <cstring>

#include "core/http/text.h"

namespace ringtrack::http {

namespace {

// RFC 9110 §5.6.2: tchar.
bool IsTchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

// A request target's bytes: visible ASCII (RFC 9112 §3.2: no spaces, no
// controls; obs-text is not allowed in a URI).
bool IsTargetChar(uint8_t c) { return c > 0x20 && c < 0x7f; }

// A field value's bytes: visible ASCII, space, tab, obs-text.
bool IsValueChar(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }


// Splits the next CRLF-terminated line off `*rest`. False if there is no
// CRLF, or a bare CR or LF comes before it.
bool NextLine(std::string_view* rest, std::string_view* line) {
  for (size_t i = 0; i < rest->size(); ++i) {
    const char c = (*rest)[i];
    if (c == '\n') return false;  // bare LF
    if (c == '\r') {
      if (i + 1 >= rest->size() || (*rest)[i + 1] != '\n') return false;
      *line = rest->substr(0, i);
      rest->remove_prefix(i + 2);
      return true;
    }
  }
  return false;
}

Status ParseRequestLine(std::string_view line, RequestHead* out) {
  const size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) return Status::kBadRequest;
  out->method_token = line.substr(0, sp1);
  for (char c : out->method_token) {
    if (!IsTchar(static_cast<uint8_t>(c))) return Status::kBadRequest;
  }
  out->method = out->method_token == "GET"    ? Method::kGet
                : out->method_token == "HEAD" ? Method::kHead
                                              : Method::kOther;
  const std::string_view after = line.substr(sp1 + 1);
  const size_t sp2 = after.find(' ');
  if (sp2 == 0 || sp2 == std::string_view::npos) return Status::kBadRequest;
  out->target = after.substr(0, sp2);
  const std::string_view version = after.substr(sp2 + 1);
  for (char c : out->target) {
    if (!IsTargetChar(static_cast<uint8_t>(c))) return Status::kBadRequest;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      version[6] != '.' || version[5] < '0' || version[5] > '9' ||
      version[7] < '0' || version[7] > '9') {
    return Status::kBadRequest;
  }
  if (version[5] != '1' || version[7] > '1') {
    return Status::kVersionNotSupported;
  }
  out->minor_version = version[7] - '0';
  // Origin form, or absolute form (http://authority/path?query).
  std::string_view t = out->target;
  if (t.front() != '/') {
    constexpr std::string_view kHttp = "http://";
    if (t.size() < kHttp.size() ||
        !EqualsIgnoreCase(t.substr(0, kHttp.size()), kHttp)) {
      return Status::kBadRequest;
    }
    t.remove_prefix(kHttp.size());
    const size_t slash = t.find_first_of("/?");
    if (slash == 0) return Status::kBadRequest;  // no authority
    t = slash == std::string_view::npos ? std::string_view("/")
                                        : t.substr(slash);
    if (t.front() == '?') return Status::kBadRequest;  // path must be there
  }
  if (t.find('#') != std::string_view::npos) return Status::kBadRequest;
  const size_t q = t.find('?');
  out->path = t.substr(0, q);
  out->query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  return Status::kOk;
}

Status ParseField(std::string_view line, Header* h) {
  const size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return Status::kBadRequest;
  h->name = line.substr(0, colon);
  // Names are tokens: no whitespace before the colon (RFC 9112 §5.1).
  for (char c : h->name) {
    if (!IsTchar(static_cast<uint8_t>(c))) return Status::kBadRequest;
  }
  const std::string_view value = line.substr(colon + 1);
  for (char c : value) {
    if (!IsValueChar(static_cast<uint8_t>(c))) return Status::kBadRequest;
  }
  h->value = TrimOws(value);
  return Status::kOk;
}

// A GET or HEAD carries no body here: a Content-Length other than 0, any
// Transfer-Encoding, or two Content-Length fields would leave the stream
// out of step with the next request, so they are refused.
Status CheckNoBody(const RequestHead& h) {
  bool seen_length = false;
  for (size_t i = 0; i < h.header_count; ++i) {
    const Header& f = h.headers[i];
    if (EqualsIgnoreCase(f.name, "transfer-encoding")) {
      return Status::kBadRequest;
    }
    if (EqualsIgnoreCase(f.name, "content-length")) {
      if (seen_length || f.value != "0") return Status::kBadRequest;
      seen_length = true;
    }
  }
  return Status::kOk;
}

}  // namespace

std::string_view ReasonPhrase(Status s) {
  switch (s) {
    case Status::kOk:
      return "OK";
    case Status::kBadRequest:
      return "Bad Request";
    case Status::kNotFound:
      return "Not Found";
    case Status::kMethodNotAllowed:
      return "Method Not Allowed";
    case Status::kHeadersTooLarge:
      return "Request Header Fields Too Large";
    case Status::kVersionNotSupported:
      return "HTTP Version Not Supported";
  }
  return "Error";
}

Frame FindHead(std::span<const uint8_t> received, const HeadLimits& limits) {
  Frame f;
  const size_t n = received.size();
  // What can never start a request line: fail at once instead of holding
  // the bytes until the limit.
  size_t start = 0;
  while (start + 1 < n && received[start] == '\r' &&
         received[start + 1] == '\n' && start < 2 * kMaxEmptyLinesBefore) {
    start += 2;
  }
  if (start < n && received[start] != '\r' && !IsTchar(received[start])) {
    f.state = FrameState::kError;
    f.error = Status::kBadRequest;
    return f;
  }
  const size_t scan = n < limits.max_head_size ? n : limits.max_head_size;
  for (size_t i = start; i < scan; ++i) {
    if (received[i] == 0) {
      f.state = FrameState::kError;
      f.error = Status::kBadRequest;
      return f;
    }
    if (received[i] == '\n' && i >= 3 && received[i - 1] == '\r' &&
        received[i - 2] == '\n' && received[i - 3] == '\r' &&
        i - 3 >= start) {
      f.state = FrameState::kComplete;
      f.head_size = i + 1;
      return f;
    }
  }
  if (n >= limits.max_head_size) {
    f.state = FrameState::kError;
    f.error = Status::kHeadersTooLarge;
  }
  return f;
}

const Header* RequestHead::Find(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (EqualsIgnoreCase(headers[i].name, name)) return &headers[i];
  }
  return nullptr;
}

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (EqualsIgnoreCase(TrimOws(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

Status ParseHead(std::string_view head, const HeadLimits& limits,
                 RequestHead* out) {
  assert(limits.max_headers <= kMaxHeadersCap);
  if (head.size() > limits.max_head_size) return Status::kHeadersTooLarge;
  out->header_count = 0;
  std::string_view rest = head;
  std::string_view line;
  size_t empty = 0;
  do {
    if (!NextLine(&rest, &line)) return Status::kBadRequest;
  } while (line.empty() && ++empty <= kMaxEmptyLinesBefore);
  if (line.empty()) return Status::kBadRequest;
  if (const Status s = ParseRequestLine(line, out); s != Status::kOk) return s;
  for (;;) {
    if (!NextLine(&rest, &line)) return Status::kBadRequest;
    if (line.empty()) break;
    // Obsolete line folding (a line starting with SP or HTAB) is refused
    // (RFC 9112 §5.2 allows that).
    if (line.front() == ' ' || line.front() == '\t') return Status::kBadRequest;
    if (out->header_count == limits.max_headers) {
      return Status::kHeadersTooLarge;
    }
    if (const Status s = ParseField(line, &out->headers[out->header_count]);
        s != Status::kOk) {
      return s;
    }
    ++out->header_count;
  }
  if (!rest.empty()) return Status::kBadRequest;  // not one head
  if (const Status s = CheckNoBody(*out); s != Status::kOk) return s;
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
  if (out->minor_version == 1 && out->Find("host") == nullptr) {
    return Status::kBadRequest;
  }
  const Header* connection = out->Find("connection");
  if (out->minor_version == 1) {
    out->keep_alive = connection == nullptr || !HasToken(connection->value, "close");
  } else {
    out->keep_alive =
        connection != nullptr && HasToken(connection->value, "keep-alive");
  }
  return Status::kOk;
}

}  // namespace ringtrack::http

// ringtrack-cli: curl for trackers, UDP (BEP 15) and HTTP (BEP 3, 48).
// Connects, announces or scrapes, and prints the decoded reply, the same
// for both protocols. Uses core/'s codecs for every byte on the wire.
//
//   ringtrack-cli announce URL --info-hash HEX
//       [--event started|completed|stopped|none] [--left N] [--port N]
//       [--numwant N]
//   ringtrack-cli scrape URL HEX...
//   ringtrack-cli connect udp://host:port
// URL: udp://host:port/announce, http://host:port/announce, host:port.
// With --json the reply is printed as one JSON object on one line.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/cli/command_line.h"
#include "core/http/client.h"
#include "core/udp/protocol.h"
#include "tools/json.h"
#include "tools/tracker_target.h"

ABSL_FLAG(std::string, info_hash, "", "announce: the torrent, 40 hex digits.");
ABSL_FLAG(std::string, event, "started",
          "announce: started, completed, stopped or none.");
ABSL_FLAG(uint64_t, left, 1, "announce: bytes left (0 = seeder).");
ABSL_FLAG(int, port, 6881, "announce: the port peers should connect to.");
ABSL_FLAG(int, numwant, -1, "announce: peers wanted (-1 = tracker default).");
ABSL_FLAG(std::string, peer_id, "-RT0001-ringtrackcli", "announce: 20 bytes.");
ABSL_FLAG(std::string, bind, "",
          "Send from this local IP address (e.g. 127.0.0.2); default: the "
          "kernel's choice.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(60),
          "Give up after this long. Retries follow BEP 15's schedule "
          "(15 s, 30 s, 60 s, ...) within it.");
ABSL_FLAG(bool, json, false,
          "Print the reply as one JSON object on one line (a tracker error as "
          "{\"action\":\"error\",\"message\":...}).");

namespace {

using namespace ringtrack;

[[noreturn]] void Die(int code, const std::string& msg) {
  std::fprintf(stderr, "ringtrack-cli: %s\n", msg.c_str());
  std::exit(code);
}

void Warn(const std::string& msg) {
  std::fprintf(stderr, "ringtrack-cli: warning: %s\n", msg.c_str());
}

// Prints the tracker's refusal (a BEP 15 error, an HTTP failure reason or
// status) and exits 1.
[[noreturn]] void TrackerError(std::string_view message) {
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("{\"action\":\"error\",\"message\":%s}\n",
                JsonQuote(message).c_str());
  } else {
    std::printf("tracker error: %s\n", std::string(message).c_str());
  }
  std::exit(kExitRuntimeFailure);
}

uint32_t RandomU32() {
  uint32_t v = 0;
  while (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
  }
  return v;
}

// Binds `fd` to --bind's address, if given.
void BindLocal(int fd, const std::string& ip, int family) {
  if (ip.empty()) return;
  sockaddr_storage a{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    v4->sin_family = AF_INET;
    len = sizeof(*v4);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) != 1) len = 0;
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    v6->sin6_family = AF_INET6;
    len = sizeof(*v6);
    if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) != 1) len = 0;
  }
  if (len == 0) {
    Die(kExitBadUsage,
        "--bind: '" + ip + "' is not an address of the tracker's family");
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    Die(kExitRuntimeFailure, "--bind " + ip + ": " + std::string(strerror(errno)));
  }
}

// Exits naming what socket error `err` means for an exchange with `target`.
[[noreturn]] void DieOnSocketError(const TrackerTarget& target, int err) {
  if (err == ECONNREFUSED) {
    Die(kExitRuntimeFailure,
        "connection refused: nothing listens on " + target.text +
            (target.http() ? " (TCP)"
                           : " (the host answered ICMP port unreachable)"));
  }
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ||
      err == ETIMEDOUT) {
    Die(kExitRuntimeFailure, "timed out: no reply from " + target.text);
  }
  Die(kExitRuntimeFailure, target.text + ": " + std::string(strerror(err)));
}

// One HTTP exchange with the tracker, as a client announces: connect, send
// the request (it asks for "Connection: close"), read the whole reply,
// framed by core/http, and close. All within --timeout.
std::string HttpExchange(const TrackerTarget& target,
                         std::span<const uint8_t> request) {
  const int fd = socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(kExitRuntimeFailure, "socket: " + std::string(strerror(errno)));
  BindLocal(fd, absl::GetFlag(FLAGS_bind), target.addr.ss_family);
  // On Linux SO_SNDTIMEO also bounds connect().
  const absl::Duration limit = absl::GetFlag(FLAGS_timeout);
  timeval tv = absl::ToTimeval(limit);
  if (tv.tv_sec <= 0 && tv.tv_usec <= 0) tv = {0, 1};  // 0 would mean forever
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const absl::Time deadline = absl::Now() + limit;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target.addr),
              target.len) != 0) {
    DieOnSocketError(target, errno);
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent,
                           MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR) DieOnSocketError(target, errno);
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::vector<uint8_t> reply;
  http::ResponseHead head;
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= deadline) DieOnSocketError(target, ETIMEDOUT);
    // Each receive waits only for what is left of --timeout, so a server
    // that trickles its reply cannot stretch it.
    timeval left = absl::ToTimeval(deadline - now);
    if (left.tv_sec == 0 && left.tv_usec == 0) left.tv_usec = 1;  // 0: forever
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &left, sizeof(left));
    uint8_t buf[16384];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) DieOnSocketError(target, errno);
    reply.insert(reply.end(), buf, buf + n);
    const http::ResponseFrame frame = http::ParseResponseHead(reply, &head);
    if (frame == http::ResponseFrame::kError) {
      Die(kExitRuntimeFailure,
          target.text + ": the reply is not an HTTP/1.x response with a "
                        "Content-Length");
    }
    if (frame == http::ResponseFrame::kComplete &&
        reply.size() - head.head_size >= head.content_length) {
      break;
    }
    if (n == 0) {
      Die(kExitRuntimeFailure,
          target.text + ": the tracker closed the connection before its "
                        "whole reply");
    }
  }
  close(fd);
  if (head.status != 200) {
    TrackerError(absl::StrFormat("HTTP status %d", head.status));
  }
  return std::string(reply.begin() + head.head_size,
                     reply.begin() + head.head_size + head.content_length);
}

class Session {
 public:
  explicit Session(const TrackerTarget& t) : target_(t) {
    fd_ = socket(t.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) Die(kExitRuntimeFailure, "socket: " + std::string(strerror(errno)));
    BindLocal(fd_, absl::GetFlag(FLAGS_bind), t.addr.ss_family);
    // A connected UDP socket is told of the ICMP errors its datagrams
    // cause (port unreachable comes back as ECONNREFUSED), so a closed port
    // is reported at once instead of after the whole --timeout. It also
    // takes replies only from the tracker's address.
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0) {
      FailOnSocketError(errno);
    }
    deadline_ = absl::Now() + absl::GetFlag(FLAGS_timeout);
  }
  ~Session() { close(fd_); }

  [[noreturn]] void FailOnSocketError(int err) const {
    DieOnSocketError(target_, err);
  }

  // Sends `req` (whose transaction ID is `tid`) with BEP 15 retransmission
  // until a reply with that ID arrives; returns it.
  std::vector<uint8_t> Exchange(const std::vector<uint8_t>& req, uint32_t tid) {
    for (int n = 0;; ++n) {
      const absl::Time now = absl::Now();
      if (now >= deadline_) {
        Die(kExitRuntimeFailure, "timed out: no reply from " + target_.text);
      }
      const absl::Time wait_until =
          std::min(deadline_, now + absl::Seconds(15 << std::min(n, 8)));
      if (send(fd_, req.data(), req.size(), 0) < 0 && errno != EINTR) {
        FailOnSocketError(errno);
      }
      while (absl::Now() < wait_until) {
        pollfd p{fd_, POLLIN, 0};
        const int ms = static_cast<int>(
            absl::ToInt64Milliseconds(wait_until - absl::Now()) + 1);
        if (poll(&p, 1, ms) <= 0) continue;
        std::vector<uint8_t> buf(65536);
        // A pending ICMP error makes poll() report POLLERR and recv() fail.
        const ssize_t got = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (got < 0 && errno != EAGAIN && errno != EINTR) {
          FailOnSocketError(errno);
        }
        if (got < 8) continue;
        buf.resize(static_cast<size_t>(got));
        protocol::Response r;
        if (protocol::ParseResponse(buf, target_.family(), &r) ==
                protocol::ResponseParseError::kNone &&
            r.transaction_id() == tid) {
          return buf;
        }
      }
    }
  }

  uint64_t Connect() {
    const uint32_t tid = RandomU32();
    std::vector<uint8_t> req(protocol::kConnectRequestSize);
    protocol::WriteConnectRequest(req, tid);
    reply_ = Exchange(req, tid);
    protocol::Response r = Parse();
    if (r.action != protocol::Action::kConnect) {
      Die(kExitRuntimeFailure, "bad connect reply");
    }
    return r.connect.connection_id;
  }

  protocol::Response Parse() {
    protocol::Response r;
    protocol::ParseResponse(reply_, target_.family(), &r);
    if (r.action == protocol::Action::kError) TrackerError(r.error.message);
    return r;
  }

  std::vector<uint8_t> reply_;

 private:
  TrackerTarget target_;
  int fd_ = -1;
  absl::Time deadline_;
};

std::string PeerIp(const PeerEndpoint& p) {
  char buf[INET6_ADDRSTRLEN] = "?";
  inet_ntop(p.family == AddressFamily::kV4 ? AF_INET : AF_INET6, p.ip.data(),
            buf, sizeof(buf));
  return buf;
}

std::string FormatPeer(const PeerEndpoint& p) {
  return p.family == AddressFamily::kV4
             ? absl::StrFormat("%s:%d", PeerIp(p), p.port)
             : absl::StrFormat("[%s]:%d", PeerIp(p), p.port);
}

// An announce reply as either protocol gives it.
struct AnnounceAnswer {
  uint32_t interval = 0;
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  std::vector<PeerEndpoint> peers;
};

// One torrent's scrape counts.
struct ScrapeCounts {
  uint32_t seeders = 0;
  uint32_t completed = 0;
  uint32_t leechers = 0;
};

void PrintAnnounceReply(const AnnounceAnswer& a) {
  if (absl::GetFlag(FLAGS_json)) {
    std::string peers;
    for (size_t i = 0; i < a.peers.size(); ++i) {
      absl::StrAppendFormat(&peers, "%s{\"ip\":\"%s\",\"port\":%d}",
                            i == 0 ? "" : ",", PeerIp(a.peers[i]),
                            a.peers[i].port);
    }
    std::printf(
        "{\"action\":\"announce\",\"interval\":%u,\"seeders\":%u,"
        "\"leechers\":%u,\"peers\":[%s]}\n",
        a.interval, a.seeders, a.leechers, peers.c_str());
    return;
  }
  std::printf("interval: %u s\nseeders: %u\nleechers: %u\npeers: %zu\n",
              a.interval, a.seeders, a.leechers, a.peers.size());
  for (const PeerEndpoint& p : a.peers) {
    std::printf("  %s\n", FormatPeer(p).c_str());
  }
}

// `names` are the info hashes asked for, in the request's order, and
// `counts` their counts in the same order.
void PrintScrapeReply(const std::vector<ScrapeCounts>& counts,
                      const std::vector<std::string>& names) {
  const bool json = absl::GetFlag(FLAGS_json);
  std::string files;
  for (size_t i = 0; i < counts.size() && i < names.size(); ++i) {
    const ScrapeCounts& e = counts[i];
    if (json) {
      absl::StrAppendFormat(
          &files,
          "%s{\"info_hash\":\"%s\",\"seeders\":%u,\"completed\":%u,"
          "\"leechers\":%u}",
          i == 0 ? "" : ",", names[i], e.seeders, e.completed, e.leechers);
    } else {
      std::printf("%s seeders: %u completed: %u leechers: %u\n",
                  names[i].c_str(), e.seeders, e.completed, e.leechers);
    }
  }
  if (json) std::printf("{\"action\":\"scrape\",\"files\":[%s]}\n", files.c_str());
}

// A count from a bencoded reply, clamped into what the output prints.
uint32_t Count(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, UINT32_MAX));
}

// The Host value and the path requests go to.
http::RequestTarget HttpTo(const TrackerTarget& target,
                           const std::string& authority) {
  return http::RequestTarget{authority, target.url.path};
}

int Announce(const TrackerTarget& target) {
  const std::string hex = absl::GetFlag(FLAGS_info_hash);
  if (hex.empty()) Die(kExitBadUsage, "announce needs --info-hash");
  absl::StatusOr<InfoHash> hash = ParseInfoHash(hex);
  if (!hash.ok()) {
    Die(kExitBadUsage, "--info-hash: " + std::string(hash.status().message()));
  }
  const std::string ev = absl::GetFlag(FLAGS_event);
  protocol::AnnounceRequest a;
  if (ev == "started") {
    a.event = protocol::Event::kStarted;
  } else if (ev == "completed") {
    a.event = protocol::Event::kCompleted;
  } else if (ev == "stopped") {
    a.event = protocol::Event::kStopped;
  } else if (ev == "none") {
    a.event = protocol::Event::kNone;
  } else {
    Die(kExitBadUsage, "--event must be started, completed, stopped or none");
  }
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) Die(kExitBadUsage, "--port must be 0..65535");
  const std::string peer_id = absl::GetFlag(FLAGS_peer_id);
  if (peer_id.size() != a.peer_id.size()) {
    Die(kExitBadUsage, "--peer_id must be exactly 20 bytes");
  }

  a.info_hash = *hash;
  std::copy(peer_id.begin(), peer_id.end(), a.peer_id.begin());
  a.left = absl::GetFlag(FLAGS_left);
  a.num_want = absl::GetFlag(FLAGS_numwant);
  a.port = static_cast<uint16_t>(port);
  a.key = RandomU32();
  AnnounceAnswer answer;
  if (target.http()) {
    AnnounceRequest h;
    h.info_hash = a.info_hash;
    h.peer_id = a.peer_id;
    h.peer.port = a.port;
    h.event = a.event;
    h.left = a.left;
    h.numwant = a.num_want;
    h.key = a.key;
    const std::string authority = target.url.Authority();
    std::vector<uint8_t> req(http::kMaxAnnounceRequestSize);
    const size_t len = http::WriteAnnounceRequest(
        req, HttpTo(target, authority), h, /*compact=*/true,
        /*keep_alive=*/false);
    if (len == 0) Die(kExitBadUsage, "the URL is too long for a request");
    req.resize(len);
    const std::string body = HttpExchange(target, req);
    auto r = std::make_unique<http::AnnounceResponse>();
    if (http::ParseAnnounceResponse(
            {reinterpret_cast<const uint8_t*>(body.data()), body.size()},
            r.get()) != http::ReplyError::kNone) {
      Die(kExitRuntimeFailure, "the tracker's reply is not a bencoded "
                               "announce reply");
    }
    if (!r->failure_reason.empty()) TrackerError(r->failure_reason);
    if (!r->warning_message.empty()) {
      Warn("the tracker says: " + std::string(r->warning_message));
    }
    answer.interval = Count(r->interval);
    answer.seeders = Count(r->complete);
    answer.leechers = Count(r->incomplete);
    answer.peers.assign(r->peers.begin(), r->peers.begin() + r->peer_count);
  } else {
    Session s(target);
    a.connection_id = s.Connect();
    a.transaction_id = RandomU32();
    std::vector<uint8_t> req(protocol::kAnnounceRequestSize);
    protocol::WriteAnnounceRequest(req, a);
    s.reply_ = s.Exchange(req, a.transaction_id);
    const protocol::Response r = s.Parse();
    if (r.action != protocol::Action::kAnnounce) {
      Die(kExitRuntimeFailure, "unexpected reply");
    }
    answer.interval = r.announce.interval;
    answer.seeders = r.announce.seeders;
    answer.leechers = r.announce.leechers;
    for (size_t i = 0; i < r.announce.peer_count(); ++i) {
      answer.peers.push_back(r.announce.peer(i));
    }
  }
  PrintAnnounceReply(answer);
  return kExitOk;
}

int Scrape(const TrackerTarget& target, const std::vector<char*>& hexes) {
  if (hexes.empty()) Die(kExitBadUsage, "scrape needs at least one info hash");
  // Every hash is checked, even those the trim below leaves out: a typo
  // is an error wherever it is.
  std::vector<uint8_t> flat;
  for (char* h : hexes) {
    absl::StatusOr<InfoHash> hash = ParseInfoHash(h);
    if (!hash.ok()) Die(kExitBadUsage, std::string(hash.status().message()));
    flat.insert(flat.end(), hash->bytes.begin(), hash->bytes.end());
  }
  std::vector<std::string> names(hexes.begin(), hexes.end());
  // Trackers answer at most this many per request (BEP 15's limit, a
  // request that fits a 1500-byte MTU; ringtrackd's HTTP cap, README
  // "HTTP"), so the rest would go unanswered without a word.
  const size_t cap =
      target.http() ? http::kMaxScrapeHashes : protocol::kMaxScrapeHashes;
  if (names.size() > cap) {
    Warn(absl::StrFormat(
        "a scrape carries at most %d info hashes (%s); scraping the first %d "
        "of %d",
        cap, target.http() ? "ringtrackd's HTTP limit" : "BEP 15", cap,
        names.size()));
    names.resize(cap);
    flat.resize(cap * kInfoHashSize);
  }
  std::vector<ScrapeCounts> counts(names.size());
  if (target.http()) {
    const std::string authority = target.url.Authority();
    std::vector<uint8_t> req(http::kMaxAnnounceRequestSize +
                             3 * flat.size() + 16 * names.size());
    const size_t len = http::WriteScrapeRequest(
        req, HttpTo(target, authority), flat, /*keep_alive=*/false);
    if (len == 0) {
      Die(kExitBadUsage,
          "the URL's path " + target.url.path +
              " has no scrape path: its last segment does not begin with "
              "'announce' (BEP 48)");
    }
    req.resize(len);
    const std::string body = HttpExchange(target, req);
    auto r = std::make_unique<http::ScrapeResponse>();
    if (http::ParseScrapeResponse(
            {reinterpret_cast<const uint8_t*>(body.data()), body.size()},
            r.get()) != http::ReplyError::kNone) {
      Die(kExitRuntimeFailure, "the tracker's reply is not a bencoded "
                               "scrape reply");
    }
    if (!r->failure_reason.empty()) TrackerError(r->failure_reason);
    // BEP 48 keys files by hash and may leave out torrents it does not
    // know; a UDP tracker answers those with zeros. Printed alike: one line
    // per hash asked, zeros for one the reply leaves out.
    for (size_t i = 0; i < names.size(); ++i) {
      for (size_t f = 0; f < r->file_count; ++f) {
        if (std::equal(r->files[f].info_hash.bytes.begin(),
                       r->files[f].info_hash.bytes.end(),
                       flat.begin() + i * kInfoHashSize)) {
          counts[i] = {Count(r->files[f].complete),
                       Count(r->files[f].downloaded),
                       Count(r->files[f].incomplete)};
        }
      }
    }
    PrintScrapeReply(counts, names);
    return kExitOk;
  }
  Session s(target);
  const uint64_t cid = s.Connect();
  const uint32_t tid = RandomU32();
  std::vector<uint8_t> req(protocol::kScrapeRequestHeaderSize + flat.size());
  protocol::WriteScrapeRequest(req, cid, tid, flat);
  s.reply_ = s.Exchange(req, tid);
  const protocol::Response r = s.Parse();
  if (r.action != protocol::Action::kScrape) {
    Die(kExitRuntimeFailure, "unexpected reply");
  }
  for (size_t i = 0; i < r.scrape.entry_count() && i < counts.size(); ++i) {
    const protocol::ScrapeEntry e = r.scrape.entry(i);
    counts[i] = {e.seeders, e.completed, e.leechers};
  }
  PrintScrapeReply(counts, names);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "curl for UDP (BEP 15) and HTTP (BEP 3, BEP 48) trackers.\n"
      "  ringtrack-cli announce URL --info-hash HEX [--event E] [--left N] "
      "[--port N] [--numwant N]\n"
      "  ringtrack-cli scrape URL HEX...\n"
      "  ringtrack-cli connect URL\n"
      "URL is udp://HOST:PORT[/path], http://HOST[:PORT]/announce or "
      "HOST:PORT (UDP); [V6] for an IPv6 host. --json prints the reply as "
      "JSON.\n"
      "Exit codes: 0 answered, 1 failed (tracker error, timeout, refused), "
      "2 bad arguments.");
  ringtrack::HelpShowsFlagsFrom("tools/cli_main.cc",
                                "ringtrack-cli " RINGTRACK_VERSION);
  std::deque<std::string> storage;
  std::vector<char*> args = ringtrack::NormalizeFlags(argc, argv, {}, &storage);
  std::vector<char*> pos = ringtrack::ParseCommandLineOrExit(args);
  if (pos.size() < 3) {
    Die(kExitBadUsage,
        "usage: ringtrack-cli announce|scrape|connect URL ... (--help)");
  }
  const std::string cmd = pos[1];
  absl::StatusOr<TrackerTarget> target = ResolveTarget(pos[2]);
  if (!target.ok()) {
    Die(absl::IsUnavailable(target.status()) ? kExitRuntimeFailure
                                              : kExitBadUsage,
        std::string(target.status().message()));
  }
  if (cmd == "announce") return Announce(*target);
  if (cmd == "scrape") {
    return Scrape(*target, std::vector<char*>(pos.begin() + 3, pos.end()));
  }
  if (cmd == "connect") {
    if (target->http()) {
      Die(kExitBadUsage,
          "connect is a UDP exchange (BEP 15); an http:// tracker has none");
    }
    Session s(*target);
    // Hex, as a string in JSON: 64 bits do not survive a JSON number.
    std::printf(absl::GetFlag(FLAGS_json)
                    ? "{\"action\":\"connect\",\"connection_id\":\"%016llx\"}\n"
                    : "connection_id: %016llx\n",
                static_cast<unsigned long long>(s.Connect()));
    return kExitOk;
  }
  Die(kExitBadUsage, "unknown command '" + cmd + "' (announce, scrape or connect)");
}

// ringtrack-cli: curl for UDP trackers. Connects, announces or scrapes, and
// prints the decoded reply. Uses core/'s codec for every byte on the wire.
//
//   ringtrack-cli announce udp://host:port/announce --info-hash HEX
//       [--event started|completed|stopped|none] [--left N] [--port N]
//       [--numwant N]
//   ringtrack-cli scrape udp://host:port/announce HEX...
//   ringtrack-cli connect udp://host:port
// With --json the reply is printed as one JSON object on one line.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/cli/command_line.h"
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

uint32_t RandomU32() {
  uint32_t v = 0;
  while (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
  }
  return v;
}

class Session {
 public:
  explicit Session(const TrackerTarget& t) : target_(t) {
    fd_ = socket(t.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) Die(kExitRuntimeFailure, "socket: " + std::string(strerror(errno)));
    BindLocal(absl::GetFlag(FLAGS_bind), t.addr.ss_family);
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

  void BindLocal(const std::string& ip, int family) {
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
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0) {
      Die(kExitRuntimeFailure, "--bind " + ip + ": " + std::string(strerror(errno)));
    }
  }

  // Exits naming what socket error `err` means for the exchange.
  [[noreturn]] void FailOnSocketError(int err) const {
    if (err == ECONNREFUSED) {
      Die(kExitRuntimeFailure,
          "connection refused: nothing listens on " + target_.text +
              " (the host answered ICMP port unreachable)");
    }
    Die(kExitRuntimeFailure, target_.text + ": " + std::string(strerror(err)));
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
    if (r.action == protocol::Action::kError) {
      if (absl::GetFlag(FLAGS_json)) {
        std::printf("{\"action\":\"error\",\"message\":%s}\n",
                    JsonQuote(r.error.message).c_str());
      } else {
        std::printf("tracker error: %s\n", std::string(r.error.message).c_str());
      }
      std::exit(kExitRuntimeFailure);
    }
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

void PrintAnnounceReply(const protocol::AnnounceResponse& a) {
  if (absl::GetFlag(FLAGS_json)) {
    std::string peers;
    for (size_t i = 0; i < a.peer_count(); ++i) {
      const PeerEndpoint p = a.peer(i);
      absl::StrAppendFormat(&peers, "%s{\"ip\":\"%s\",\"port\":%d}",
                            i == 0 ? "" : ",", PeerIp(p), p.port);
    }
    std::printf(
        "{\"action\":\"announce\",\"interval\":%u,\"seeders\":%u,"
        "\"leechers\":%u,\"peers\":[%s]}\n",
        a.interval, a.seeders, a.leechers, peers.c_str());
    return;
  }
  std::printf("interval: %u s\nseeders: %u\nleechers: %u\npeers: %zu\n",
              a.interval, a.seeders, a.leechers, a.peer_count());
  for (size_t i = 0; i < a.peer_count(); ++i) {
    std::printf("  %s\n", FormatPeer(a.peer(i)).c_str());
  }
}

// `names` are the info hashes asked for, in the request's order.
void PrintScrapeReply(const protocol::ScrapeResponse& s,
                      const std::vector<std::string>& names) {
  const bool json = absl::GetFlag(FLAGS_json);
  std::string files;
  for (size_t i = 0; i < s.entry_count() && i < names.size(); ++i) {
    const protocol::ScrapeEntry e = s.entry(i);
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

  Session s(target);
  a.connection_id = s.Connect();
  a.transaction_id = RandomU32();
  a.info_hash = *hash;
  std::copy(peer_id.begin(), peer_id.end(), a.peer_id.begin());
  a.left = absl::GetFlag(FLAGS_left);
  a.num_want = absl::GetFlag(FLAGS_numwant);
  a.port = static_cast<uint16_t>(port);
  a.key = RandomU32();
  std::vector<uint8_t> req(protocol::kAnnounceRequestSize);
  protocol::WriteAnnounceRequest(req, a);
  s.reply_ = s.Exchange(req, a.transaction_id);
  const protocol::Response r = s.Parse();
  if (r.action != protocol::Action::kAnnounce) {
    Die(kExitRuntimeFailure, "unexpected reply");
  }
  PrintAnnounceReply(r.announce);
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
  // request that fits a 1500-byte MTU), so the rest would go unanswered
  // without a word.
  if (names.size() > protocol::kMaxScrapeHashes) {
    Warn(absl::StrFormat(
        "a scrape carries at most %d info hashes (BEP 15); scraping the "
        "first %d of %d",
        protocol::kMaxScrapeHashes, protocol::kMaxScrapeHashes, names.size()));
    names.resize(protocol::kMaxScrapeHashes);
    flat.resize(protocol::kMaxScrapeHashes * kInfoHashSize);
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
  PrintScrapeReply(r.scrape, names);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "curl for UDP trackers (BEP 15).\n"
      "  ringtrack-cli announce URL --info-hash HEX [--event E] [--left N] "
      "[--port N] [--numwant N]\n"
      "  ringtrack-cli scrape URL HEX...\n"
      "  ringtrack-cli connect URL\n"
      "URL is udp://HOST:PORT[/path] or HOST:PORT. --json prints the reply "
      "as JSON.\n"
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
  if (target->http()) {
    Die(kExitBadUsage, "http:// trackers are not spoken yet: use udp://");
  }
  if (cmd == "announce") return Announce(*target);
  if (cmd == "scrape") {
    return Scrape(*target, std::vector<char*>(pos.begin() + 3, pos.end()));
  }
  if (cmd == "connect") {
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

// The reference server for the announces/s benchmark: answers connect,
// announce and scrape with no state at all (a fixed connection ID, zero
// counts, min(numwant, 50) made-up peers so replies are as large as a
// tracker's), from one thread with recvmmsg/sendmmsg batches of 64 and the
// same socket options as ringtrackd (DF on IPv4 replies).
// What it costs per response is what the kernel and the syscalls alone
// cost on this machine; ringtrackd is measured against it.
//   stateless_responder HOST:PORT
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/io/batch_io.h"
#include "core/udp/protocol.h"
#include "core/udp/udp_tracker.h"

namespace {

constexpr int kBatch = 64;
volatile sig_atomic_t g_stop = 0;

size_t Answer(std::span<const uint8_t> in, std::span<uint8_t> out) {
  using namespace ringtrack::protocol;
  Request r;
  const ParseError e = ParseRequest(in, &r);
  if (e != ParseError::kNone) return 0;
  switch (r.action) {
    case Action::kConnect:
      return WriteConnectResponse(out, r.connect.transaction_id,
                                  0x0123456789abcdefULL);
    case Action::kAnnounce: {
      // As many (made-up) peers as a tracker would return, so replies are
      // as large as ringtrackd's and only the state differs.
      const int32_t want = r.announce.num_want < 0 ? 50 : r.announce.num_want;
      const size_t peers = static_cast<size_t>(std::min(want, 50));
      size_t n = WriteAnnounceResponseHeader(out, r.announce.transaction_id,
                                             1800, 0, 0);
      for (size_t i = 0; i < peers; ++i) {
        n += WritePeerEntry(out.subspan(n),
                            ringtrack::PeerEndpoint::V4(
                                0x0a000001 + static_cast<uint32_t>(i), 6881));
      }
      return n;
    }
    case Action::kScrape: {
      size_t n = WriteScrapeResponseHeader(out, r.scrape.transaction_id);
      for (size_t i = 0; i < r.scrape.hash_count; ++i) {
        n += WriteScrapeEntry(out.subspan(n), 0, 0, 0);
      }
      return n;
    }
    default:
      return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: stateless_responder IPV4:PORT\n");
    return 2;
  }
  const std::string spec = argv[1];
  const size_t colon = spec.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port =
      htons(static_cast<uint16_t>(std::stoi(spec.substr(colon + 1))));
  if (colon == std::string::npos ||
      inet_pton(AF_INET, spec.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "stateless_responder: bad address %s\n", argv[1]);
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
  // As ringtrackd's sockets (daemon/net.cc): DF on, so the kernel skips its
  // IP ID generator; the reference must be as cheap as the socket path gets.
  const int probe = IP_PMTUDISC_PROBE;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("stateless_responder: bind");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::fprintf(stderr, "stateless_responder listening on %s\n", argv[1]);

  ringtrack::RecvBatch in(kBatch, 2048);
  ringtrack::SendBatch out(kBatch, ringtrack::kMaxUdpReplySize);
  while (!g_stop) {
    const int n = in.Receive(fd, MSG_WAITFORONE);
    for (int i = 0; i < n; ++i) {
      const std::span<uint8_t> reply = out.buffer();
      const size_t len = Answer(in.data(i), reply);
      if (len > 0) out.Push(reply.first(len), in.from(i), in.from_len(i));
    }
    out.Flush(fd, 0);
  }
  close(fd);
  return 0;
}

// The reference server for the HTTP benchmark (bench/http_bench.sh): it
// accepts, reads a request head, writes a fixed announce reply of the size
// a tracker's is (a bencoded dictionary with 50 compact IPv4 peers, as for
// numwant 50), and closes or keeps the connection alive as the request
// asks. It is ringtrackd's own server (daemon/server.h: the per-worker
// SO_REUSEPORT listeners, io_uring multishot accept and provided buffers,
// or epoll with --io mmsg, and the HttpConn connection machine) with the
// tracker taken out: daemon/http_fixed_responder.h answers every head. So
// what it costs per response is what the kernel's TCP work, the syscalls
// and the connection machinery cost: the limit for ringtrackd's HTTP.
//   stateless_http_responder IPV4:PORT [WORKERS [uring|mmsg]]
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/http_fixed_responder.h"
#include "daemon/server.h"

namespace {

constexpr int kPeers = 50;

// d8:completei1e10:incompletei1e8:intervali1800e12:min intervali900e
// 5:peers300:<50 × 6 bytes>e, the shape and size of ringtrackd's reply.
std::string AnnounceBody() {
  std::string peers;
  for (int i = 0; i < kPeers; ++i) {
    const uint32_t ip = 0x0a000001 + i;  // made up: 10.0.0.x:6881
    const char entry[6] = {char(ip >> 24), char(ip >> 16), char(ip >> 8),
                           char(ip),       char(6881 >> 8), char(6881 & 0xff)};
    peers.append(entry, 6);
  }
  return absl::StrCat("d8:completei1e10:incompletei1e8:intervali1800e",
                      "12:min intervali900e5:peers", peers.size(), ":", peers,
                      "e");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr,
                 "usage: stateless_http_responder IPV4:PORT [WORKERS "
                 "[uring|mmsg]]\n");
    return 2;
  }
  ringtrack::ServerConfig config;
  absl::StatusOr<ringtrack::ListenAddress> listen =
      ringtrack::ParseListenAddress(argv[1]);
  if (!listen.ok()) {
    std::fprintf(stderr, "stateless_http_responder: %s\n",
                 std::string(listen.status().message()).c_str());
    return 2;
  }
  config.listen.push_back(*listen);
  config.workers = argc >= 3 ? std::atoi(argv[2]) : 1;
  if (config.workers < 1 || config.workers > 64) {
    std::fprintf(stderr, "stateless_http_responder: WORKERS must be 1..64\n");
    return 2;
  }
  const std::string io = argc == 4 ? argv[3] : "uring";
  if (io != "uring" && io != "mmsg") {
    std::fprintf(stderr, "stateless_http_responder: io must be uring or mmsg\n");
    return 2;
  }
  config.io = io == "uring" ? ringtrack::IoMode::kUring : ringtrack::IoMode::kMmsg;
  config.stats_interval = absl::ZeroDuration();
  config.max_memory = size_t{64} << 20;  // the (unused) swarm table
  ringtrack::FixedHttpResponder responder(AnnounceBody());
  config.http_responder = &responder;

  // SIGTERM and SIGINT end the run: wait for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // threads inherit it

  absl::StatusOr<std::unique_ptr<ringtrack::Server>> server =
      ringtrack::Server::Create(config);
  if (!server.ok()) {
    std::fprintf(stderr, "stateless_http_responder: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  (*server)->Start();
  std::fprintf(stderr,
               "stateless_http_responder listening on %s, %d worker(s), io %s\n",
               argv[1], config.workers, io.c_str());
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (void)(*server)->Stop();
  return 0;
}

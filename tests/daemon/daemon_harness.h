// Test helpers that run the real ringtrackd binary and talk BEP 15 to it
// over real UDP sockets on loopback, using core/'s codec.
#ifndef RINGTRACK_TESTS_DAEMON_DAEMON_HARNESS_H_
#define RINGTRACK_TESTS_DAEMON_DAEMON_HARNESS_H_

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/udp/protocol.h"
#include "core/base/types.h"

namespace ringtrack::testing {

// A running ringtrackd. The constructor starts it with `args` (plus
// --stats_interval=0 unless given) and waits for its start line; the
// destructor sends SIGTERM and reaps it.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> args);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool started() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& start_line() const { return start_line_; }
  // Sends `sig`, waits up to `timeout` for exit. Returns the exit status
  // (as from waitpid) or nullopt on timeout.
  std::optional<int> Stop(int sig, std::chrono::milliseconds timeout);
  // Everything the daemon wrote to stderr so far.
  std::string Log() const;
  // key=value pairs of the last "final" stats line (after Stop()). The
  // line leaves out what is zero: read a key with operator[] (0 when
  // absent), not at(). Empty when there is no final line.
  std::map<std::string, uint64_t> FinalStats() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  uint16_t port_ = 0;
  std::string start_line_;
};

// Runs ringtrackd with `args` to completion (it must exit by itself), and
// returns its exit code; its stderr goes to *err.
int RunDaemonToExit(const std::vector<std::string>& args, std::string* err);

// A UDP client socket bound to `local_ip` (e.g. "127.0.0.5" or "::1") and
// connected to `server_ip` (default: loopback of that family), so it only
// receives replies sent from the address it sent to.
class Client {
 public:
  Client(const std::string& local_ip, uint16_t server_port,
         const std::string& server_ip = "");
  ~Client();
  AddressFamily family() const { return family_; }
  void Send(const std::vector<uint8_t>& datagram);
  // Waits up to `timeout` for one datagram; empty on timeout.
  std::vector<uint8_t> Receive(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  std::vector<uint8_t> Exchange(
      const std::vector<uint8_t>& datagram,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  // BEP 15 steps, asserting a well-formed reply of the expected action.
  uint64_t Connect();
  // Parses a copy of `reply` into *out; the response stays valid until the
  // next Parse() (it aliases that copy, not `reply`).
  bool Parse(const std::vector<uint8_t>& reply, protocol::Response* out);
  uint16_t local_port() const { return local_port_; }

 private:
  int fd_ = -1;
  AddressFamily family_;
  sockaddr_storage server_{};
  socklen_t server_len_ = 0;
  uint16_t local_port_ = 0;
  uint32_t next_tid_ = 1;
  std::vector<uint8_t> parsed_;  // what the last parsed response aliases
};

std::vector<uint8_t> AnnouncePacket(uint64_t connection_id, uint32_t tid,
                                    const InfoHash& hash, uint16_t port,
                                    protocol::Event event, uint64_t left,
                                    int32_t numwant = -1);
std::vector<uint8_t> ScrapePacket(uint64_t connection_id, uint32_t tid,
                                  const std::vector<InfoHash>& hashes);
InfoHash TestHash(uint32_t n);

}  // namespace ringtrack::testing

#endif  // RINGTRACK_TESTS_DAEMON_DAEMON_HARNESS_H_

#include "tests/daemon/daemon_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"

namespace ringtrack::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts ringtrackd with stderr to `log`. The child gets SIGTERM if the test
// process dies first (a crashed or aborted test leaves no daemon, nor an
// XDP attachment, behind).
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> copy = args;
  std::string bin = RINGTRACKD_PATH;
  std::vector<char*> argv;
  argv.push_back(bin.data());
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork for ringtrackd failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent is already gone
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int out = open("/dev/null", O_WRONLY);
    if (err < 0 || out < 0) _exit(127);
    dup2(err, 2);
    dup2(out, 1);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::string TempLogPath() {
  static int n = 0;
  return ::testing::TempDir() + "/ringtrackd_" + std::to_string(getpid()) +
         "_" + std::to_string(n++) + ".log";
}

}  // namespace

Daemon::Daemon(std::vector<std::string> args) {
  bool has_stats = false;
  for (const auto& a : args) has_stats |= a.starts_with("--stats_interval");
  if (!has_stats) args.push_back("--stats_interval=0");
  log_path_ = TempLogPath();
  pid_ = Spawn(args, log_path_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string log = ReadFile(log_path_);
    const size_t at = log.find("INFO ringtrackd ");
    if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
      start_line_ = log.substr(at, log.find('\n', at) - at);
      // listen=127.0.0.1:PORT,... — every address shares the first's port
      // when the tests ask for port 0 on one address.
      const size_t l = start_line_.find("listen=");
      const size_t colon = start_line_.find(' ', l);
      const std::string first = start_line_.substr(l + 7, colon - l - 7);
      const std::string addr = first.substr(0, first.find(','));
      port_ =
          static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "ringtrackd exited early:\n" << log;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "ringtrackd did not start:\n" << ReadFile(log_path_);
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    if (!Stop(SIGTERM, std::chrono::seconds(5))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::remove(log_path_.c_str());
}

std::optional<int> Daemon::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

std::string Daemon::Log() const { return ReadFile(log_path_); }

std::map<std::string, uint64_t> Daemon::FinalStats() const {
  std::map<std::string, uint64_t> out;
  const std::string log = Log();
  const size_t at = log.rfind("final ");
  if (at == std::string::npos) return out;
  std::istringstream in(log.substr(at + 6, log.find('\n', at) - at - 6));
  std::string kv;
  while (in >> kv) {
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) {
      out[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
    }
  }
  return out;
}

int RunDaemonToExit(const std::vector<std::string>& args, std::string* err) {
  const std::string log = TempLogPath();
  const pid_t pid = Spawn(args, log);
  int status = 0;
  waitpid(pid, &status, 0);
  *err = ReadFile(log);
  std::remove(log.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Client::Client(const std::string& local_ip, uint16_t server_port,
               const std::string& server_ip) {
  const bool v6 = local_ip.find(':') != std::string::npos;
  family_ = v6 ? AddressFamily::kV6 : AddressFamily::kV4;
  fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage local{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&local);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, local_ip.c_str(), &a->sin6_addr);
    auto* s = reinterpret_cast<sockaddr_in6*>(&server_);
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_loopback;
    if (!server_ip.empty()) inet_pton(AF_INET6, server_ip.c_str(), &s->sin6_addr);
    s->sin6_port = htons(server_port);
    len = server_len_ = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&local);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, local_ip.c_str(), &a->sin_addr);
    auto* s = reinterpret_cast<sockaddr_in*>(&server_);
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!server_ip.empty()) inet_pton(AF_INET, server_ip.c_str(), &s->sin_addr);
    s->sin_port = htons(server_port);
    len = server_len_ = sizeof(sockaddr_in);
  }
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), len) != 0) {
    throw std::runtime_error("bind client to " + local_ip);
  }
  // Connected, as libtorrent's tracker sockets are: the kernel then drops
  // any reply that does not come from the address we sent to.
  if (connect(fd_, reinterpret_cast<sockaddr*>(&server_), server_len_) != 0) {
    throw std::runtime_error("connect client from " + local_ip);
  }
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
  local_port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  int buf = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

void Client::Send(const std::vector<uint8_t>& d) {
  sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&server_),
         server_len_);
}

std::vector<uint8_t> Client::Receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  std::vector<uint8_t> buf(4096);
  const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) return {};
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::vector<uint8_t> Client::Exchange(const std::vector<uint8_t>& d,
                                      std::chrono::milliseconds timeout) {
  Send(d);
  return Receive(timeout);
}

uint64_t Client::Connect() {
  std::vector<uint8_t> req(protocol::kConnectRequestSize);
  const uint32_t tid = next_tid_++;
  protocol::WriteConnectRequest(req, tid);
  const std::vector<uint8_t> reply = Exchange(req);
  protocol::Response r;
  EXPECT_TRUE(Parse(reply, &r));
  EXPECT_EQ(r.action, protocol::Action::kConnect);
  EXPECT_EQ(r.transaction_id(), tid);
  return r.connect.connection_id;
}

bool Client::Parse(const std::vector<uint8_t>& reply,
                   protocol::Response* out) {
  parsed_ = reply;
  return !parsed_.empty() &&
         protocol::ParseResponse(parsed_, family_, out) ==
             protocol::ResponseParseError::kNone;
}

std::vector<uint8_t> AnnouncePacket(uint64_t cid, uint32_t tid,
                                    const InfoHash& hash, uint16_t port,
                                    protocol::Event event, uint64_t left,
                                    int32_t numwant) {
  protocol::AnnounceRequest a;
  a.connection_id = cid;
  a.transaction_id = tid;
  a.info_hash = hash;
  a.port = port;
  a.event = event;
  a.left = left;
  a.num_want = numwant;
  std::vector<uint8_t> b(protocol::kAnnounceRequestSize);
  protocol::WriteAnnounceRequest(b, a);
  return b;
}

std::vector<uint8_t> ScrapePacket(uint64_t cid, uint32_t tid,
                                  const std::vector<InfoHash>& hashes) {
  std::vector<uint8_t> flat;
  for (const auto& h : hashes) {
    flat.insert(flat.end(), h.bytes.begin(), h.bytes.end());
  }
  std::vector<uint8_t> b(16 + flat.size());
  protocol::WriteScrapeRequest(b, cid, tid, flat);
  return b;
}

InfoHash TestHash(uint32_t n) {
  InfoHash h;
  for (size_t i = 0; i < h.bytes.size(); ++i) {
    h.bytes[i] = static_cast<uint8_t>(n * 131 + i);
  }
  h.bytes[0] = static_cast<uint8_t>(n);
  h.bytes[1] = static_cast<uint8_t>(n >> 8);
  return h;
}

}  // namespace ringtrack::testing

// Replies leave from the address the request came to. A socket bound to a
// wildcard address (0.0.0.0 or ::) asks the kernel for each datagram's
// destination (IP_PKTINFO / IPV6_RECVPKTINFO); the reply carries it back as
// its source, so a client on a host with several addresses (and a
// connected socket, as libtorrent uses) sees the reply come from where it
// sent. Both io paths use these two functions.
#ifndef RINGTRACK_DAEMON_PKTINFO_H_
#define RINGTRACK_DAEMON_PKTINFO_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace ringtrack {

// Room for one received or sent pktinfo control message (either family).
inline constexpr size_t kPktInfoSpace = CMSG_SPACE(sizeof(in6_pktinfo));

// Asks the kernel to report each datagram's destination on `fd`.
absl::Status EnableDestinationInfo(int fd, int family);

// If `c` is a received IP_PKTINFO or IPV6_PKTINFO message, writes into `out`
// (kPktInfoSpace bytes, aligned for cmsghdr) the control message that sends
// a reply from that destination, and returns its length; otherwise 0.
size_t ReplyControlFrom(const cmsghdr* c, uint8_t* out);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_PKTINFO_H_

// Accepting downstream connections without asio's accept operation: one accept4() per
// connection (non-blocking and close-on-exec from the start), the client's address from accept
// itself and the local address from the listener when it is bound to one address. asio's path
// costs a getpeername() and a getsockname() per connection on top (peer_from_socket), which at
// tens of thousands of short connections per second is measurable.
//
// Worker thread; no allocation, errors as errno values.
#pragma once

#include "net/connect.h"
#include "net/sockaddr.h"

namespace ferry::proxy {

// What a listener knows about the local end of every connection it accepts.
struct ListenerAddr {
  SockAddr local{};        // the listener's own address (getsockname once)
  bool wildcard = true;    // bound to 0.0.0.0 / :: : each connection's local address differs
};

// Reads the listener's address (one getsockname). False: not a socket we can use.
bool listener_addr(int listen_fd, ListenerAddr& out);

// Accepts one pending connection of the non-blocking listener `listen_fd`. 0: `fd` is the new
// connected socket (non-blocking, owned by the caller) and `peer` its addresses (`client` and
// `socket` the real peer, `local` where it connected to). Else the errno: EAGAIN when none is
// pending; ECONNABORTED/EINTR are worth an immediate retry; EMFILE/ENFILE/ENOBUFS/ENOMEM mean
// back off.
int accept_one(int listen_fd, const ListenerAddr& listener, int& fd, PeerInfo& peer);

// Gives an accepted `fd` to `sock` (which takes ownership, also on failure). asio treats an
// assigned descriptor as one that may have been dup()ed: it sets it non-blocking again with an
// ioctl before the first operation and removes it from epoll with an epoll_ctl before close().
// An fd from accept_one() is fresh and already non-blocking, and Ferry never duplicates one, so
// both system calls are skipped: the state asio keeps for the socket says so (through its
// protected implementation, asio 1.22's reactive socket service). False: the assign failed.
bool adopt_accepted(tcp::socket& sock, int fd, bool v6);

}  // namespace ferry::proxy

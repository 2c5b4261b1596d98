// Tells asio's reactor that a plain socket is drained, so that the next read waits for the
// socket's next EPOLLIN edge instead of first trying a recv() that fails with EAGAIN.
//
// Why: asio 1.22 (Debian 12) tries every read speculatively before queueing it, and stops
// only after a read that returned end of stream. A proxy reads the next request right after
// answering one, and the upstream's answer right after sending a request: both reads find
// nothing yet. Measured with in-kernel counters (`perf stat -e syscalls:sys_exit_recvfrom`
// filtered on EAGAIN) under wrk -c32 keep-alive: 4.0 recvfrom per request, 2.0 of them
// failing, where HAProxy makes 2.0 and none fail.
//
// The mark is the reactor's own per-socket flag (the one it clears after an end of stream
// and sets on every readiness event), so any edge after the mark re-enables speculative
// reads: nothing is lost as long as the mark is set when the socket had no unread bytes and
// no pending end of stream, and no readiness event for it has been handled since. Hence the
// conditions of mark_drained (Stream::read_done is its one caller): a read that waited in the
// reactor, came back short, and whose readiness event carried no EPOLLRDHUP (the peer's FIN
// arrives with an edge of its own only when it comes after that event; one that came before
// rides on it, unread). HAProxy reads the same flag from its poller.
//
// The flag, the reactor's queues and the event mask are asio-internal and reached here only;
// where this asio build has no epoll reactor of the known layout every call does nothing
// (available() says which; a unit test requires it here).
//
// Worker thread only (the thread that runs the socket's io_context).
#pragma once

#include "net/asio_util.h"

namespace ferry::proxy::read_hint {

// True when the hint works in this build (asio 1.22's epoll reactor).
bool available();

// Adds EPOLLRDHUP to the events the reactor watches on `s` (one epoll_ctl, the first time):
// mark_drained needs it. False when the socket is not registered or the call failed.
bool watch_hangup(tcp::socket& s);

// True when a read operation waits in the reactor for `s` (called right after starting one:
// false means it completed at once and its handler was posted).
bool read_queued(tcp::socket& s);

// Marks `s` drained, unless the hang-up is not watched (watch_hangup) or the readiness event
// being handled carries the peer's end of stream. Only in the handler of a read that
// read_queued() said waited in the reactor, that returned fewer bytes than asked (its recv
// found the queue empty), and while no other operation was pending on the socket: the reactor
// then ran that handler directly after the recv, with no readiness event handled in between.
void mark_drained(tcp::socket& s);

// Whether the reactor will try the next read on `s` with a recv() before queueing it
// (true on a new socket and after every readiness event; false once marked drained).
bool will_try_read(tcp::socket& s);

}  // namespace ferry::proxy::read_hint

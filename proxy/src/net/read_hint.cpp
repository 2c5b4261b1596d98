#include "net/read_hint.h"

#include <asio/version.hpp>
#include <sys/epoll.h>

#include <cstdint>

// The layout this relies on: asio 1.22's epoll_reactor (its epoll descriptor), its
// descriptor_state (try_speculative_, registered_events_, op_queue_, and the event mask it
// was run with, task_result_), and basic_socket::impl_ (its reactor_data_). Another asio
// builds the no-op fallback.
#if ASIO_VERSION == 102201 && defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#define FERRY_READ_HINT 1
#include <asio/detail/epoll_reactor.hpp>
#endif

namespace ferry::proxy::read_hint {

#ifdef FERRY_READ_HINT
namespace {

using Reactor = asio::detail::epoll_reactor;
using State = Reactor::descriptor_state;
using Operation = asio::detail::scheduler_operation;
using Flags = bool[Reactor::max_ops];
using Queues = asio::detail::op_queue<asio::detail::reactor_op>[Reactor::max_ops];

// basic_socket::impl_ is protected: a derived class may name it.
struct SocketAccess : tcp::socket {
  static State* state(tcp::socket& s) { return (s.*(&SocketAccess::impl_)).get_implementation().reactor_data_; }
};

// The reactor's members are private: an explicit instantiation may name them
// ([temp.spec.general]: access is not checked there) and hand them out through friends.
Flags State::*speculative();
uint32_t State::*registered();
Queues State::*queues();
Reactor* State::*reactor();
int Reactor::*epoll_fd();
unsigned int Operation::*events();
template <Flags State::*F, uint32_t State::*R, Queues State::*Q, Reactor* State::*P, int Reactor::*E,
          unsigned int Operation::*V>
struct Reach {
  friend Flags State::*speculative() { return F; }
  friend uint32_t State::*registered() { return R; }
  friend Queues State::*queues() { return Q; }
  friend Reactor* State::*reactor() { return P; }
  friend int Reactor::*epoll_fd() { return E; }
  friend unsigned int Operation::*events() { return V; }
};
template struct Reach<&State::try_speculative_, &State::registered_events_, &State::op_queue_, &State::reactor_,
                      &Reactor::epoll_fd_, &Operation::task_result_>;

State* state_of(tcp::socket& s) { return s.is_open() ? SocketAccess::state(s) : nullptr; }

// descriptor_state derives privately from the scheduler's operation; a C-style cast may
// convert to an inaccessible base ([expr.cast]), and that base holds the readiness event
// mask the reactor is handling for the descriptor.
uint32_t current_events(State* d) { return ((Operation*)d)->*events(); }  // NOLINT(google-readability-casting)

}  // namespace

bool available() { return true; }

bool watch_hangup(tcp::socket& s) {
  State* d = state_of(s);
  if (!d || d->*registered() == 0) return false;
  if (d->*registered() & EPOLLRDHUP) return true;
  epoll_event ev{};
  ev.events = d->*registered() | EPOLLRDHUP;
  ev.data.ptr = d;
  if (::epoll_ctl((d->*reactor())->*epoll_fd(), EPOLL_CTL_MOD, s.native_handle(), &ev) != 0) return false;
  d->*registered() = ev.events;  // asio's later modifications (EPOLLOUT) keep it
  return true;
}

bool read_queued(tcp::socket& s) {
  State* d = state_of(s);
  return d && !(d->*queues())[Reactor::read_op].empty();
}

void mark_drained(tcp::socket& s) {
  State* d = state_of(s);
  if (!d || !(d->*registered() & EPOLLRDHUP)) return;  // a pending end of stream would go unseen
  if (current_events(d) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) return;  // it is there: read it
  (d->*speculative())[Reactor::read_op] = false;
}

bool will_try_read(tcp::socket& s) {
  State* d = state_of(s);
  return !d || (d->*speculative())[Reactor::read_op];
}

#else

bool available() { return false; }
bool watch_hangup(tcp::socket&) { return false; }
bool read_queued(tcp::socket&) { return false; }
void mark_drained(tcp::socket&) {}
bool will_try_read(tcp::socket&) { return true; }

#endif

}  // namespace ferry::proxy::read_hint

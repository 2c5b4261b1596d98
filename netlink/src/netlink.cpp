#include "ferry/netlink/netlink.h"

#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cstring>

namespace ferry::netlink {

bool probe_route_socket(std::string& error) {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) {
    error = "nl_socket_alloc failed";
    return false;
  }
  int rc = nl_connect(sock, NETLINK_ROUTE);
  if (rc < 0) error = nl_geterror(rc);
  nl_socket_free(sock);
  return rc >= 0;
}

}  // namespace ferry::netlink

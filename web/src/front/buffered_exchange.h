// One complete admin request run through the existing POCO handlers without a socket: the
// front has read the head and the whole body, the handler gets a Poco HTTPServerRequest whose
// stream() is that body, and writes into a Poco HTTPServerResponse that buffers the response
// (head and body) for the front to send. Private to web/.
//
// The response follows Poco's HTTPServerResponseImpl: HEAD, 1xx, 204 and 304 answers have no
// body; a declared Content-Length is the body's length (a longer body is cut, a shorter one
// closes the connection after it); a chunked response is chunk-encoded; with neither, the body
// ends with the connection. Bodies above 64 MiB become a 500.
//
// Thread: run_request() on a handler-pool thread; the objects live for one call.
#pragma once

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/SocketAddress.h>

#include <string>

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}

namespace ferry::web::front {

struct PendingRequest {
  Poco::Net::HTTPRequest head;  // parsed; a chunked body already decoded (Content-Length set)
  std::string body;             // the whole body
  Poco::Net::SocketAddress client, server;
  bool secure = false;          // came over TLS
  bool keep_alive = true;       // the front allows another request on this connection
};

struct Reply {
  std::string bytes;  // the complete response (head and body)
  bool keep_alive = false;
};

// Creates the handler with `factory` and runs it; exceptions become a 500 when nothing was
// sent yet. Never throws.
Reply run_request(Poco::Net::HTTPRequestHandlerFactory& factory, PendingRequest& request);

}  // namespace ferry::web::front

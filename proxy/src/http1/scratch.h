// Per-request working memory of an HTTP/1 session (parsed heads, serialised heads, retry
// bookkeeping). A session borrows one from its worker when a request starts arriving and
// gives it back when the connection goes idle, so idle keep-alive connections hold none and
// busy ones reuse warmed-up capacity instead of allocating per request. Worker thread only.
#pragma once

#include <string>
#include <vector>

#include "http1/parser.h"

namespace ferry::proxy::http1 {

struct RequestScratch {
  RequestHead req;            // the parsed request head (views into the session buffer)
  ResponseHead resp;          // the parsed response head (views into the upstream buffer)
  std::string head;           // the serialised upstream request head
  std::string out;            // the serialised downstream response head
  std::vector<bool> tried;    // servers tried for this request
};

}  // namespace ferry::proxy::http1

#include "http/message.h"

namespace ferry::proxy::http {

void RequestHead::clear() {
  method = {};
  target = {};
  path = {};
  authority = {};
  minor = 1;
  headers.clear();
  framing = Framing::none;
  content_length = 0;
  host = {};
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  head_size = 0;
}

void ResponseHead::clear() {
  status = 0;
  minor = 1;
  reason = {};
  headers.clear();
  framing = Framing::none;
  content_length = 0;
  keep_alive = true;
  head_size = 0;
}

}  // namespace ferry::proxy::http

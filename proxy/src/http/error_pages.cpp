#include "http/error_pages.h"

namespace ferry::proxy {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 401: return "Unauthorized";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status >= 200 && status < 300 ? "OK" : status >= 300 && status < 400 ? "Redirect" : "Error";
  }
}

std::string error_body(int status, std::string_view detail) {
  std::string body = std::to_string(status);
  body += ' ';
  body += reason_phrase(status);
  body += '\n';
  if (!detail.empty()) {
    body += detail;
    body += '\n';
  }
  return body;
}

namespace {

std::string response(int status, std::string_view content_type, std::string_view body, std::string_view request_id,
                     bool close, std::string_view extra_headers, bool head = false) {
  const bool bodiless = status == 204 || status == 304;
  std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
  r += reason_phrase(status);
  r += "\r\n";
  if (!content_type.empty()) {
    r += "Content-Type: ";
    r += content_type;
    r += "\r\n";
  }
  r += "Cache-Control: no-store\r\n";
  if (!bodiless) {
    r += "Content-Length: ";
    r += std::to_string(body.size());
    r += "\r\n";
  }
  if (!request_id.empty()) {
    r += "Ferry-Request-Id: ";
    r += request_id;
    r += "\r\n";
  }
  if (close) r += "Connection: close\r\n";
  r += extra_headers;
  r += "\r\n";
  if (!head && !bodiless) r += body;
  return r;
}

}  // namespace

std::string error_response(int status, std::string_view detail, std::string_view request_id, bool close,
                           std::string_view extra_headers) {
  return response(status, "text/plain; charset=utf-8", error_body(status, detail), request_id, close, extra_headers);
}

std::string local_response(int status, std::string_view content_type, std::string_view body, bool close,
                           std::string_view extra_headers, bool head) {
  return response(status, content_type, body, {}, close, extra_headers, head);
}

}  // namespace ferry::proxy

#include "console_routes.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "console_assets.h"
#include "route_table.h"

namespace ferry::web {

namespace {

constexpr const char* kConsolePrefix = "/console/";

// Headers every console response carries (also its 404s and 304s).
void security_headers(Poco::Net::HTTPServerResponse& resp) {
  resp.set("Content-Security-Policy", kConsoleCsp);
  resp.set("X-Content-Type-Options", "nosniff");
  resp.set("Referrer-Policy", "no-referrer");
  resp.set("X-Frame-Options", "DENY");
}

std::string fnv_etag(const unsigned char* data, std::size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

// True (and a 304 sent) when the client's If-None-Match names `etag`.
bool not_modified(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
                  const std::string& etag) {
  const std::string& inm = req.get("If-None-Match", "");
  if (inm.empty() || inm.find(etag) == std::string::npos) return false;
  resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
  resp.set("ETag", etag);
  resp.setContentLength(0);
  resp.send();
  return true;
}

// One embedded file with its precomputed ETag; `cache` is the Cache-Control value.
struct Served {
  const console::Asset* asset;
  std::string etag;
};

void send_asset(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
                const Served& s, const char* cache) {
  security_headers(resp);
  resp.set("Cache-Control", cache);
  if (not_modified(req, resp, s.etag)) return;
  resp.set("ETag", s.etag);
  resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  resp.setContentType(s.asset->content_type);
  resp.sendBuffer(s.asset->data, s.asset->size);
}

void send_not_found(Poco::Net::HTTPServerResponse& resp, const std::string& message) {
  security_headers(resp);
  resp.set("Cache-Control", "no-cache");
  send_json_error(resp, 404, message);
}

}  // namespace

void register_console_routes(RouteTable& routes) {
  // The table is immutable data; ETags are computed once here, on the control thread.
  auto served = std::make_shared<std::vector<Served>>();
  for (std::size_t i = 0; i < console::kAssetCount; ++i) {
    const console::Asset& a = console::kAssets[i];
    served->push_back({&a, fnv_etag(a.data, a.size)});
  }
  auto find = [served](const std::string& rel) -> const Served* {
    for (const Served& s : *served)
      if (rel == s.asset->path) return &s;
    return nullptr;
  };

  // index.html is the shell: always revalidated (a new ferryd may ship new assets).
  Handler index = [find](const RequestContext&, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
    const Served* s = find("index.html");
    if (!s) return send_not_found(resp, "console not built into this ferryd");
    send_asset(req, resp, *s, "no-cache");
  };

  // Assets are revalidated too (their URLs carry no version), cheaply by ETag.
  Handler asset = [find](const RequestContext&, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
    std::string path = Poco::URI(req.getURI()).getPath();
    std::string rel = path.substr(std::string(kConsolePrefix).size());
    const Served* s = find(rel);  // exact names only: no file system access, no traversal
    if (!s) return send_not_found(resp, "no console file " + path);
    send_asset(req, resp, *s, "no-cache");
  };

  // Chart.js from Debian's libjs-chart.js, read per request (small, and the package may be
  // installed or upgraded while ferryd runs). ETag from size and mtime.
  Handler chart = [](const RequestContext&, Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) {
    for (const char* p : kChartJsPaths) {
      struct stat st {};
      if (::stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
      security_headers(resp);
      resp.set("Cache-Control", "no-cache");
      std::string etag = "\"" + std::to_string(static_cast<long long>(st.st_size)) + "-" +
                         std::to_string(static_cast<long long>(st.st_mtime)) + "\"";
      if (not_modified(req, resp, etag)) return;
      std::ifstream in(p, std::ios::binary);
      if (!in.is_open()) continue;  // unreadable: try the next, else 404
      std::ostringstream body;
      body << in.rdbuf();
      std::string b = body.str();
      resp.set("ETag", etag);
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
      resp.setContentType("text/javascript; charset=utf-8");
      resp.sendBuffer(b.data(), b.size());
      return;
    }
    send_not_found(resp, "Chart.js not installed: apt install libjs-chart.js");
  };

  for (const char* method : {"GET", "HEAD"}) {
    routes.add(Route{method, "/", Access::open, index});
    routes.add(Route{method, "/index.html", Access::open, index});
    routes.add(Route{method, std::string(kConsolePrefix) + "*", Access::open, asset});
    routes.add(Route{method, "/vendor/chart.js", Access::open, chart});
  }
}

}  // namespace ferry::web

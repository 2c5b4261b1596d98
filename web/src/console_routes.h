// The console's routes on the admin listener: GET / (index.html), GET /console/* (the embedded
// assets) and GET /vendor/chart.js (Debian's libjs-chart.js, read from disk at request time).
// All Access::open: the shell is public, its data comes from authenticated API calls.
// Private to web/; called by the AdminServer constructor (control thread, before start()).
#pragma once

#include <string>

namespace ferry::web {

class RouteTable;

// Where /vendor/chart.js comes from: the first of these that exists (the UMD builds shipped by
// Debian 12's libjs-chart.js 3.9). A missing file answers 404; the console then says so.
inline constexpr const char* kChartJsPaths[] = {
    "/usr/share/javascript/chart.js/chart.umd.js",
    "/usr/share/javascript/chart.js/chart.min.js",
    "/usr/share/javascript/chart.js/chart.js",
};

// The Content-Security-Policy of every console response.
inline constexpr const char* kConsoleCsp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'";

void register_console_routes(RouteTable& routes);

}  // namespace ferry::web

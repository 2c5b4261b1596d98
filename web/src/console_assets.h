// The console's static files (web/console/*), embedded into ferryd at build time by
// web/cmake/embed_console.cmake (the generated console_assets.cpp in the build tree).
// Private to web/. Immutable data with static storage: any thread may read it.
#pragma once

#include <cstddef>
#include <string_view>

namespace ferry::web::console {

struct Asset {
  const char* path;          // relative to web/console: "index.html", "js/app.js"
  const char* content_type;  // "text/javascript; charset=utf-8", ...
  const unsigned char* data;
  std::size_t size;
};

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

// The asset at `path` (relative, no leading '/'), or nullptr.
inline const Asset* find_asset(std::string_view path) {
  for (std::size_t i = 0; i < kAssetCount; ++i)
    if (path == kAssets[i].path) return &kAssets[i];
  return nullptr;
}

}  // namespace ferry::web::console

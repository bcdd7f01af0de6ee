#pragma once

#include <map>
#include <string>

namespace zinc {
namespace canvas {

// The page's files (examples/canvas/web), embedded in the binary at build time by
// cmake/embed.cmake: URL path ("/app.js", "/index.html", and "/" for index.html) → content.
// Defined in the generated canvas_web_assets.cpp. Thread-safe (built on first use, then only
// read).
const std::map<std::string, std::string>& WebAssets();

}  // namespace canvas
}  // namespace zinc

#pragma once

// JSON helpers shared by the document types and the canvas gateway (examples/canvas).

#include <string_view>

namespace zinc {
namespace internal {

// Whether text nests JSON arrays and objects deeper than max_depth (strings are skipped). The
// types check this before parsing or rendering JSON: nlohmann's parser destructor and
// serializer recurse, so a value of 100,000 nested arrays (which a peer can store, since map
// values are bytes) would overflow the stack.
inline bool JsonNestsDeeperThan(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace internal
}  // namespace zinc

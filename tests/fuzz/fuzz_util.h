#pragma once

// What the fuzz targets share (docs/fuzzing.md): how an input is cut into parts, and how a
// broken invariant is reported.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zinc {
namespace fuzz {

// The separator between the parts of a multi-part input (a snapshot and fragments, a series of
// frames). The bytes 0xff and 0xfe never occur in UTF-8, so that a text, a JSON edit or a
// snapshot of text never holds it; make_corpus.cpp writes the seeds with it, and the
// dictionaries (tests/fuzz/dict) hand it to libFuzzer's mutations.
inline constexpr std::string_view kPartSeparator = "\xff\xfe";

// Cuts data at each kPartSeparator into at most max_parts parts (the last one keeps the rest).
inline std::vector<std::string_view> SplitParts(const uint8_t* data, size_t size,
                                                size_t max_parts) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = in.find(kPartSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(in);
  return parts;
}

// The reverse of SplitParts, for the corpus generator.
inline std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(kPartSeparator);
    out.append(parts[i]);
  }
  return out;
}

// Stops the process when an invariant the code promises does not hold: libFuzzer reports the
// abort as a crash and keeps the input that caused it.
inline void Expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}

// The same with the Status that went wrong.
inline void ExpectOk(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "fuzz: invariant broken: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

}  // namespace fuzz
}  // namespace zinc

#pragma once

// Editing traces in the format of ../shared/traces (josephg/editing-traces, "sequential"):
// gzipped JSON {"startContent","endContent","txns":[{"patches":[[pos,del,"ins"],...]}]}, with
// positions and counts in Unicode code points.

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace zinc {

struct TracePatch {
  uint64_t pos = 0;
  uint64_t del = 0;
  std::string ins;
};

struct Trace {
  std::string start_content;
  std::string end_content;
  size_t transactions = 0;
  // Every patch of every transaction, in order.
  std::vector<TracePatch> patches;
};

// Reads a trace from a .json.gz (or plain .json) file. Returns kNotFound if it cannot be opened,
// kMalformed for anything not in the format.
Result<Trace> ReadTrace(const std::string& path);

}  // namespace zinc

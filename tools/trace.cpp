#include "tools/trace.h"

#include <zlib.h>

#include <nlohmann/json.hpp>

namespace zinc {

namespace {

// Reads the whole file, gunzipping it if it is gzipped (zlib reads plain files as they are).
Result<std::string> ReadGz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status(StatusCode::kNotFound, "cannot open " + path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  const bool failed = n < 0;
  gzclose(f);
  if (failed) return Status(StatusCode::kMalformed, path + ": not a readable gzip file");
  return out;
}

}  // namespace

Result<Trace> ReadTrace(const std::string& path) {
  Result<std::string> text = ReadGz(path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  const Status bad(StatusCode::kMalformed, path + ": not an editing trace");
  if (!j.is_object() || !j.contains("txns") || !j["txns"].is_array()) return bad;
  Trace trace;
  if (j.contains("startContent") && j["startContent"].is_string()) {
    trace.start_content = j["startContent"].get<std::string>();
  }
  if (j.contains("endContent") && j["endContent"].is_string()) {
    trace.end_content = j["endContent"].get<std::string>();
  }
  for (const auto& txn : j["txns"]) {
    if (!txn.is_object() || !txn.contains("patches") || !txn["patches"].is_array()) return bad;
    ++trace.transactions;
    for (const auto& p : txn["patches"]) {
      if (!p.is_array() || p.size() != 3 || !p[0].is_number_unsigned() ||
          !p[1].is_number_unsigned() || !p[2].is_string()) {
        return bad;
      }
      trace.patches.push_back(
          TracePatch{p[0].get<uint64_t>(), p[1].get<uint64_t>(), p[2].get<std::string>()});
    }
  }
  return trace;
}

}  // namespace zinc

// fuzz_map: the map type's payload decode, Apply, Restore and Transform (document_fuzzer.h has
// the input format and the invariants).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "documents/map_document.h"
#include "documents/rope.h"
#include "tests/fuzz/document_fuzzer.h"

namespace zinc {
namespace fuzz {
namespace {

// The last writer in seq order wins, key by key: any two fragments converge.
bool Converges(const Document&, std::string_view, std::string_view) { return true; }

// FragmentToJson renders a value that is not JSON as a JSON string, and the document renders it
// the same way, so the round trip is checked on the rendered documents. Keys and values that
// are not UTF-8 cannot survive JSON (they are replaced), nor can an edit nested deeper than the
// parser allows once wrapped in {"set":[..]}; those are left out.
void CheckJson(const DocumentType& type, const Document& before, const Document& after,
               std::string_view payload) {
  std::vector<MapOp> ops;
  ExpectOk(DecodeMapOps(payload, &ops), "a map fragment that applied does not decode");
  if (ops.empty()) return;  // "[]": an edit array needs at least one edit.
  for (const MapOp& op : ops) {
    if (!IsValidUtf8(op.key) || !IsValidUtf8(op.value)) return;
  }
  Result<std::string> again = type.FragmentFromJson(type.FragmentToJson(payload));
  if (!again.ok() && again.status().message().find("nested deeper") != std::string::npos) return;
  ExpectOk(again.status(), "a map fragment rendered as JSON does not parse back");
  std::unique_ptr<Document> replay = Copy(type, before);
  ExpectOk(replay->Apply(*again), "a map fragment parsed back from JSON does not apply");
  Expect(replay->ToJson() == after.ToJson(), "a map fragment means another edit once in JSON");
}

const DocumentFuzzTraits& Traits() {
  static const DocumentFuzzTraits traits = [] {
    DocumentFuzzTraits t;
    t.converges = Converges;
    t.check_json = CheckJson;
    return t;
  }();
  return traits;
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const zinc::MapType type;
  zinc::fuzz::FuzzDocument(type, zinc::fuzz::Traits(), data, size);
  return 0;
}

// fuzz_json: each type's JSON edit parser, FragmentFromJson (map, text, canvas and the example
// log type), on the same input: what zincctl client reads from stdin and the canvas gateway gets
// from browsers.
//
// Invariants: what parses is a payload the type decodes (FragmentToJson renders it); rendered
// with FragmentToJson and parsed again, it is the same payload, byte for byte (the parsers
// produce canonical payloads, and the renderings lose nothing a parsed edit can hold).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "examples/log/log_document.h"
#include "tests/fuzz/document_fuzzer.h"

namespace zinc {
namespace fuzz {
namespace {

void FuzzJson(const DocumentType& type, std::string_view json) {
  Result<std::string> payload = type.FragmentFromJson(json);
  if (!payload.ok()) {
    Expect(payload.status().code() == StatusCode::kInvalidArgument,
           "FragmentFromJson refuses with another code than kInvalidArgument");
    return;
  }
  const std::string rendered = type.FragmentToJson(*payload);
  Expect(rendered != "null", "FragmentFromJson made a payload its type does not decode");
  Expect(IsJson(rendered), "FragmentToJson is not JSON");
  Result<std::string> again = type.FragmentFromJson(rendered);
  ExpectOk(again.status(), "a parsed edit, rendered again, does not parse");
  Expect(*again == *payload, "a parsed edit changes when rendered and parsed again");
  // A fresh document of the type takes it or refuses it cleanly.
  std::unique_ptr<Document> doc = type.Create();
  const std::string empty = doc->Snapshot();
  if (!doc->Apply(*payload).ok()) Expect(doc->Snapshot() == empty, "a refused Apply changed it");
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const zinc::MapType map;
  static const zinc::TextType text;
  static const zinc::CanvasType canvas;
  static const zinc::examples::LogType log;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  for (const zinc::DocumentType* type :
       {static_cast<const zinc::DocumentType*>(&map), static_cast<const zinc::DocumentType*>(&text),
        static_cast<const zinc::DocumentType*>(&canvas),
        static_cast<const zinc::DocumentType*>(&log)}) {
    zinc::fuzz::FuzzJson(*type, json);
  }
  return 0;
}

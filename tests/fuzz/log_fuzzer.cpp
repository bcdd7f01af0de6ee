// fuzz_log: the example log type's (examples/log) payload decode, Apply, Restore and Transform
// (document_fuzzer.h has the input format and the invariants). The log keeps 8 entries here, so
// that inputs reach its cap.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "documents/rope.h"
#include "examples/log/log_document.h"
#include "tests/fuzz/document_fuzzer.h"

namespace zinc {
namespace fuzz {
namespace {

constexpr size_t kCapacity = 8;

// A log payload's before_last, and the entry after it.
bool Decode(std::string_view payload, uint64_t* before_last, std::string_view* entry) {
  ByteReader r(payload);
  if (!r.GetVarint(before_last)) return false;
  size_t header = 1;
  for (uint64_t v = *before_last; v >= 0x80; v >>= 7) ++header;
  *entry = payload.substr(header);
  return true;
}

// The log's transform is for appends authored at the end (before_last 0), as every author
// makes them (log_document.h); other positions are what transforms produce, never concurrent
// edits.
bool Converges(const Document&, std::string_view a, std::string_view b) {
  uint64_t a_last = 0, b_last = 0;
  std::string_view entry;
  return Decode(a, &a_last, &entry) && Decode(b, &b_last, &entry) && a_last == 0 && b_last == 0;
}

// {"append":"text"} says an append at the end of a UTF-8 entry.
void CheckJson(const DocumentType& type, const Document&, const Document&,
               std::string_view payload) {
  uint64_t before_last = 0;
  std::string_view entry;
  Expect(Decode(payload, &before_last, &entry), "a log fragment that applied does not decode");
  if (before_last != 0 || !IsValidUtf8(entry)) return;
  Result<std::string> again = type.FragmentFromJson(type.FragmentToJson(payload));
  ExpectOk(again.status(), "a log fragment rendered as JSON does not parse back");
  Expect(*again == examples::EncodeLogAppend(entry), "a log fragment changes once in JSON");
}

void CheckState(const Document& doc) {
  const auto& log = static_cast<const examples::LogDocument&>(doc);
  Expect(log.entries().size() <= kCapacity, "a log keeps more entries than its capacity");
  Expect(log.entries().size() <= log.count(), "a log keeps more entries than it counted");
}

const DocumentFuzzTraits& Traits() {
  static const DocumentFuzzTraits traits = [] {
    DocumentFuzzTraits t;
    t.converges = Converges;
    t.check_json = CheckJson;
    t.check_state = CheckState;
    return t;
  }();
  return traits;
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const zinc::examples::LogType type(zinc::fuzz::kCapacity);
  zinc::fuzz::FuzzDocument(type, zinc::fuzz::Traits(), data, size);
  return 0;
}

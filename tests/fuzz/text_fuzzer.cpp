// fuzz_text: the text type's payload decode, Apply, Fit, Restore, Transform and Compose, and the
// rope under them (document_fuzzer.h has the input format and the invariants).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "documents/rope.h"
#include "documents/text_document.h"
#include "tests/fuzz/document_fuzzer.h"

namespace zinc {
namespace fuzz {
namespace {

// ot-text-unicode's transform satisfies TP1 for any two operations on the same text.
bool Converges(const Document&, std::string_view, std::string_view) { return true; }

// Every text operation has a JSON form ({"ops":[...]} at worst), which parses back to an
// operation with the same effect (perhaps spelled in canonical order).
void CheckJson(const DocumentType& type, const Document& before, const Document& after,
               std::string_view payload) {
  Result<std::string> again = type.FragmentFromJson(type.FragmentToJson(payload));
  ExpectOk(again.status(), "a text fragment rendered as JSON does not parse back");
  std::unique_ptr<Document> replay = Copy(type, before);
  ExpectOk(replay->Apply(*again), "a text fragment parsed back from JSON does not apply");
  Expect(replay->Snapshot() == after.Snapshot(), "a text fragment means another edit once in JSON");
}

void CheckState(const Document& doc) {
  const Rope& rope = static_cast<const TextDocument&>(doc).text();
  Expect(rope.CheckInvariants(), "the rope's invariants are broken");
  const std::string text = rope.ToString();
  size_t code_points = 0;
  Expect(IsValidUtf8(text, &code_points), "a text document holds invalid UTF-8");
  Expect(code_points == rope.size() && text.size() == rope.size_bytes(),
         "the rope's cached sizes are wrong");
}

// Compose(A, T(B, A)) does what A then T(B, A) does.
void CheckPair(const DocumentType& type, const Document& s, std::string_view a,
               std::string_view b) {
  const auto& text = static_cast<const TextType&>(type);
  for (bool w : {true, false}) {
    Result<std::string> tb = text.Transform(b, a, w);
    if (!tb.ok()) continue;
    std::unique_ptr<Document> stepwise = ApplyAll(type, s, {std::string(a), *tb});
    Result<std::string> both = text.Compose(a, *tb);
    if (!both.ok()) {
      const StatusCode c = both.status().code();
      Expect(c == StatusCode::kResourceExhausted || c == StatusCode::kOutOfRange,
             "Compose refuses two operations that apply one after the other");
      continue;
    }
    std::unique_ptr<Document> composed = ApplyAll(type, s, {*both});
    Expect(
        stepwise != nullptr && composed != nullptr && composed->Snapshot() == stepwise->Snapshot(),
        "Compose(A, B) does not do A then B");
  }
}

const DocumentFuzzTraits& Traits() {
  static const DocumentFuzzTraits traits = [] {
    DocumentFuzzTraits t;
    t.converges = Converges;
    t.check_json = CheckJson;
    t.check_state = CheckState;
    t.check_pair = CheckPair;
    t.fit_applies = true;
    return t;
  }();
  return traits;
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const zinc::TextType type;
  zinc::fuzz::FuzzDocument(type, zinc::fuzz::Traits(), data, size);
  return 0;
}

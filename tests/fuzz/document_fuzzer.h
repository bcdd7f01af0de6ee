#pragma once

// The driver the document type targets share (fuzz_map, fuzz_text, fuzz_canvas, fuzz_log): an
// input is parts cut at kPartSeparator,
//
//   SNAPSHOT | FRAGMENT ... | A | B
//
// The document is restored from SNAPSHOT (an empty part: a fresh document), then each FRAGMENT
// is applied in turn (a history), and A and B, two fragments made concurrently on the state that
// gives, are each applied alone and transformed against each other, both ways and with both
// tie-breaks, and through the type's PendingEdits as a client would.
//
// Invariants (documents/document.h): a refused Apply or Restore changes nothing; a snapshot
// restores to the same state; ToJson and FragmentToJson are JSON; a fragment rendered as JSON and
// parsed back means the same (where the type's JSON can say it); where the type promises TP1,
// apply(apply(s, A), T(B, A, w)) == apply(apply(s, B), T(A, B, !w)); a client that applied A and
// then receives B (sequenced first at the host) ends where the host does; the type's own
// PendingEdits end where the default pairwise one does.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "documents/document.h"
#include "tests/fuzz/fuzz_util.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace fuzz {

// What a type promises beyond the Document and DocumentType contracts.
struct DocumentFuzzTraits {
  // Whether A and B, each applied cleanly to state s, are fragments the type promises to
  // converge (TP1) when transformed against each other. Required.
  bool (*converges)(const Document& s, std::string_view a, std::string_view b) = nullptr;
  // Checks that payload, which applied cleanly to before giving after, means the same when
  // rendered with FragmentToJson and parsed back with FragmentFromJson, as far as the type's
  // JSON can say it. Optional.
  void (*check_json)(const DocumentType& type, const Document& before, const Document& after,
                     std::string_view payload) = nullptr;
  // Checks the type's own invariants of a document (cached counts, say). Optional.
  void (*check_state)(const Document& doc) = nullptr;
  // Further checks of two concurrent fragments on s (Compose, say). Optional.
  void (*check_pair)(const DocumentType& type, const Document& s, std::string_view a,
                     std::string_view b) = nullptr;
  // Whether a, which applied cleanly, is an edit as its author makes it, which is all the
  // type's PendingEdits accept (canvas: appends at the end). Optional: any edit.
  bool (*authored)(std::string_view a) = nullptr;
  // Whether Document::Fit promises a result that applies (text clamps to the text).
  bool fit_applies = false;
};

// The fragments and the history are bounded, so that one input stays fast.
inline constexpr size_t kMaxDocumentParts = 24;

// Whether text is a JSON value (nlohmann's parser; the renderings are shallow or depth-checked).
inline bool IsJson(const std::string& text) {
  return !nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded();
}

// An independent copy of doc, through its snapshot.
inline std::unique_ptr<Document> Copy(const DocumentType& type, const Document& doc) {
  std::unique_ptr<Document> copy = type.Create();
  ExpectOk(copy->Restore(doc.Snapshot()), "a snapshot does not restore");
  return copy;
}

inline void CheckState(const DocumentType& type, const Document& doc,
                       const DocumentFuzzTraits& traits) {
  const std::string snapshot = doc.Snapshot();
  std::unique_ptr<Document> again = type.Create();
  ExpectOk(again->Restore(snapshot), "a snapshot does not restore");
  Expect(again->Snapshot() == snapshot, "a restored snapshot is not the same snapshot");
  const std::string json = doc.ToJson();
  Expect(again->ToJson() == json, "a restored snapshot renders another JSON");
  Expect(IsJson(json), "ToJson is not JSON");
  if (traits.check_state) {
    traits.check_state(doc);
    traits.check_state(*again);
  }
}

// Applies payload to doc with every check of a single Apply. Returns whether it applied.
inline bool ApplyChecked(const DocumentType& type, Document* doc, std::string_view payload,
                         const DocumentFuzzTraits& traits) {
  const std::string json = type.FragmentToJson(payload);
  Expect(json == "null" || IsJson(json), "FragmentToJson is not JSON");
  Result<std::string> fitted = doc->Fit(payload);
  const std::string before = doc->Snapshot();
  const Status s = doc->Apply(payload);
  if (!s.ok()) {
    Expect(doc->Snapshot() == before, "a refused Apply changed the document");
    if (traits.fit_applies && fitted.ok()) {
      std::unique_ptr<Document> fit = type.Create();
      ExpectOk(fit->Restore(before), "a snapshot does not restore");
      ExpectOk(fit->Apply(*fitted), "what Fit made of a fragment does not apply");
    }
    return false;
  }
  Expect(json != "null", "FragmentToJson refuses a fragment that applied");
  if (traits.fit_applies) {
    ExpectOk(fitted.status(), "Fit refuses a fragment that applies");
    std::unique_ptr<Document> fit = type.Create();
    ExpectOk(fit->Restore(before), "a snapshot does not restore");
    ExpectOk(fit->Apply(*fitted), "what Fit made of a fragment that applies does not apply");
    Expect(fit->Snapshot() == doc->Snapshot(), "Fit changed a fragment that fits");
  }
  CheckState(type, *doc, traits);
  if (traits.check_json) {
    std::unique_ptr<Document> original = type.Create();
    ExpectOk(original->Restore(before), "a snapshot does not restore");
    traits.check_json(type, *original, *doc, payload);
  }
  return true;
}

// The state doc reaches by applying payloads in turn, or nullptr if one is refused.
inline std::unique_ptr<Document> ApplyAll(const DocumentType& type, const Document& doc,
                                          const std::vector<std::string>& payloads) {
  std::unique_ptr<Document> out = Copy(type, doc);
  for (const std::string& p : payloads) {
    if (!out->Apply(p).ok()) return nullptr;
  }
  return out;
}

// A and B, concurrent on s: transforms and the client's exchange.
inline void CheckConcurrent(const DocumentType& type, const Document& s, std::string_view a,
                            std::string_view b, const DocumentFuzzTraits& traits) {
  std::unique_ptr<Document> sa = Copy(type, s);
  std::unique_ptr<Document> sb = Copy(type, s);
  const bool a_ok = ApplyChecked(type, sa.get(), a, traits);
  const bool b_ok = ApplyChecked(type, sb.get(), b, traits);
  const bool promised = a_ok && b_ok && traits.converges(s, a, b);
  for (bool w : {true, false}) {
    // B after A (B wins ties when w) against A after B.
    Result<std::string> tb = type.Transform(b, a, w);
    Result<std::string> ta = type.Transform(a, b, !w);
    for (const Result<std::string>* t : {&tb, &ta}) {
      if (t->ok()) {
        Expect(type.FragmentToJson(t->value()) != "null",
               "Transform made a fragment that does not decode");
      }
    }
    if (!promised) continue;
    ExpectOk(tb.status(), "Transform refuses fragments that apply");
    ExpectOk(ta.status(), "Transform refuses fragments that apply");
    std::unique_ptr<Document> left = ApplyAll(type, s, {std::string(a), *tb});
    std::unique_ptr<Document> right = ApplyAll(type, s, {std::string(b), *ta});
    Expect(left != nullptr, "a transformed fragment does not apply after the other (A, T(B, A))");
    Expect(right != nullptr, "a transformed fragment does not apply after the other (B, T(A, B))");
    Expect(left->Snapshot() == right->Snapshot(), "TP1 broken: the two orders diverge");
  }
  if (!a_ok) return;
  // A client that applied its own A receives B, which the host sequenced before A; the host then
  // applies A after B (transformed if the type transforms at the host, and A wins).
  std::unique_ptr<PendingEdits> own = type.NewPendingEdits();
  PairwisePendingEdits pairwise(&type);
  own->Push(std::string(a));
  pairwise.Push(std::string(a));
  Result<std::string> rb = own->TransformRemote(std::string(b));
  Result<std::string> pb = pairwise.TransformRemote(std::string(b));
  if (!promised || (traits.authored && !traits.authored(a))) return;
  ExpectOk(rb.status(), "PendingEdits refuses a remote fragment that applies");
  ExpectOk(pb.status(), "PairwisePendingEdits refuses a remote fragment that applies");
  std::unique_ptr<Document> client = ApplyAll(type, *sa, {*rb});
  std::unique_ptr<Document> client_pairwise = ApplyAll(type, *sa, {*pb});
  Expect(client != nullptr, "a remote fragment from PendingEdits does not apply at the client");
  Expect(client_pairwise != nullptr,
         "a remote fragment from PairwisePendingEdits does not apply at the client");
  Expect(client->Snapshot() == client_pairwise->Snapshot(),
         "the type's PendingEdits and the pairwise ones diverge");
  Result<std::string> host_a =
      type.host_transforms() ? type.Transform(a, b, true) : Result<std::string>(std::string(a));
  ExpectOk(host_a.status(), "the host cannot transform a fragment that applies");
  std::unique_ptr<Document> host = ApplyAll(type, *sb, {*host_a});
  Expect(host != nullptr, "the host cannot apply A after B");
  Expect(client->Snapshot() == host->Snapshot(), "a client and its host diverge");
  // What the client sends again (rebased onto B) is what the host applied.
  Expect(own->size() == 1, "PendingEdits lost or gained an edit");
  std::unique_ptr<Document> resent = ApplyAll(type, *sb, {own->at(0)});
  Expect(resent != nullptr && resent->Snapshot() == host->Snapshot(),
         "a rebased pending edit does not do at the host what the client did");
  if (traits.check_pair) traits.check_pair(type, s, a, b);
}

inline void FuzzDocument(const DocumentType& type, const DocumentFuzzTraits& traits,
                         const uint8_t* data, size_t size) {
  const std::vector<std::string_view> parts = SplitParts(data, size, kMaxDocumentParts);
  std::unique_ptr<Document> doc = type.Create();
  const std::string empty = doc->Snapshot();
  if (!parts[0].empty()) {
    if (doc->Restore(parts[0]).ok()) {
      CheckState(type, *doc, traits);
    } else {
      Expect(doc->Snapshot() == empty, "a refused Restore changed the document");
    }
  }
  const size_t n = parts.size();
  // The history: every fragment but the last two.
  for (size_t i = 1; i + 2 < n; ++i) {
    (void)ApplyChecked(type, doc.get(), parts[i], traits);
  }
  if (n >= 3) {
    CheckConcurrent(type, *doc, parts[n - 2], parts[n - 1], traits);
  } else if (n == 2) {
    (void)ApplyChecked(type, doc.get(), parts[1], traits);
  }
  // Restoring a bad snapshot over a document with state changes nothing either.
  const std::string state = doc->Snapshot();
  if (!doc->Restore(parts[n - 1]).ok()) {
    Expect(doc->Snapshot() == state, "a refused Restore changed the document");
  }
}

}  // namespace fuzz
}  // namespace zinc

// fuzz_frame: one frame as a ChannelListener receives it (core/codec.h). The input is the frame:
// DecodeFrame, then DecodeBatchElement on each element of a batch, as the listener does, and
// DecodeEnvelope on its own.
//
// Invariants: whatever decodes re-encodes to an envelope that decodes again to the same thing
// (an encoded envelope is what the next hop, a relay or the store, sees); a batch rebuilt by
// EncodeBatch from its elements decodes to the same elements; nothing decoded is beyond the
// limits it was decoded with.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "core/codec.h"
#include "core/message.h"
#include "tests/fuzz/fuzz_util.h"

namespace zinc {
namespace fuzz {
namespace {

// Small limits, so that every bound is in reach of a fuzzed input of a few KB.
CodecLimits SmallLimits() {
  CodecLimits limits;
  limits.max_envelope_bytes = 4096;
  limits.max_sync_envelope_bytes = 8192;
  limits.max_transfer_bytes = 1 << 16;
  limits.max_doc_id_bytes = 32;
  limits.max_type_bytes = 16;
  limits.max_catchup_fragments = 8;
  limits.max_batch_envelopes = 8;
  limits.max_presence_bytes = 64;
  limits.max_address_bytes = 64;
  limits.max_tree_depth = 4;
  limits.max_roster_members = 4;
  return limits;
}

// The envelope's fields in a canonical encoding, to compare two envelopes: protobuf writes a map
// field (Roster.refused) in whatever order its hash table holds it, so EncodeEnvelope's bytes
// may differ for equal envelopes; the deterministic encoding sorts map entries.
std::string Canonical(const wire::Envelope& env) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    env.SerializeToCodedStream(&coded);
  }
  return out;
}

// An envelope that decoded, encoded again: it must decode again, to the same envelope. The
// bound is the re-encoded size (protobuf may spell a field differently, never longer than the
// limit allows for what it keeps).
void CheckReencodes(const wire::Envelope& env, const CodecLimits& limits) {
  const std::string again = EncodeEnvelope(env);
  wire::Envelope back;
  ExpectOk(DecodeEnvelope(again, again.size(), limits, &back),
           "a decoded envelope, encoded again, does not decode");
  Expect(Canonical(back) == Canonical(env), "an envelope changes when encoded and decoded again");
  Expect(env.origin().size() == 16, "a decoded envelope without a 16-byte origin");
  Expect(env.version() == kProtocolVersion, "a decoded envelope of another version");
  Expect(env.body_case() != wire::Envelope::BODY_NOT_SET, "a decoded envelope without a body");
  Expect(env.doc().empty() || ValidateDocId(env.doc(), limits).ok(),
         "a decoded envelope with a bad document id");
  // Message::kind maps every body to a kind that handlers register by.
  Message m;
  m.envelope = env;
  Expect(static_cast<int>(m.kind()) >= 0 && m.kind() < MessageKind::kCount,
         "a decoded envelope without a message kind");
}

void FuzzFrame(std::string_view frame, size_t max_bytes, const CodecLimits& limits) {
  wire::Envelope env;
  bool is_batch = true;
  std::vector<std::string_view> elements;
  const Status s = DecodeFrame(frame, max_bytes, limits, &env, &is_batch, &elements);
  if (!s.ok()) {
    Expect(!is_batch, "a refused frame reported as a batch");
    // What the listener does with a refused frame: names its origin if it has one.
    (void)env.origin();
    return;
  }
  Expect(frame.size() <= max_bytes, "a frame over the limit decoded");
  if (!is_batch) {
    Expect(elements.empty(), "elements of a frame that is not a batch");
    Expect(!env.has_batch(), "DecodeFrame left a batch for the caller");
    CheckReencodes(env, limits);
    // DecodeEnvelope alone agrees with DecodeFrame on anything that is not a batch.
    wire::Envelope alone;
    ExpectOk(DecodeEnvelope(frame, max_bytes, limits, &alone),
             "DecodeFrame accepts what DecodeEnvelope refuses");
    Expect(Canonical(alone) == Canonical(env), "DecodeFrame and DecodeEnvelope differ");
    return;
  }
  Expect(elements.size() <= limits.max_batch_envelopes, "a batch over the element limit");
  Expect(env.origin().size() == 16 && !env.doc().empty() &&
             env.body_case() == wire::Envelope::BODY_NOT_SET,
         "a batch header DecodeFrame should have refused");
  std::vector<std::string> copies;
  for (std::string_view bytes : elements) {
    Expect(
        bytes.data() >= frame.data() && bytes.data() + bytes.size() <= frame.data() + frame.size(),
        "a batch element outside its frame");
    wire::Envelope element;
    const Status es = DecodeBatchElement(bytes, env.doc(), max_bytes, limits, &element);
    if (!es.ok()) continue;
    Expect(element.has_fragment() && element.doc() == env.doc(),
           "a batch element that is not a fragment of its document");
    CheckReencodes(element, limits);
    copies.emplace_back(bytes);
  }
  // The batch the next hop would send on: the same elements, in order.
  const size_t n = copies.size();
  std::vector<std::string> originals = copies;
  const std::string rebuilt = EncodeBatch(env.origin(), env.doc(), &copies);
  Expect(copies.empty(), "EncodeBatch left its elements");
  wire::Envelope header;
  bool again_batch = false;
  std::vector<std::string_view> again;
  ExpectOk(DecodeFrame(rebuilt, rebuilt.size(), limits, &header, &again_batch, &again),
           "a batch rebuilt from decoded elements does not decode");
  Expect(again_batch && again.size() == n, "a rebuilt batch lost its elements");
  for (size_t i = 0; i < n; ++i) {
    Expect(again[i] == originals[i], "a rebuilt batch changed an element");
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  // The inbound limit (fragments, heartbeats), then the sync channel's, as the listener uses them.
  static const zinc::CodecLimits small = zinc::fuzz::SmallLimits();
  static const zinc::CodecLimits defaults;
  zinc::fuzz::FuzzFrame(frame, small.max_envelope_bytes, small);
  zinc::fuzz::FuzzFrame(frame, defaults.max_sync_envelope_bytes, defaults);
  return 0;
}

// fuzz_chunks: a series of frames on a client's sync channel (the DEALER to its parent), parts of
// the input cut at kPartSeparator: each decoded with DecodeFrame; chunks go through the
// ChunkAssembler (endpoints/chunks.h) as the ChannelListener drives it, and a reassembled reply
// through DecodeChunkedReply (docs/protocol.md, Chunked replies).
//
// Invariants: a reassembled reply is exactly as long as its chunks said; the assembler never
// holds more than kMaxTransfers replies; every ChunkRequest it asks to send decodes and asks for
// a piece inside the reply; a reply that decodes is about the chunks' document and is neither a
// batch nor a chunk.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "endpoints/channel_listener.h"
#include "endpoints/chunks.h"
#include "tests/fuzz/fuzz_util.h"

namespace zinc {
namespace fuzz {
namespace {

constexpr size_t kMaxFrames = 64;

CodecLimits ChunkLimits() {
  CodecLimits limits;
  limits.max_sync_envelope_bytes = 4096;
  // Small, so that the assembler's limit is in reach.
  limits.max_transfer_bytes = 8192;
  return limits;
}

void FuzzChunks(const uint8_t* data, size_t size) {
  static const CodecLimits limits = ChunkLimits();
  const std::string origin(16, '\x07');
  internal::ChunkAssembler assembler(origin, limits.max_transfer_bytes);
  for (std::string_view frame : SplitParts(data, size, kMaxFrames)) {
    wire::Envelope env;
    bool is_batch = false;
    std::vector<std::string_view> elements;
    if (!DecodeFrame(frame, limits.max_sync_envelope_bytes, limits, &env, &is_batch, &elements)
             .ok() ||
        is_batch || !env.has_chunk()) {
      continue;
    }
    const wire::Chunk& c = env.chunk();
    internal::ChunkAssembler::Outcome out = assembler.Add(env);
    Expect(assembler.transfers() <= internal::ChunkAssembler::kMaxTransfers,
           "the assembler holds more transfers than its limit");
    if (out.refused) {
      Expect(!out.reply && !out.request, "a refused chunk brought a reply or a request");
      continue;
    }
    if (out.request) {
      wire::Envelope req;
      ExpectOk(DecodeEnvelope(*out.request, limits.max_envelope_bytes, limits, &req),
               "the assembler's chunk request does not decode");
      Expect(req.has_chunk_request() && req.chunk_request().transfer() == c.transfer() &&
                 req.chunk_request().offset() < c.total() && req.origin() == origin &&
                 req.doc() == env.doc(),
             "the assembler asks for another transfer or past the end");
    }
    if (!out.reply) continue;
    Expect(out.reply->size() == c.total(), "a reassembled reply of the wrong length");
    // What the listener hands the document's strand, and what the strand makes of it.
    Message whole;
    whole.channel = ChannelKind::kSyncClient;
    whole.envelope.set_version(env.version());
    whole.envelope.set_origin(env.origin());
    whole.envelope.set_doc(env.doc());
    whole.envelope.mutable_chunk()->set_transfer(c.transfer());
    whole.envelope.mutable_chunk()->set_total(out.reply->size());
    whole.envelope.mutable_chunk()->set_data(*std::move(out.reply));
    Message reply;
    if (!DecodeChunkedReply(whole, limits, &reply).ok()) continue;
    Expect(!reply.envelope.has_chunk() && !reply.envelope.has_batch() &&
               reply.envelope.doc() == env.doc() && reply.envelope.origin().size() == 16,
           "DecodeChunkedReply let through what it promises to refuse");
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zinc::fuzz::FuzzChunks(data, size);
  return 0;
}

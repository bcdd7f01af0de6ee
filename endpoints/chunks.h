#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.h"

namespace zinc {
namespace internal {

// Sync replies too large for one frame, in pieces (wire::Chunk; docs/protocol.md, Chunked
// replies): a snapshot of a 100 MB document goes as 400 frames of 256 KiB, at most kWindow in
// flight, so that the sender's other replies, heartbeats and other documents keep flowing, and
// neither side holds more than the reply itself. The ChannelListener (I/O thread) drives both.

// The sending side (a host's ROUTER): the replies being sent, each to the peer it is for.
// Thread-compatible.
class ChunkSender {
 public:
  // A reply larger than this goes in chunks of this size. Small enough that the ROUTER's
  // high-water mark (kSyncServerHwm frames) bounds what one peer that does not read can hold
  // in the socket: 64 x 256 KiB = 16 MiB.
  static constexpr size_t kChunkBytes = 256 << 10;
  // Chunks in flight per transfer: sent at the start, then one per chunk the receiver has.
  static constexpr size_t kWindow = 4;
  // Most transfers held, and most bytes of replies in them: past either, the oldest is dropped
  // (its receiver's request is not answered; it asks for the document again).
  static constexpr size_t kMaxTransfers = 64;
  static constexpr size_t kMaxBytes = size_t{2} << 30;
  // Most transfers held for one peer: a further one drops that peer's oldest, and a second
  // reply about the same document replaces the first (the peer asked again).
  static constexpr size_t kMaxTransfersPerPeer = 4;
  // A transfer whose receiver asked for nothing this long is dropped.
  static constexpr int64_t kIdleMicros = 30'000'000;

  // origin: the sender's endpoint id (16 bytes), the origin of the chunk envelopes.
  explicit ChunkSender(std::string origin) : origin_(std::move(origin)) {}

  // Starts sending reply (an encoded Envelope about document doc) to routing_id; returns the
  // first kWindow chunks, encoded, to send.
  std::vector<std::string> Start(std::string routing_id, std::string doc, std::string reply,
                                 int64_t now_micros);
  // A ChunkRequest from routing_id (the connection's, not a field of the message): the chunk it
  // asks for, encoded; nothing for an unknown transfer, another peer's, or an offset past the
  // end. The transfer is done once its last chunk is sent.
  std::optional<std::string> Next(const std::string& routing_id, const wire::ChunkRequest& req,
                                  int64_t now_micros);
  // Drops the transfers idle for kIdleMicros.
  void Expire(int64_t now_micros);
  size_t transfers() const { return transfers_.size(); }
  size_t bytes() const { return bytes_; }
  // The transfers held for routing_id.
  size_t transfers_for(const std::string& routing_id) const;

 private:
  struct Transfer {
    std::string routing_id;
    std::string doc;
    std::string reply;
    int64_t last_micros = 0;
  };
  std::string Encode(uint64_t id, const Transfer& t, uint64_t offset) const;
  void Drop(std::map<uint64_t, Transfer>::iterator it);

  const std::string origin_;
  std::map<uint64_t, Transfer> transfers_;  // by id: the oldest first
  uint64_t next_id_ = 1;
  size_t bytes_ = 0;
};

// The receiving side (a client's DEALER to its parent): the replies being reassembled.
// Thread-compatible.
class ChunkAssembler {
 public:
  // Most replies reassembled at once; a further one drops the oldest.
  static constexpr size_t kMaxTransfers = 16;

  // What a chunk brought.
  struct Outcome {
    // The whole reply (an encoded Envelope), once its last chunk is in.
    std::optional<std::string> reply;
    // A ChunkRequest to send the sender (encoded), for the chunk kWindow pieces ahead.
    std::optional<std::string> request;
    // Set when the chunk was refused (out of order, over the limit): why.
    std::optional<Status> refused;
  };

  // origin: this endpoint's id (16 bytes), the origin of its requests. max_bytes bounds a
  // reply (CodecLimits::max_transfer_bytes; Chunk.total is checked against it on decode).
  ChunkAssembler(std::string origin, size_t max_bytes)
      : origin_(std::move(origin)), max_bytes_(max_bytes) {}

  // A Chunk envelope from the parent (decoded and checked by the codec).
  Outcome Add(const wire::Envelope& env);
  // The parent changed: its transfers are moot.
  void Clear() { transfers_.clear(); }
  size_t transfers() const { return transfers_.size(); }

 private:
  struct Transfer {
    std::string data;
    uint64_t total = 0;
  };

  const std::string origin_;
  const size_t max_bytes_;
  std::map<uint64_t, Transfer> transfers_;  // by the sender's id
};

}  // namespace internal
}  // namespace zinc

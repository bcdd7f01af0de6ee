#include "endpoints/chunks.h"

#include <algorithm>

namespace zinc {
namespace internal {

std::string ChunkSender::Encode(uint64_t id, const Transfer& t, uint64_t offset) const {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(origin_);
  e.set_doc(t.doc);
  wire::Chunk* c = e.mutable_chunk();
  c->set_transfer(id);
  c->set_offset(offset);
  c->set_total(t.reply.size());
  c->set_data(t.reply.substr(offset, kChunkBytes));
  return EncodeEnvelope(e);
}

void ChunkSender::Drop(std::map<uint64_t, Transfer>::iterator it) {
  bytes_ -= it->second.reply.size();
  transfers_.erase(it);
}

std::vector<std::string> ChunkSender::Start(std::string routing_id, std::string doc,
                                            std::string reply, int64_t now_micros) {
  // This peer's transfers, oldest first: one about the same document is moot (the peer asked
  // again), and the oldest go until kMaxTransfersPerPeer - 1 are left.
  std::vector<uint64_t> peers;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    auto next = std::next(it);
    if (it->second.routing_id == routing_id) {
      if (it->second.doc == doc) {
        Drop(it);
      } else {
        peers.push_back(it->first);
      }
    }
    it = next;
  }
  for (size_t i = 0; peers.size() - i >= kMaxTransfersPerPeer; ++i) {
    Drop(transfers_.find(peers[i]));
  }
  while (!transfers_.empty() &&
         (transfers_.size() >= kMaxTransfers || bytes_ + reply.size() > kMaxBytes)) {
    Drop(transfers_.begin());
  }
  const uint64_t id = next_id_++;
  Transfer& t = transfers_[id];
  t.routing_id = std::move(routing_id);
  t.doc = std::move(doc);
  t.reply = std::move(reply);
  t.last_micros = now_micros;
  bytes_ += t.reply.size();
  std::vector<std::string> out;
  for (uint64_t offset = 0; offset < t.reply.size() && out.size() < kWindow;
       offset += kChunkBytes) {
    out.push_back(Encode(id, t, offset));
  }
  if (t.reply.size() <= kWindow * kChunkBytes) Drop(transfers_.find(id));  // All sent.
  return out;
}

std::optional<std::string> ChunkSender::Next(const std::string& routing_id,
                                             const wire::ChunkRequest& req, int64_t now_micros) {
  auto it = transfers_.find(req.transfer());
  if (it == transfers_.end() || it->second.routing_id != routing_id ||
      req.offset() >= it->second.reply.size()) {
    return std::nullopt;
  }
  it->second.last_micros = now_micros;
  std::string chunk = Encode(it->first, it->second, req.offset());
  if (req.offset() + kChunkBytes >= it->second.reply.size()) Drop(it);  // The last one.
  return chunk;
}

size_t ChunkSender::transfers_for(const std::string& routing_id) const {
  size_t n = 0;
  for (const auto& [id, t] : transfers_) n += t.routing_id == routing_id;
  return n;
}

void ChunkSender::Expire(int64_t now_micros) {
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    auto next = std::next(it);
    if (now_micros - it->second.last_micros >= kIdleMicros) Drop(it);
    it = next;
  }
}

ChunkAssembler::Outcome ChunkAssembler::Add(const wire::Envelope& env) {
  Outcome out;
  const wire::Chunk& c = env.chunk();
  if (c.total() > max_bytes_) {
    out.refused = Status(StatusCode::kResourceExhausted,
                         "a chunked reply of " + std::to_string(c.total()) +
                             " bytes, over the limit of " + std::to_string(max_bytes_));
    return out;
  }
  auto it = transfers_.find(c.transfer());
  if (it == transfers_.end()) {
    if (c.offset() != 0) {
      // The rest of a transfer this endpoint dropped (or never started): ignored.
      out.refused = Status(StatusCode::kOutOfRange, "a chunk of an unknown transfer");
      return out;
    }
    while (transfers_.size() >= kMaxTransfers) transfers_.erase(transfers_.begin());
    it = transfers_.emplace(c.transfer(), Transfer{}).first;
    it->second.total = c.total();  // (Not reserved: the total is the sender's word.)
  }
  Transfer& t = it->second;
  if (c.total() != t.total || c.offset() != t.data.size()) {
    // The chunks of one transfer come in order over one connection: this one does not follow.
    transfers_.erase(it);
    out.refused = Status(StatusCode::kOutOfRange, "a chunk out of order");
    return out;
  }
  t.data.append(c.data());
  if (t.data.size() == t.total) {
    out.reply = std::move(t.data);
    transfers_.erase(it);
    return out;
  }
  const uint64_t ahead = c.offset() + ChunkSender::kWindow * c.data().size();
  if (ahead < t.total) {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_origin(origin_);
    e.set_doc(env.doc());
    e.mutable_chunk_request()->set_transfer(c.transfer());
    e.mutable_chunk_request()->set_offset(ahead);
    out.request = EncodeEnvelope(e);
  }
  return out;
}

}  // namespace internal
}  // namespace zinc

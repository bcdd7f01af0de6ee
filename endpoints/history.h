#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "core/codec.h"

namespace zinc {
namespace internal {

// The newest sequenced fragments of one document, oldest first: what catch-up is served from
// (at the root, and at a relay's replica) and what a replica offers a new root after a failover
// (its tail). At most max_fragments of them and max_bytes in all, but always the newest one.
// The seqs are head - size() + 1 .. head, where head is the owner's last seq.
//
// Entry is how a fragment is kept: std::string, the envelope encoded as published (the root
// encodes each once, to publish it), or wire::Envelope, as a replica received it (moved in,
// never encoded again). Thread-compatible.
template <typename Entry>
class BasicHistory {
 public:
  // Most bytes of fragments in one catch-up reply; the client asks again for the rest.
  static constexpr size_t kCatchupReplyBytes = 4 << 20;

  BasicHistory(size_t max_fragments, size_t max_bytes)
      : max_fragments_(max_fragments), max_bytes_(max_bytes) {}

  // Appends the fragment sequenced right after the newest kept, dropping the oldest over the
  // bounds.
  void Append(Entry fragment) {
    const size_t bytes = SizeOf(fragment);
    bytes_ += bytes;
    items_.push_back(Item{std::move(fragment), bytes});
    while (items_.size() > 1 && (items_.size() > max_fragments_ || bytes_ > max_bytes_)) {
      bytes_ -= items_.front().bytes;
      items_.pop_front();
    }
  }

  void Clear() {
    items_.clear();
    bytes_ = 0;
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // The seq of the oldest fragment kept, given the newest's.
  uint64_t First(uint64_t head) const { return head - items_.size() + 1; }
  // The fragment sequenced at seq. REQUIRES: First(head) <= seq <= head.
  const Entry& At(uint64_t seq, uint64_t head) const { return items_[seq - First(head)].entry; }
  // The i-th oldest kept and its size in bytes encoded.
  const Entry& at(size_t i) const { return items_[i].entry; }
  size_t bytes_at(size_t i) const { return items_[i].bytes; }

  // The index of the oldest of the newest fragments that fit in max_fragments and max_bytes
  // (at least the newest one): where a bounded tail of this history starts.
  size_t NewestFrom(size_t max_fragments, size_t max_bytes) const {
    size_t i = items_.size();
    size_t bytes = 0;
    while (i > 0 && items_.size() - i < max_fragments) {
      bytes += items_[i - 1].bytes;
      if (bytes > max_bytes && i != items_.size()) break;
      --i;
    }
    return i;
  }

  // Fills *reply with the fragments req asks for up to head (at most kCatchupReplyBytes and
  // max_catchup of them, but at least one), none if from_seq is past head. Returns false,
  // filling nothing, when from_seq is older than what is kept: the caller sends a snapshot.
  bool FillCatchup(const wire::CatchupRequest& req, uint64_t head, size_t max_catchup,
                   wire::CatchupReply* reply) const {
    const uint64_t first = First(head);
    if (req.from_seq() < first) return false;
    const uint64_t to = std::min(req.to_seq(), head);
    size_t bytes = 0;
    for (uint64_t s = req.from_seq(); s <= to; ++s) {
      const Item& item = items_[s - first];
      bytes += item.bytes;
      if (reply->fragments_size() > 0 &&
          (bytes > kCatchupReplyBytes ||
           static_cast<size_t>(reply->fragments_size()) >= max_catchup)) {
        break;
      }
      AddTo(item.entry, reply);
    }
    return true;
  }

 private:
  struct Item {
    Entry entry;
    size_t bytes;
  };

  static size_t SizeOf(const std::string& encoded) { return encoded.size(); }
  static size_t SizeOf(const wire::Envelope& env) { return env.ByteSizeLong(); }
  static void AddTo(const std::string& encoded, wire::CatchupReply* reply) {
    reply->add_fragments()->ParseFromString(encoded);  // Encoded by this process, so it parses.
  }
  static void AddTo(const wire::Envelope& env, wire::CatchupReply* reply) {
    *reply->add_fragments() = env;
  }

  const size_t max_fragments_;
  const size_t max_bytes_;
  std::deque<Item> items_;
  size_t bytes_ = 0;
};

// The root's: fragments encoded as published.
using History = BasicHistory<std::string>;
// A replica's: fragments as received.
using ReplicaHistory = BasicHistory<wire::Envelope>;

}  // namespace internal
}  // namespace zinc

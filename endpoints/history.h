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
// Fragments are kept as envelopes, moved in (the root's after it encoded them to publish, a
// replica's as it received them): never encoded or parsed again to be kept, read (the root's OT
// bridges), served or handed over (a standby's replica's history becomes its hosted document's).
// Thread-compatible.
class History {
 public:
  // Most bytes of fragments in one catch-up reply; the client asks again for the rest.
  static constexpr size_t kCatchupReplyBytes = 4 << 20;

  // Unbounded: SIZE_MAX, SIZE_MAX (a history on its way from a replica to a hosted document).
  History(size_t max_fragments, size_t max_bytes)
      : max_fragments_(max_fragments), max_bytes_(max_bytes) {}

  // Appends the fragment sequenced right after the newest kept, dropping the oldest over the
  // bounds. bytes is its size encoded, if the caller knows it (0: computed).
  void Append(wire::Envelope fragment, size_t bytes = 0) {
    if (bytes == 0) bytes = fragment.ByteSizeLong();
    bytes_ += bytes;
    items_.push_back(Item{std::move(fragment), bytes});
    Trim();
  }

  // Takes other's fragments (the newest, within this one's bounds), leaving other empty.
  void Assign(History&& other) {
    items_ = std::move(other.items_);
    bytes_ = other.bytes_;
    other.Clear();
    Trim();
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
  const wire::Envelope& At(uint64_t seq, uint64_t head) const {
    return items_[seq - First(head)].entry;
  }
  // The i-th oldest kept and its size in bytes encoded.
  const wire::Envelope& at(size_t i) const { return items_[i].entry; }
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
      *reply->add_fragments() = item.entry;
    }
    return true;
  }

 private:
  struct Item {
    wire::Envelope entry;
    size_t bytes;
  };

  void Trim() {
    while (items_.size() > 1 && (items_.size() > max_fragments_ || bytes_ > max_bytes_)) {
      bytes_ -= items_.front().bytes;
      items_.pop_front();
    }
  }

  const size_t max_fragments_;
  const size_t max_bytes_;
  std::deque<Item> items_;
  size_t bytes_ = 0;
};

}  // namespace internal
}  // namespace zinc

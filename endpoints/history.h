#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>

#include "core/codec.h"

namespace zinc {
namespace internal {

// The newest sequenced fragments of one document, encoded as published, for catch-up: the root
// host keeps them, and so does a relay's replica. At most max_fragments of them and max_bytes in
// all, but always the newest one. The seqs are head - size() + 1 .. head, where head is the
// owner's last seq. Thread-compatible.
class History {
 public:
  // Most bytes of fragments in one catch-up reply; the client asks again for the rest.
  static constexpr size_t kCatchupReplyBytes = 4 << 20;

  History(size_t max_fragments, size_t max_bytes)
      : max_fragments_(max_fragments), max_bytes_(max_bytes) {}

  // Appends the fragment sequenced right after the newest kept, dropping the oldest over the
  // bounds.
  void Append(std::string encoded) {
    bytes_ += encoded.size();
    fragments_.push_back(std::move(encoded));
    while (fragments_.size() > 1 && (fragments_.size() > max_fragments_ || bytes_ > max_bytes_)) {
      bytes_ -= fragments_.front().size();
      fragments_.pop_front();
    }
  }

  // Takes other's fragments (a standby's replica handing its history to the document it hosts
  // from now on).
  void Assign(History&& other) {
    fragments_ = std::move(other.fragments_);
    bytes_ = other.bytes_;
    other.Clear();
  }

  void Clear() {
    fragments_.clear();
    bytes_ = 0;
  }

  // The seq of the oldest fragment kept, given the newest's.
  uint64_t First(uint64_t head) const { return head - fragments_.size() + 1; }
  // The fragment sequenced at seq. REQUIRES: First(head) <= seq <= head.
  const std::string& At(uint64_t seq, uint64_t head) const { return fragments_[seq - First(head)]; }

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
      const std::string& f = fragments_[s - first];
      bytes += f.size();
      if (reply->fragments_size() > 0 &&
          (bytes > kCatchupReplyBytes ||
           static_cast<size_t>(reply->fragments_size()) >= max_catchup)) {
        break;
      }
      reply->add_fragments()->ParseFromString(f);  // Encoded by this process, so it parses.
    }
    return true;
  }

 private:
  const size_t max_fragments_;
  const size_t max_bytes_;
  std::deque<std::string> fragments_;
  size_t bytes_ = 0;
};

}  // namespace internal
}  // namespace zinc

#include "endpoints/pending_queue.h"

namespace zinc {
namespace internal {

void PendingQueue::Reset(const DocumentType* type) {
  origin_seqs_.clear();
  type_ = type;
  edits_ = type ? type->NewPendingEdits() : nullptr;
  sent_ = 0;
}

void PendingQueue::Push(uint64_t origin_seq, std::string payload) {
  origin_seqs_.push_back(origin_seq);
  edits_->Push(std::move(payload));
}

void PendingQueue::PushFront(uint64_t origin_seq, std::string payload) {
  // PendingEdits appends only: rebuild it with the edit first.
  std::unique_ptr<PendingEdits> edits = type_->NewPendingEdits();
  edits->Push(std::move(payload));
  for (size_t i = 0; i < edits_->size(); ++i) edits->Push(edits_->at(i));
  edits_ = std::move(edits);
  origin_seqs_.push_front(origin_seq);
  sent_ = 0;
}

void PendingQueue::PopFront() {
  origin_seqs_.pop_front();
  edits_->PopFront();
  if (sent_ > 0) --sent_;
}

bool PendingQueue::Erase(uint64_t origin_seq) {
  for (size_t i = 0; i < origin_seqs_.size(); ++i) {
    if (origin_seqs_[i] != origin_seq) continue;
    origin_seqs_.erase(origin_seqs_.begin() + static_cast<long>(i));
    edits_->Erase(i);
    if (i < sent_) --sent_;
    return true;
  }
  return false;
}

Result<std::string> PendingQueue::TransformRemote(std::string remote) {
  if (origin_seqs_.empty()) return remote;
  return edits_->TransformRemote(std::move(remote));
}

}  // namespace internal
}  // namespace zinc

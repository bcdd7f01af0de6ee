#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zinc {

// A delta: one edit of one document, authored by one endpoint. The payload is encoded by the
// document type and is opaque to everything else. Value type; thread-compatible.
struct DocumentFragment {
  std::string type;
  std::string payload;
};

// The state of one document of some type. Implementations must treat every payload and snapshot
// as untrusted: decode strictly, range-check, and change nothing when they return an error.
// Thread-compatible.
class Document {
 public:
  virtual ~Document() = default;

  // The registered type name, e.g. "map".
  virtual std::string_view type() const = 0;
  // Applies one fragment payload. Returns kMalformed or kOutOfRange (or another code) without
  // changing the document when the payload is bad.
  virtual Status Apply(std::string_view payload) = 0;
  // The whole state, in the type's encoding.
  virtual std::string Snapshot() const = 0;
  // Replaces the state with a snapshot. Changes nothing on error.
  virtual Status Restore(std::string_view snapshot) = 0;
  // The state as one JSON value (the "entries", "text", ... part of zincctl cat).
  virtual std::string ToJson() const = 0;
  // An edit made on another version of the document, changed to apply to this one as well as
  // it can: a resync replays a client's pending edits on a snapshot that may lack what they
  // counted on. Default: payload as it is. Text clamps positions and counts to its length.
  virtual Result<std::string> Fit(std::string_view payload) const { return std::string(payload); }
  // Housekeeping, called by the host every EndpointOptions::collect_interval with its head: the
  // payloads it then sequences as its own edits, which drop state no later fragment needs (the
  // canvas's old tombstones); none by default. The host's bookkeeping for the next call may
  // change here, never the state.
  virtual std::vector<std::string> Collect(uint64_t head) {
    (void)head;
    return {};
  }
  // The oldest base_seq a fragment may have: one made earlier may count on state a collection
  // dropped, so the host refuses it as stale (NACK_STALE_BASE) and its author catches up and
  // sends it again. A function of the state, so every replica that becomes the host agrees.
  virtual uint64_t min_base_seq() const { return 0; }
};

class DocumentType;

// A client's local edits that the host has not yet acknowledged, oldest first, as they stand
// after every remote fragment that arrived since they were made. A remote fragment is
// transformed against all of them before it is applied, and they against it (ShareDB's and
// Jupiter's client). The default keeps them in a list and transforms pairwise, O(pending) per
// remote fragment; a type can supply a cheaper one (the map keeps a count of the keys its
// pending edits touch). Owner thread only.
class PendingEdits {
 public:
  virtual ~PendingEdits() = default;
  // Appends a local edit that was just applied locally.
  virtual void Push(std::string payload) = 0;
  // Drops the oldest pending edit (acknowledged, or refused).
  virtual void PopFront() = 0;
  // Drops pending edit i.
  virtual void Erase(size_t i) = 0;
  virtual void Clear() = 0;
  virtual size_t size() const = 0;
  // Pending edit i as it stands now (what to send again, rebased onto the latest remote state).
  virtual const std::string& at(size_t i) const = 0;
  // Transforms remote, sequenced by the host before every pending edit, so that it applies on
  // top of them; rebases the pending edits past it. Returns the payload to apply locally. Not
  // called when there are no pending edits (remote then applies as it is).
  virtual Result<std::string> TransformRemote(std::string remote) = 0;
  // The host's side of the same exchange (its per-author bridge, endpoints/hosted_document.h):
  // transforms `later`, which the host sequences after all of these edits, so that it applies on
  // top of them (it wins ties), and rebases them past it. Only types that transform at the host
  // need it; the default returns kUnsupported.
  virtual Result<std::string> TransformLater(std::string later) {
    (void)later;
    return Status(StatusCode::kUnsupported, "this type does not transform at the host");
  }
};

// The default PendingEdits: a list, transformed pairwise with type.Transform. Owner thread only.
class PairwisePendingEdits final : public PendingEdits {
 public:
  // type must outlive this object.
  explicit PairwisePendingEdits(const DocumentType* type) : type_(type) {}
  void Push(std::string payload) override { edits_.push_back(std::move(payload)); }
  void PopFront() override { edits_.erase(edits_.begin()); }
  void Erase(size_t i) override { edits_.erase(edits_.begin() + static_cast<long>(i)); }
  void Clear() override { edits_.clear(); }
  size_t size() const override { return edits_.size(); }
  const std::string& at(size_t i) const override { return edits_[i]; }
  Result<std::string> TransformRemote(std::string remote) override {
    return Exchange(remote, false);
  }
  Result<std::string> TransformLater(std::string later) override { return Exchange(later, true); }

 private:
  Result<std::string> Exchange(std::string incoming, bool incoming_wins);

  const DocumentType* const type_;
  std::deque<std::string> edits_;
};

// PendingEdits for types whose pending edits always win and so never change (map, canvas,
// log): keeps the payloads in order and tells the subclass, through Counted, what enters (+1)
// and leaves (-1), so that it can keep whatever index makes TransformRemote cheap.
// Owner thread only.
class StablePendingEdits : public PendingEdits {
 public:
  void Push(std::string payload) final {
    Counted(payload, 1);
    edits_.push_back(std::move(payload));
  }
  void PopFront() final {
    Counted(edits_.front(), -1);
    edits_.pop_front();
  }
  void Erase(size_t i) final {
    Counted(edits_[i], -1);
    edits_.erase(edits_.begin() + static_cast<long>(i));
  }
  void Clear() final {
    while (!edits_.empty()) PopFront();
  }
  size_t size() const final { return edits_.size(); }
  const std::string& at(size_t i) const final { return edits_[i]; }

 protected:
  // payload entered (+1) or left (-1) the pending edits.
  virtual void Counted(const std::string& payload, int delta) = 0;

 private:
  std::deque<std::string> edits_;
};

// An application-defined or built-in document type: a factory plus the operations on fragments
// that do not need a document. Implementations are stateless. Thread-safe.
class DocumentType {
 public:
  virtual ~DocumentType() = default;

  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<Document> Create() const = 0;
  // The member that holds Document::ToJson in zincctl's JSON ({"type":..,"seq":..,FIELD:..}).
  virtual std::string_view json_field() const { return "state"; }

  // Transforms op, made concurrently with against (both on the same state), so that it applies
  // after against with the intended effect. op_wins breaks ties (true when op comes later in seq
  // order at the host, false when a client transforms a remote fragment against its pending
  // ones). Must satisfy TP1: apply(apply(s, a), T(b, a, w)) == apply(apply(s, b), T(a, b, !w)).
  virtual Result<std::string> Transform(std::string_view op, std::string_view against,
                                        bool op_wins) const = 0;

  // Whether the host must transform a fragment from its base_seq up to the head. False for
  // types whose concurrent fragments already mean the right thing when applied in seq order
  // (last writer wins, append-only).
  virtual bool host_transforms() const { return true; }

  // Whether payload is housekeeping (Document::Collect's), which the host sequences only from
  // itself and refuses from anyone else.
  virtual bool IsHousekeeping(std::string_view payload) const {
    (void)payload;
    return false;
  }

  // A new, empty set of pending edits for a client replica. Default: PairwisePendingEdits.
  virtual std::unique_ptr<PendingEdits> NewPendingEdits() const {
    return std::make_unique<PairwisePendingEdits>(this);
  }

  // Parses one JSON edit as zincctl reads it (e.g. {"set":["k",1]}) into a payload.
  virtual Result<std::string> FragmentFromJson(std::string_view json) const = 0;
  // Renders a payload as JSON, the inverse of FragmentFromJson. "null" for a bad payload.
  virtual std::string FragmentToJson(std::string_view payload) const = 0;
};

inline Result<std::string> PairwisePendingEdits::Exchange(std::string incoming,
                                                          bool incoming_wins) {
  for (std::string& p : edits_) {
    Result<std::string> r = type_->Transform(incoming, p, incoming_wins);
    if (!r.ok()) return r.status();
    Result<std::string> l = type_->Transform(p, incoming, !incoming_wins);
    if (!l.ok()) return l.status();
    incoming = std::move(r).value();
    p = std::move(l).value();
  }
  return incoming;
}

}  // namespace zinc

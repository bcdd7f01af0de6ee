#include "documents/rope.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace zinc {

namespace internal {

// One chunk of the text and the cached totals of the subtree it roots.
struct RopeNode {
  std::string text;
  size_t cps = 0;  // code points in text
  size_t sub_cps = 0;
  size_t sub_bytes = 0;
  size_t sub_nodes = 0;
  // Heap order: a node's priority is at least its children's.
  uint64_t prio = 0;
  std::unique_ptr<RopeNode> left;
  std::unique_ptr<RopeNode> right;
};

}  // namespace internal

namespace {

using Node = internal::RopeNode;
using NodePtr = std::unique_ptr<Node>;

// Chunks smaller than this are merged with a neighbour when an erase leaves them so; every chunk
// but a lone one is at least this big.
constexpr size_t kMinChunkBytes = Rope::kMaxChunkBytes / 4;

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t SubCps(const NodePtr& t) { return t ? t->sub_cps : 0; }
size_t SubBytes(const NodePtr& t) { return t ? t->sub_bytes : 0; }
size_t SubNodes(const NodePtr& t) { return t ? t->sub_nodes : 0; }

void Update(Node* t) {
  t->sub_cps = SubCps(t->left) + t->cps + SubCps(t->right);
  t->sub_bytes = SubBytes(t->left) + t->text.size() + SubBytes(t->right);
  t->sub_nodes = SubNodes(t->left) + 1 + SubNodes(t->right);
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Priorities an attacker cannot predict, so no sequence of edits from the network can make the
// tree degenerate.
uint64_t RandomSeed() {
  uint64_t seed = reinterpret_cast<uintptr_t>(&seed);
  try {
    std::random_device rd;
    seed ^= (static_cast<uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
    // No entropy source: the address above still varies between runs with ASLR.
  }
  return seed;
}

NodePtr Merge(NodePtr a, NodePtr b) {
  if (!a) return b;
  if (!b) return a;
  if (a->prio >= b->prio) {
    a->right = Merge(std::move(a->right), std::move(b));
    Update(a.get());
    return a;
  }
  b->left = Merge(std::move(a), std::move(b->left));
  Update(b.get());
  return b;
}

// Splits t into the chunks before code point pos and the rest. REQUIRES: pos is a chunk boundary
// of t (0, SubCps(t), or where one chunk ends and the next begins).
void SplitAtBoundary(NodePtr t, size_t pos, NodePtr* l, NodePtr* r) {
  if (!t) {
    l->reset();
    r->reset();
    return;
  }
  const size_t lc = SubCps(t->left);
  if (pos <= lc) {
    NodePtr left = std::move(t->left);
    SplitAtBoundary(std::move(left), pos, l, &t->left);
    Update(t.get());
    *r = std::move(t);
  } else {
    NodePtr right = std::move(t->right);
    SplitAtBoundary(std::move(right), pos - lc - std::min(pos - lc, t->cps), &t->right, r);
    Update(t.get());
    *l = std::move(t);
  }
}

// Cuts text into chunks of at most kMaxChunkBytes at code point boundaries, as even as possible
// (each at least about kMaxChunkBytes / 2 when there are several).
std::vector<std::string_view> Cut(std::string_view text) {
  constexpr size_t kTarget = Rope::kMaxChunkBytes - 4;
  std::vector<std::string_view> pieces;
  pieces.reserve(text.size() / kTarget + 1);
  while (!text.empty()) {
    size_t n = text.size();
    if (n > Rope::kMaxChunkBytes) {
      const size_t m = (n + kTarget - 1) / kTarget;
      n = (n + m - 1) / m;  // <= kTarget
      while (n < text.size() && IsContinuation(text[n])) ++n;
    }
    pieces.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return pieces;
}

// Builds a treap of the chunks of text, in order, in O(chunks): a Cartesian tree built along
// its right spine.
NodePtr Build(std::string_view text, uint64_t* rng) {
  std::vector<NodePtr> spine;
  for (std::string_view piece : Cut(text)) {
    auto node = std::make_unique<Node>();
    node->text = std::string(piece);
    node->cps = CountCodePoints(piece);
    node->prio = SplitMix64(rng);
    NodePtr last;
    while (!spine.empty() && spine.back()->prio < node->prio) {
      NodePtr top = std::move(spine.back());
      spine.pop_back();
      top->right = std::move(last);
      Update(top.get());
      last = std::move(top);
    }
    node->left = std::move(last);
    spine.push_back(std::move(node));
  }
  NodePtr last;
  while (!spine.empty()) {
    NodePtr top = std::move(spine.back());
    spine.pop_back();
    top->right = std::move(last);
    Update(top.get());
    last = std::move(top);
  }
  return last;
}

// Descends from t to the chunk where an insert at pos goes: the one that contains pos or ends at
// it (the first chunk when pos is 0). Calls on_path(node) for every node on the way, the chunk's
// included. Sets *offset to pos's code point offset within the chunk. REQUIRES: t is not null,
// pos <= SubCps(t).
template <typename OnPath>
Node* FindForInsert(Node* t, size_t pos, size_t* offset, OnPath on_path) {
  for (;;) {
    on_path(t);
    const size_t lc = SubCps(t->left);
    if (t->left && pos <= lc) {
      t = t->left.get();
      continue;
    }
    pos -= lc;
    if (pos <= t->cps || !t->right) {
      *offset = std::min(pos, t->cps);
      return t;
    }
    pos -= t->cps;
    t = t->right.get();
  }
}

// Descends from t to the chunk that holds code point pos, calling on_path for each node on the
// way. Sets *offset to pos's offset within the chunk. REQUIRES: pos < SubCps(t).
template <typename OnPath>
Node* FindForErase(Node* t, size_t pos, size_t* offset, OnPath on_path) {
  for (;;) {
    on_path(t);
    const size_t lc = SubCps(t->left);
    if (pos < lc) {
      t = t->left.get();
      continue;
    }
    pos -= lc;
    if (pos < t->cps || !t->right) {
      *offset = pos;
      return t;
    }
    pos -= t->cps;
    t = t->right.get();
  }
}

NodePtr Clone(const NodePtr& t) {
  if (!t) return nullptr;
  auto c = std::make_unique<Node>();
  c->text = t->text;
  c->cps = t->cps;
  c->sub_cps = t->sub_cps;
  c->sub_bytes = t->sub_bytes;
  c->sub_nodes = t->sub_nodes;
  c->prio = t->prio;
  c->left = Clone(t->left);
  c->right = Clone(t->right);
  return c;
}

// Appends the code points [pos, end) of the subtree t to out.
void Collect(const Node* t, size_t pos, size_t end, std::string* out) {
  while (t != nullptr && pos < end) {
    const size_t lc = SubCps(t->left);
    if (pos < lc) Collect(t->left.get(), pos, std::min(end, lc), out);
    const size_t cs = std::max(pos, lc);
    const size_t ce = std::min(end, lc + t->cps);
    if (cs < ce) {
      const size_t b0 = cs == lc ? 0 : Utf8ByteOffset(t->text, cs - lc);
      const size_t b1 = ce == lc + t->cps ? t->text.size() : Utf8ByteOffset(t->text, ce - lc);
      out->append(t->text, b0, b1 - b0);
    }
    if (end <= lc + t->cps) return;
    pos = pos > lc + t->cps ? pos - lc - t->cps : 0;
    end -= lc + t->cps;
    t = t->right.get();
  }
}

void Visit(const Node* t, const std::function<void(std::string_view)>& fn) {
  while (t != nullptr) {
    Visit(t->left.get(), fn);
    fn(t->text);
    t = t->right.get();
  }
}

// Destroys a subtree without recursion (unique_ptr's destructor would recurse).
void Destroy(NodePtr t) {
  std::vector<NodePtr> todo;
  if (t) todo.push_back(std::move(t));
  while (!todo.empty()) {
    NodePtr n = std::move(todo.back());
    todo.pop_back();
    if (n->left) todo.push_back(std::move(n->left));
    if (n->right) todo.push_back(std::move(n->right));
  }
}

bool Check(const NodePtr& t, bool lone, size_t* depth) {
  if (!t) {
    *depth = 0;
    return true;
  }
  size_t dl = 0, dr = 0;
  if (!Check(t->left, lone, &dl) || !Check(t->right, lone, &dr)) return false;
  *depth = 1 + std::max(dl, dr);
  size_t cps = 0;
  if (t->text.empty() || t->text.size() > Rope::kMaxChunkBytes) return false;
  if (!lone && t->text.size() < kMinChunkBytes) return false;
  if (!IsValidUtf8(t->text, &cps) || cps != t->cps) return false;
  if (t->left && t->left->prio > t->prio) return false;
  if (t->right && t->right->prio > t->prio) return false;
  return t->sub_cps == SubCps(t->left) + t->cps + SubCps(t->right) &&
         t->sub_bytes == SubBytes(t->left) + t->text.size() + SubBytes(t->right) &&
         t->sub_nodes == SubNodes(t->left) + 1 + SubNodes(t->right);
}

}  // namespace

bool IsValidUtf8(std::string_view s, size_t* code_points) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  size_t cps = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      ++cps;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // a continuation byte, an overlong 2-byte lead, or F5..FF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
    ++cps;
  }
  if (code_points != nullptr) *code_points = cps;
  return true;
}

size_t CountCodePoints(std::string_view s) {
  size_t cps = 0;
  for (char c : s) cps += IsContinuation(c) ? 0 : 1;
  return cps;
}

size_t Utf8ByteOffset(std::string_view s, size_t n) {
  if (n == 0) return 0;
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsContinuation(s[i])) {
      if (seen == n) return i;
      ++seen;
    }
  }
  return s.size();
}

namespace {

// The byte offset of code point n in a chunk: an all-ASCII chunk (as many code points as
// bytes) needs no scan, which is most chunks of most texts.
size_t ChunkByteOffset(const std::string& text, size_t cps, size_t n) {
  return cps == text.size() ? n : Utf8ByteOffset(text, n);
}

}  // namespace

Rope::Rope() : rng_state_(RandomSeed()) {}

Rope::~Rope() { Destroy(std::move(root_)); }

Rope::Rope(const Rope& other) : root_(Clone(other.root_)), rng_state_(RandomSeed()) {}

Rope& Rope::operator=(const Rope& other) {
  if (this != &other) {
    NodePtr copy = Clone(other.root_);
    Destroy(std::move(root_));
    root_ = std::move(copy);
  }
  return *this;
}

Rope::Rope(Rope&& other) noexcept
    : root_(std::move(other.root_)), rng_state_(other.rng_state_ ^ 0x5DEECE66Dull) {}

Rope& Rope::operator=(Rope&& other) noexcept {
  if (this != &other) {
    Destroy(std::move(root_));
    root_ = std::move(other.root_);
  }
  return *this;
}

size_t Rope::size() const { return SubCps(root_); }
size_t Rope::size_bytes() const { return SubBytes(root_); }
size_t Rope::chunk_count() const { return SubNodes(root_); }

Status Rope::Insert(size_t pos, std::string_view utf8) {
  if (pos > size()) {
    return Status(StatusCode::kOutOfRange, "insert at " + std::to_string(pos) +
                                               " beyond the end (" + std::to_string(size()) + ")");
  }
  size_t cps;
  if (!IsValidUtf8(utf8, &cps)) return Status(StatusCode::kMalformed, "insert of invalid UTF-8");
  if (utf8.empty()) return Status::Ok();
  if (!root_) {
    root_ = Build(utf8, &rng_state_);
    return Status::Ok();
  }
  size_t offset;
  Node* chunk = FindForInsert(root_.get(), pos, &offset, [](Node*) {});
  const size_t byte_offset = ChunkByteOffset(chunk->text, chunk->cps, offset);
  if (chunk->text.size() + utf8.size() <= kMaxChunkBytes) {
    // The common case, typing: the chunk has room. Walk the same path again to fix the totals.
    FindForInsert(root_.get(), pos, &offset, [&](Node* t) {
      t->sub_cps += cps;
      t->sub_bytes += utf8.size();
    });
    chunk->text.insert(byte_offset, utf8);
    chunk->cps += cps;
    return Status::Ok();
  }
  // Replace the chunk by the chunks of its text with utf8 inserted.
  std::string text;
  text.reserve(chunk->text.size() + utf8.size());
  text.append(chunk->text, 0, byte_offset);
  text.append(utf8);
  text.append(chunk->text, byte_offset, std::string::npos);
  const size_t start = pos - offset;
  const size_t chunk_cps = chunk->cps;
  NodePtr left, rest, mid, right;
  SplitAtBoundary(std::move(root_), start, &left, &rest);
  SplitAtBoundary(std::move(rest), chunk_cps, &mid, &right);
  mid.reset();  // just the one chunk
  root_ = Merge(Merge(std::move(left), Build(text, &rng_state_)), std::move(right));
  return Status::Ok();
}

Status Rope::Erase(size_t pos, size_t count) {
  if (count > size() || pos > size() - count) {
    return Status(StatusCode::kOutOfRange, "erase of [" + std::to_string(pos) + ", +" +
                                               std::to_string(count) + ") beyond the end (" +
                                               std::to_string(size()) + ")");
  }
  if (count == 0) return Status::Ok();
  size_t offset_a;
  Node* a = FindForErase(root_.get(), pos, &offset_a, [](Node*) {});
  const size_t start_a = pos - offset_a;
  const size_t byte_a = ChunkByteOffset(a->text, a->cps, offset_a);
  if (offset_a + count <= a->cps) {
    const size_t byte_end = ChunkByteOffset(a->text, a->cps, offset_a + count);
    const size_t bytes = byte_end - byte_a;
    const size_t left_bytes = a->text.size() - bytes;
    if (left_bytes > 0 && (left_bytes >= kMinChunkBytes || SubNodes(root_) == 1)) {
      // Within one chunk, which stays big enough: edit it in place.
      FindForErase(root_.get(), pos, &offset_a, [&](Node* t) {
        t->sub_cps -= count;
        t->sub_bytes -= bytes;
      });
      a->text.erase(byte_a, bytes);
      a->cps -= count;
      return Status::Ok();
    }
  }
  // Cut out the chunks from a to b (which holds the last erased code point) and put back what
  // they keep, merged with a neighbour if that is small.
  size_t offset_b;
  Node* b = FindForErase(root_.get(), pos + count - 1, &offset_b, [](Node*) {});
  const size_t end_b = pos + count - 1 - offset_b + b->cps;
  std::string text(a->text, 0, byte_a);
  text.append(b->text, ChunkByteOffset(b->text, b->cps, offset_b + 1), std::string::npos);
  NodePtr left, rest, mid, right;
  SplitAtBoundary(std::move(root_), start_a, &left, &rest);
  SplitAtBoundary(std::move(rest), end_b - start_a, &mid, &right);
  Destroy(std::move(mid));
  if (text.size() < kMinChunkBytes) {
    if (right) {
      const Node* first = right.get();
      while (first->left) first = first->left.get();
      const size_t cut = first->cps;
      NodePtr head;
      SplitAtBoundary(std::move(right), cut, &head, &right);
      text.append(head->text);
    } else if (left) {
      const Node* last = left.get();
      while (last->right) last = last->right.get();
      const size_t cut = left->sub_cps - last->cps;
      NodePtr tail;
      SplitAtBoundary(std::move(left), cut, &left, &tail);
      text.insert(0, tail->text);
    }
  }
  root_ = Merge(Merge(std::move(left), Build(text, &rng_state_)), std::move(right));
  return Status::Ok();
}

void Rope::Clear() { Destroy(std::move(root_)); }

std::string Rope::ToString() const {
  std::string out;
  out.reserve(size_bytes());
  Visit(root_.get(), [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

std::string Rope::Substr(size_t pos, size_t count) const {
  std::string out;
  const size_t end = count > size() - std::min(pos, size()) ? size() : pos + count;
  Collect(root_.get(), pos, end, &out);
  return out;
}

void Rope::ForEachChunk(const std::function<void(std::string_view)>& fn) const {
  Visit(root_.get(), fn);
}

bool Rope::CheckInvariants() const {
  size_t d = 0;
  return Check(root_, SubNodes(root_) <= 1, &d);
}

size_t Rope::depth() const {
  // A broken tree leaves d where Check stopped: 0 rather than garbage.
  size_t d = 0;
  Check(root_, true, &d);
  return d;
}

}  // namespace zinc

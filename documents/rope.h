#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace zinc {

namespace internal {
struct RopeNode;
}  // namespace internal

// Whether s is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..U+DFFF),
// nothing above U+10FFFF, no truncated sequence. U+0000 is allowed. When it is and code_points
// is not null, sets *code_points to the number of code points in s. O(s.size()).
bool IsValidUtf8(std::string_view s, size_t* code_points = nullptr);

// The number of code points in s: the bytes that are not UTF-8 continuation bytes.
// REQUIRES: s is valid UTF-8 (otherwise the count is meaningless, but nothing breaks).
size_t CountCodePoints(std::string_view s);

// The byte offset of code point n of s (s.size() when n is the number of code points or more).
// REQUIRES: s is valid UTF-8. O(bytes scanned).
size_t Utf8ByteOffset(std::string_view s, size_t n);

// A mutable Unicode text: a treap (randomised balanced binary tree) of UTF-8 chunks of at most
// kMaxChunkBytes bytes, each node caching the code points and bytes of its subtree. Positions
// and counts are in code points. Insert and Erase cost O(log n) expected plus the bytes inserted
// and the chunks erased, and never copy or scan the whole text; Substr costs O(log n + count).
// Chunks are never empty and hold whole code points; every chunk but a lone one holds at least
// kMaxChunkBytes / 4 bytes (an erase that leaves less merges it with a neighbour). Node
// priorities come from a generator seeded per rope from std::random_device, so no sequence of
// edits from the network can predictably unbalance the tree.
// Copying a Rope copies the text (O(n)). Thread-compatible.
class Rope {
 public:
  // The largest chunk, in bytes.
  static constexpr size_t kMaxChunkBytes = 512;

  Rope();
  ~Rope();
  Rope(const Rope& other);
  Rope& operator=(const Rope& other);
  Rope(Rope&& other) noexcept;
  Rope& operator=(Rope&& other) noexcept;

  // The length in code points.
  size_t size() const;
  // The length in bytes of the UTF-8 text.
  size_t size_bytes() const;
  bool empty() const { return size() == 0; }

  // Inserts utf8 before code point pos (pos == size() appends). Returns kOutOfRange if
  // pos > size(), kMalformed if utf8 is not valid UTF-8; either way the rope is unchanged.
  Status Insert(size_t pos, std::string_view utf8);
  // Erases count code points starting at pos. Returns kOutOfRange, changing nothing, if
  // pos + count > size().
  Status Erase(size_t pos, size_t count);
  // Removes everything. O(n).
  void Clear();

  // The whole text as one UTF-8 string. O(n).
  std::string ToString() const;
  // The count code points starting at pos, clamped to the end of the text (empty when
  // pos >= size()). O(log n + count).
  std::string Substr(size_t pos, size_t count) const;
  // Calls fn(chunk) for each chunk, in order; the chunks concatenate to ToString(). fn must not
  // modify the rope. O(n).
  void ForEachChunk(const std::function<void(std::string_view)>& fn) const;

  // Checks the tree's cached counts, heap order and chunk invariants. O(n); for tests.
  bool CheckInvariants() const;
  // The number of chunks (nodes). O(1).
  size_t chunk_count() const;
  // The depth of the tree. O(n); for tests.
  size_t depth() const;

 private:
  std::unique_ptr<internal::RopeNode> root_;
  // The state of the generator of node priorities (splitmix64).
  uint64_t rng_state_;
};

}  // namespace zinc

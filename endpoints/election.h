#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "core/ids.h"

namespace zinc {
namespace internal {

// The standby's count of the members' votes that the root is lost (docs/failover.md, "The
// election"). A vote counts for one heartbeat timeout after it came; the standby is elected
// when more than half of the voters it is given (the roster's members but the root, itself
// among them) have a live vote; an election that finds no majority for kGiveUpTimeouts
// heartbeat timeouts is given up (this standby is the one cut off). Time is the caller's
// (the endpoint's Clock), so the rules run in unit tests on a ManualClock. Thread-compatible:
// the endpoint holds tree_mu_.
class Election {
 public:
  static constexpr int kGiveUpTimeouts = 20;
  enum class Outcome { kUndecided, kElected, kGaveUp };

  // timeout_micros: a heartbeat timeout (heartbeat * heartbeat_misses), > 0.
  explicit Election(int64_t timeout_micros) : timeout_micros_(timeout_micros) {}

  // A member's vote (its RootLost), or the standby's own. At most max_votes are kept (a vote
  // from a new origin beyond them is dropped: voters are roster members, which are bounded).
  void Vote(const EndpointId& from, int64_t now_micros);
  // The standby lost the root: the election runs from now on (a second call changes nothing).
  // Returns whether it started now.
  bool Start(int64_t now_micros);
  bool running() const { return since_micros_ != 0; }
  // The root is back, a new root took over, or this endpoint did: no election, no votes.
  void Clear();

  // Counts the live votes of voters. kGaveUp (and the election cleared) once it has run for
  // kGiveUpTimeouts timeouts without a majority; kUndecided while it is not running.
  Outcome Count(int64_t now_micros, const std::vector<EndpointId>& voters);

  // Who voted (a new root waits for their tails).
  std::vector<EndpointId> Voters() const;
  size_t votes() const { return votes_.size(); }
  // The live votes the last Count found.
  size_t live_votes() const { return live_; }

  static constexpr size_t kMaxVotes = 4096;

 private:
  const int64_t timeout_micros_;
  int64_t since_micros_ = 0;
  size_t live_ = 0;
  std::map<EndpointId, int64_t> votes_;
};

}  // namespace internal
}  // namespace zinc

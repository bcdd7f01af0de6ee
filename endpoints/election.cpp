#include "endpoints/election.h"

namespace zinc {
namespace internal {

void Election::Vote(const EndpointId& from, int64_t now_micros) {
  auto it = votes_.find(from);
  if (it != votes_.end()) {
    it->second = now_micros;
  } else if (votes_.size() < kMaxVotes) {
    votes_.emplace(from, now_micros);
  }
}

bool Election::Start(int64_t now_micros) {
  if (since_micros_ != 0) return false;
  since_micros_ = now_micros;
  return true;
}

void Election::Clear() {
  since_micros_ = 0;
  votes_.clear();
}

Election::Outcome Election::Count(int64_t now_micros, const std::vector<EndpointId>& voters) {
  if (since_micros_ == 0) return Outcome::kUndecided;
  size_t yes = 0;
  for (const EndpointId& id : voters) {
    auto v = votes_.find(id);
    if (v != votes_.end() && now_micros - v->second <= timeout_micros_) ++yes;
  }
  live_ = yes;
  if (2 * yes > voters.size()) return Outcome::kElected;
  if (now_micros - since_micros_ > kGiveUpTimeouts * timeout_micros_) {
    Clear();
    return Outcome::kGaveUp;
  }
  return Outcome::kUndecided;
}

std::vector<EndpointId> Election::Voters() const {
  std::vector<EndpointId> ids;
  ids.reserve(votes_.size());
  for (const auto& [id, when] : votes_) ids.push_back(id);
  return ids;
}

}  // namespace internal
}  // namespace zinc

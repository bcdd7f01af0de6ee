#pragma once

#include <chrono>
#include <thread>

namespace zinc {
namespace testing {

// Polls pred until it holds or timeout passes; returns its last value. The way tests wait for
// an outcome: a condition with a deadline, never a bare sleep.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace testing
}  // namespace zinc

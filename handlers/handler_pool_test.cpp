#include "handlers/handler_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::WaitFor;
using namespace std::chrono_literals;

constexpr auto kDeadline = 20s;

// A one-shot event with a deadline: the way a task waits for the test (or another task).
class Event {
 public:
  void Set() {
    {
      std::lock_guard<std::mutex> l(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  // Returns whether the event was set before the deadline.
  bool Wait(std::chrono::milliseconds timeout = kDeadline) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [this] { return set_; });
  }
  bool is_set() {
    std::lock_guard<std::mutex> l(mu_);
    return set_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

std::string Key(int k) { return "doc-" + std::to_string(k); }

TEST(HandlerPoolTest, TasksOfOneKeyRunInSubmissionOrder) {
  constexpr int kKeys = 8;
  constexpr int kTasks = 10000;
  constexpr int kSubmitters = 2;

  std::mutex record_mu;
  std::vector<std::pair<int, int>> records;  // (key, index) in run order
  std::atomic<int> ran{0};

  // Submission order across the two submitters is defined by submit_mu: the index of a task is
  // taken and the task submitted under it.
  std::mutex submit_mu;
  std::array<int, kKeys> next_index{};

  HandlerPool pool(4);
  std::vector<std::thread> submitters;
  for (int t = 0; t < kSubmitters; ++t) {
    submitters.emplace_back([&, t] {
      std::mt19937 rng(100 + static_cast<uint32_t>(t));
      for (int i = 0; i < kTasks / kSubmitters; ++i) {
        const int key = static_cast<int>(rng() % kKeys);
        std::lock_guard<std::mutex> l(submit_mu);
        const int index = next_index[static_cast<size_t>(key)]++;
        const Status s = pool.Submit(Key(key), [&, key, index] {
          {
            std::lock_guard<std::mutex> rl(record_mu);
            records.emplace_back(key, index);
          }
          ran.fetch_add(1);
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  for (auto& t : submitters) t.join();
  ASSERT_TRUE(WaitFor([&] { return ran.load() == kTasks; }, kDeadline)) << ran.load();
  pool.Stop();

  std::array<int, kKeys> seen{};
  std::lock_guard<std::mutex> l(record_mu);
  ASSERT_EQ(records.size(), static_cast<size_t>(kTasks));
  for (const auto& [key, index] : records) {
    // Per key the indices arrive as 0, 1, 2, ...: increasing, no gaps, no repeats.
    ASSERT_EQ(index, seen[static_cast<size_t>(key)]) << "key " << key;
    ++seen[static_cast<size_t>(key)];
  }
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(seen[static_cast<size_t>(k)], next_index[static_cast<size_t>(k)]) << "key " << k;
  }
}

TEST(HandlerPoolTest, TasksOfOneKeyNeverOverlap) {
  constexpr int kKeys = 4;
  constexpr int kTasks = 4000;
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::array<std::atomic<int>, kKeys> max_in_flight{};
  std::atomic<int> ran{0};

  HandlerPool pool(4);
  for (int i = 0; i < kTasks; ++i) {
    const size_t key = static_cast<size_t>(i % kKeys);
    const Status s = pool.Submit(Key(static_cast<int>(key)), [&, key] {
      const int now = in_flight[key].fetch_add(1) + 1;
      int seen = max_in_flight[key].load();
      while (now > seen && !max_in_flight[key].compare_exchange_weak(seen, now)) {
      }
      std::this_thread::yield();  // widen the window in which an overlap would show
      in_flight[key].fetch_sub(1);
      ran.fetch_add(1);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_TRUE(WaitFor([&] { return ran.load() == kTasks; }, kDeadline)) << ran.load();
  for (size_t k = 0; k < kKeys; ++k) EXPECT_EQ(max_in_flight[k].load(), 1) << "key " << k;
}

TEST(HandlerPoolTest, TasksOfDifferentKeysRunInParallel) {
  // Each task announces that it runs and then waits for the other one: both can only finish if
  // the two keys run at the same time on the two workers.
  Event a_running, b_running;
  std::atomic<bool> a_saw_b{false}, b_saw_a{false};
  std::atomic<int> finished{0};

  HandlerPool pool(2);
  ASSERT_TRUE(pool.Submit("a",
                          [&] {
                            a_running.Set();
                            a_saw_b = b_running.Wait();
                            finished.fetch_add(1);
                          })
                  .ok());
  ASSERT_TRUE(pool.Submit("b",
                          [&] {
                            b_running.Set();
                            b_saw_a = a_running.Wait();
                            finished.fetch_add(1);
                          })
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return finished.load() == 2; }, kDeadline + 5s));
  EXPECT_TRUE(a_saw_b.load());
  EXPECT_TRUE(b_saw_a.load());
}

TEST(HandlerPoolTest, AnUrgentStrandGoesAheadOfTheWaitingOnes) {
  // One worker, held; ten strands wait; an urgent task comes last and runs first of them. Its
  // strand, kept busy, then takes its turn behind the others.
  Event started, release;
  HandlerPool pool(1);
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    return [&, what] {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(what);
    };
  };
  ASSERT_TRUE(pool.Submit("held",
                          [&] {
                            started.Set();
                            release.Wait();
                          })
                  .ok());
  ASSERT_TRUE(started.Wait());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.Submit(Key(i), note(Key(i))).ok());
  ASSERT_TRUE(
      pool.Submit("control", note("control"), false, 1, HandlerPool::Priority::kUrgent).ok());
  release.Set();
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return order.size() == 11;
      },
      kDeadline));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(order.front(), "control");
  EXPECT_EQ(order[1], Key(0));
  EXPECT_EQ(order.back(), Key(9));
}

TEST(HandlerPoolTest, SubmitAfterStopIsClosed) {
  std::atomic<int> ran{0};
  HandlerPool pool(2);
  pool.Stop();
  const Status s = pool.Submit("k", [&] { ran.fetch_add(1); });
  EXPECT_EQ(s.code(), StatusCode::kClosed) << s.ToString();
  const Status blocking = pool.Submit(
      "k", [&] { ran.fetch_add(1); }, /*block=*/true);
  EXPECT_EQ(blocking.code(), StatusCode::kClosed) << blocking.ToString();
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_EQ(ran.load(), 0);
}

TEST(HandlerPoolTest, StopIsIdempotent) {
  std::atomic<int> ran{0};
  HandlerPool pool(2);
  ASSERT_TRUE(pool.Submit("k", [&] { ran.fetch_add(1); }).ok());
  ASSERT_TRUE(WaitFor([&] { return ran.load() == 1; }, kDeadline));
  pool.Stop();
  pool.Stop();
  EXPECT_EQ(pool.Submit("k", [] {}).code(), StatusCode::kClosed);
  pool.Stop();
  // The destructor stops once more.
}

TEST(HandlerPoolTest, DestructorWithoutStopJoinsTheWorkers) {
  std::atomic<int> ran{0};
  {
    HandlerPool pool(3);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pool.Submit(Key(i % 5), [&] { ++ran; }).ok());
    ASSERT_TRUE(WaitFor([&] { return ran.load() == 100; }, kDeadline));
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(HandlerPoolTest, StopLetsTheRunningTaskFinishAndDropsQueuedOnes) {
  Event started, release;
  std::atomic<bool> running_finished{false};
  std::atomic<int> dropped_ran{0};

  HandlerPool pool(1);
  ASSERT_TRUE(pool.Submit("k",
                          [&] {
                            started.Set();
                            EXPECT_TRUE(release.Wait());
                            running_finished = true;
                          })
                  .ok());
  ASSERT_TRUE(started.Wait());
  // Queued behind the running task, on its key and another.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.Submit(i % 2 ? "k" : "other", [&] { dropped_ran.fetch_add(1); }).ok());
  }
  EXPECT_EQ(pool.queued(), 10u);

  std::thread stopper([&] { pool.Stop(); });
  // Stop has begun once Submit is refused. Until then every probe queues one more task that
  // must be dropped as well.
  ASSERT_TRUE(WaitFor(
      [&] {
        return pool.Submit("probe", [&] { dropped_ran.fetch_add(1); }).code() ==
               StatusCode::kClosed;
      },
      kDeadline));
  release.Set();
  stopper.join();

  EXPECT_TRUE(running_finished.load());
  EXPECT_EQ(dropped_ran.load(), 0);
  EXPECT_EQ(pool.queued(), 0u);
}

TEST(HandlerPoolTest, BlockingSubmitAppliesBackPressureAndCompletesAllTasks) {
  constexpr size_t kMaxQueued = 4;
  constexpr int kTasks = 200;
  Event gate_running, open_gate;
  std::atomic<int> attempted{0}, submitted{0}, ran{0};
  std::atomic<size_t> max_queued_seen{0};

  HandlerPool pool(1, kMaxQueued);
  // Occupy the only worker so that the queue fills up.
  ASSERT_TRUE(pool.Submit("gate",
                          [&] {
                            gate_running.Set();
                            EXPECT_TRUE(open_gate.Wait());
                          })
                  .ok());
  ASSERT_TRUE(gate_running.Wait());

  std::thread submitter([&] {
    for (int i = 0; i < kTasks; ++i) {
      attempted.fetch_add(1);
      const Status s = pool.Submit(
          Key(i % 3),
          [&] {
            size_t q = pool.queued();
            size_t seen = max_queued_seen.load();
            while (q > seen && !max_queued_seen.compare_exchange_weak(seen, q)) {
            }
            ran.fetch_add(1);
          },
          /*block=*/true);
      EXPECT_TRUE(s.ok()) << s.ToString();
      submitted.fetch_add(1);
    }
  });

  // The submitter fills the queue and then blocks in its fifth Submit.
  EXPECT_TRUE(WaitFor(
      [&] {
        return attempted.load() == static_cast<int>(kMaxQueued) + 1 &&
               submitted.load() == static_cast<int>(kMaxQueued);
      },
      kDeadline))
      << "attempted " << attempted.load() << ", submitted " << submitted.load();
  EXPECT_EQ(pool.queued(), kMaxQueued);
  EXPECT_EQ(ran.load(), 0);

  open_gate.Set();
  submitter.join();
  ASSERT_TRUE(WaitFor([&] { return ran.load() == kTasks; }, kDeadline)) << ran.load();
  EXPECT_EQ(submitted.load(), kTasks);
  EXPECT_LE(max_queued_seen.load(), kMaxQueued);
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
}  // namespace zinc

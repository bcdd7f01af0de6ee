// The journal's group commit on a memory store: frames go out only after their records are
// committed, in the order they came; a failed commit drops its frames, tells each document once
// and drops its later entries until its reload marker; frames without records wait behind the
// commits before them.

#include "endpoints/journal.h"

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"

namespace zinc {
namespace internal {
namespace {

// A memory store whose commits fail while fail is set (a full disk).
class FlakyStore final : public Store {
 public:
  Status Commit(const WriteBatch& batch) override {
    if (fail) return Status(StatusCode::kIoError, "the disk is full");
    return inner_->Commit(batch);
  }
  Result<uint64_t> Epoch() override { return inner_->Epoch(); }
  Result<std::vector<std::string>> Documents() override { return inner_->Documents(); }
  Result<StoredDocument> Load(const std::string& doc) override { return inner_->Load(doc); }
  Result<DocumentStat> Stat(const std::string& doc) override { return inner_->Stat(doc); }
  Status ReadLog(const std::string& doc, uint64_t from, uint64_t to,
                 const std::function<bool(uint64_t, std::string_view)>& fn) override {
    return inner_->ReadLog(doc, from, to, fn);
  }
  std::string Describe() const override { return "flaky"; }
  std::atomic<bool> fail{false};

 private:
  std::unique_ptr<Store> inner_ = NewMemoryStore();
};

class JournalTest : public ::testing::Test {
 protected:
  JournalTest()
      : logger_(&clock_, LogLevel::kOff, "test"),
        journal_(
            &store_,
            [this](std::vector<OutboundFrame> frames) {
              std::lock_guard<std::mutex> l(mu_);
              for (OutboundFrame& f : frames) sent_.push_back(f.payload);
            },
            &logger_) {}

  std::vector<std::string> Sent() {
    journal_.Flush();
    std::lock_guard<std::mutex> l(mu_);
    return sent_;
  }
  static std::vector<OutboundFrame> Frame(const std::string& payload) {
    std::vector<OutboundFrame> out;
    out.push_back(OutboundFrame{Route::kPublish, "d", payload});
    return out;
  }
  static WriteBatch Record(const std::string& doc, uint64_t seq, bool create = false) {
    WriteBatch b;
    if (create) b.Create(doc, "map");
    b.Append(doc, seq, "r" + std::to_string(seq));
    return b;
  }

  ManualClock clock_;
  Logger logger_;
  FlakyStore store_;
  std::mutex mu_;
  std::vector<std::string> sent_;
  Journal journal_;
};

TEST_F(JournalTest, FramesGoOutInOrderOnceTheirRecordsAreCommitted) {
  journal_.Submit("a", Record("a", 1, true), Frame("a1"), nullptr);
  journal_.Submit("b", Record("b", 1, true), Frame("b1"), nullptr);
  journal_.Submit("a", WriteBatch(), Frame("a-snapshot"), nullptr);
  journal_.Submit("a", Record("a", 2), Frame("a2"), nullptr);
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a1", "b1", "a-snapshot", "a2"}));
  EXPECT_EQ(store_.Load("a")->log.size(), 2u);
  EXPECT_EQ(store_.Load("b")->log.size(), 1u);
  EXPECT_GE(journal_.commits(), 1u);
}

TEST_F(JournalTest, AFailedCommitDropsItsFramesAndTheDocumentUntilItReloads) {
  journal_.Submit("a", Record("a", 1, true), Frame("a1"), nullptr);
  journal_.Submit("b", Record("b", 1, true), Frame("b1"), nullptr);
  ASSERT_EQ(Sent().size(), 2u);
  store_.fail = true;
  std::atomic<int> told{0};
  auto failed = [&](const Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    ++told;
  };
  journal_.Submit("a", Record("a", 2), Frame("a2"), failed);
  journal_.Flush();
  // Its later entries, records or not, are dropped (they show state that is not on disk), and
  // it is told once.
  journal_.Submit("a", WriteBatch(), Frame("a-snapshot-unsure"), failed);
  journal_.Submit("a", Record("a", 3), Frame("a3"), failed);
  store_.fail = false;
  // Another document is not held up.
  journal_.Submit("b", WriteBatch(), Frame("b-snapshot"), nullptr);
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a1", "b1", "b-snapshot"}));
  EXPECT_EQ(told.load(), 1);
  // Reloaded: taken again.
  journal_.Reloaded("a");
  journal_.Submit("a", WriteBatch(), Frame("a-snapshot"), nullptr);
  journal_.Submit("a", Record("a", 2), Frame("a2-again"), nullptr);
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a1", "b1", "b-snapshot", "a-snapshot", "a2-again"}));
  EXPECT_EQ(store_.Load("a")->log.size(), 2u);
}

TEST_F(JournalTest, StopCommitsWhatWasHandedIn) {
  for (uint64_t s = 1; s <= 100; ++s)
    journal_.Submit("a", Record("a", s, s == 1), Frame("f"), nullptr);
  journal_.Stop();
  EXPECT_EQ(store_.Load("a")->log.size(), 100u);
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_EQ(sent_.size(), 100u);
}

}  // namespace
}  // namespace internal
}  // namespace zinc

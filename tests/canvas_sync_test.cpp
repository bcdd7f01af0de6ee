// Canvas documents through a host over tcp: concurrent drawing converges.

#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "documents/canvas_document.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

std::string Snapshot(DocumentHandle* doc) {
  std::string s;
  doc->Read([&](const Document& d) { s = d.Snapshot(); });
  return s;
}

// One random edit by writer w, chosen from what w sees now: adds of its own shapes, and moves,
// appends, reorders and deletes of anyone's.
std::vector<CanvasOp> RandomEdit(DocumentHandle* doc, int w, int n, std::mt19937* rng) {
  std::vector<std::string> ids, strokes;
  double front = 0, back = 0;
  doc->Read([&](const Document& d) {
    const auto& canvas = static_cast<const CanvasDocument&>(d);
    for (const auto& [id, shape] : canvas.shapes()) {
      ids.push_back(id);
      if (shape.kind == CanvasKind::kStroke) strokes.push_back(id);
    }
    front = canvas.FrontZ();
    back = canvas.BackZ();
  });
  auto pick = [&](const std::vector<std::string>& v) { return v[(*rng)() % v.size()]; };
  auto coord = [&] { return static_cast<double>((*rng)() % 2000) / 2; };
  const int roll = static_cast<int>((*rng)() % 10);
  const std::string own = "c" + std::to_string(w) + "-" + std::to_string(n);
  if (ids.empty() || roll < 3) {
    if (roll % 2 == 0) {
      return {CanvasOp::Add(
          own, CanvasKind::kStroke,
          {CanvasString(CanvasProp::kColor, "#ff0000"), CanvasNumber(CanvasProp::kWidth, 3)},
          {{coord(), coord()}, {coord(), coord()}})};
    }
    return {
        CanvasOp::Add(own, CanvasKind::kRect,
                      {CanvasNumber(CanvasProp::kX, coord()), CanvasNumber(CanvasProp::kY, coord()),
                       CanvasNumber(CanvasProp::kW, 40), CanvasNumber(CanvasProp::kH, 30)})};
  }
  if (roll < 6) {  // Move someone's shape.
    return {CanvasOp::Update(
        pick(ids), {CanvasNumber(CanvasProp::kX, coord()), CanvasNumber(CanvasProp::kY, coord())})};
  }
  if (roll < 8 && !strokes.empty()) {  // Keep drawing a stroke.
    return {CanvasOp::Append(pick(strokes), {{coord(), coord()}, {coord(), coord()}})};
  }
  if (roll == 8) {  // Front or back.
    const bool to_front = (*rng)() % 2 == 0;
    return {CanvasOp::Update(pick(ids), {CanvasNumber(CanvasProp::kZ, to_front ? front : back)})};
  }
  return {CanvasOp::Delete(pick(ids))};
}

// The root collects tombstones every 20 ms meanwhile: collects interleave with the edits, and
// every replica forgets exactly what the root forgets, whatever its own pending deletes.
TEST(CanvasSyncTest, FourClientsDrawingMovingAndDeletingEachOthersShapesConverge) {
  constexpr int kClients = 4;
  constexpr int kEdits = 600;
  EndpointOptions options;
  options.collect_interval = std::chrono::milliseconds(20);
  auto host = StartHost(options);
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> docs;
  OpenOptions open;
  open.type = "canvas";
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(StartClient(*host));
    docs.push_back(*clients.back()->Open("board", open));
    ASSERT_TRUE(docs.back()->WaitSynced(kTimeout).ok());
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kClients; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(100 + w);
      for (int n = 0; n < kEdits; ++n) {
        Status s = docs[w]->Edit(EncodeCanvasOps(RandomEdit(docs[w], w, n, &rng)));
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (n % 32 == 0) {
          ASSERT_TRUE(docs[w]->WaitPendingAtMost(16, kTimeout).ok());
        }
        if (n % 150 == 149) {
          // Let a collect or two in while edits are in flight.
          const uint64_t collects = host->counters().Value("zinc_collects_total");
          ASSERT_TRUE(WaitFor(
              [&] { return host->counters().Value("zinc_collects_total") > collects; }, kTimeout));
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitAcknowledged(kTimeout).ok());
  OpenOptions existing;
  DocumentHandle* at_host = *host->Open("board", existing);
  // Every edit, and the root's collects; wait for a quiet moment with all replicas at the head.
  EXPECT_GE(at_host->seq(), static_cast<uint64_t>(kClients * kEdits));
  std::string want;
  ASSERT_TRUE(WaitFor(
      [&] {
        const uint64_t head = at_host->seq();
        for (DocumentHandle* d : docs) {
          if (d->seq() != head) return false;
        }
        want = Snapshot(at_host);
        for (DocumentHandle* d : docs) {
          if (Snapshot(d) != want) return false;
        }
        return at_host->seq() == head;
      },
      kTimeout));
  EXPECT_EQ(docs[0]->ToJson(), at_host->ToJson());
  // Nothing was refused but edits based before a collect's horizon, which went again:
  // concurrent edits of deleted shapes are dropped cleanly, not errors.
  EXPECT_EQ(host->counters().SumPrefix("zinc_fragments_refused_total") -
                host->counters().Value("zinc_fragments_refused_total{reason=\"NACK_STALE_BASE\"}"),
            0u);
  EXPECT_EQ(host->counters().Value("zinc_edits_refused_total"), 0u);
  for (auto& c : clients) EXPECT_EQ(c->counters().Value("zinc_edits_refused_total"), 0u);
  EXPECT_GE(host->counters().Value("zinc_collects_total"), 3u);
  // The tombstones go within two intervals once nobody deletes.
  ASSERT_TRUE(WaitFor(
      [&] {
        bool empty = false;
        at_host->Read([&](const Document& d) {
          empty = static_cast<const CanvasDocument&>(d).tombstones().empty();
        });
        return empty;
      },
      kTimeout));
  ASSERT_TRUE(WaitFor([&] { return docs[0]->seq() == at_host->seq(); }, kTimeout));
  docs[0]->Read([](const Document& d) {
    EXPECT_TRUE(static_cast<const CanvasDocument&>(d).tombstones().empty());
  });
  want = Snapshot(at_host);
  // A late joiner sees the same canvas.
  auto late = StartClient(*host);
  DocumentHandle* late_doc = *late->Open("board", open);
  ASSERT_TRUE(late_doc->WaitSynced(kTimeout).ok());
  EXPECT_EQ(Snapshot(late_doc), want);
}

TEST(CanvasSyncTest, ConcurrentAddsOfOneIdLeaveOneShapeAndTheLoserResyncs) {
  auto host = StartHost();
  auto a = StartClient(*host);
  auto b = StartClient(*host);
  OpenOptions open;
  open.type = "canvas";
  DocumentHandle* at_a = *a->Open("board", open);
  DocumentHandle* at_b = *b->Open("board", open);
  ASSERT_TRUE(at_a->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitSynced(kTimeout).ok());
  int refused_locally = 0;
  for (int round = 0; round < 20; ++round) {
    const std::string id = "dup" + std::to_string(round);
    const std::string add_a = EncodeCanvasOps(
        {CanvasOp::Add(id, CanvasKind::kRect, {CanvasString(CanvasProp::kColor, "#aa0000")})});
    const std::string add_b = EncodeCanvasOps(
        {CanvasOp::Add(id, CanvasKind::kRect, {CanvasString(CanvasProp::kColor, "#0000bb")})});
    // Usually both are in flight at once and the host refuses the second; if one client
    // already saw the other's add, its own is refused locally instead.
    Status sa = at_a->Edit(add_a);
    Status sb = at_b->Edit(add_b);
    refused_locally += !sa.ok() + !sb.ok();
    ASSERT_TRUE(at_a->WaitAcknowledged(kTimeout).ok());
    ASSERT_TRUE(at_b->WaitAcknowledged(kTimeout).ok());
  }
  OpenOptions existing;
  DocumentHandle* at_host = *host->Open("board", existing);
  ASSERT_TRUE(WaitFor(
      [&] { return at_a->seq() == at_host->seq() && at_b->seq() == at_host->seq(); }, kTimeout));
  // Each id exists once, everywhere, with one author's colour.
  EXPECT_EQ(Snapshot(at_a), Snapshot(at_host));
  EXPECT_EQ(Snapshot(at_b), Snapshot(at_host));
  at_host->Read([](const Document& d) {
    EXPECT_EQ(static_cast<const CanvasDocument&>(d).shapes().size(), 20u);
  });
  const uint64_t refused_by_host = a->counters().Value("zinc_edits_refused_total") +
                                   b->counters().Value("zinc_edits_refused_total");
  EXPECT_EQ(refused_by_host + refused_locally, 20u);
  EXPECT_EQ(host->counters().SumPrefix("zinc_fragments_refused_total"), refused_by_host);
}

}  // namespace
}  // namespace zinc

// Failover in one process over tcp loopback (docs/failover.md): the standby takes over when the
// root stops, and a root that learns of a later epoch steps down. The fault tests with killed
// and stopped processes are tests/failover_e2e.sh.

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/channel.h"
#include "core/codec.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::FailoverOptions;
using testing::OpenMap;
using testing::OpenText;
using testing::RawPeer;
using testing::StartHost;
using testing::StartMember;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

std::string Read(const DocumentHandle* doc) {
  std::string s;
  doc->Read([&](const Document& d) { s = d.Snapshot(); });
  return s;
}

TEST(FailoverTest, StandbyTakesOverWhenTheRootStopsAndNoEditIsLost) {
  auto root = StartHost(FailoverOptions());
  auto standby = StartMember(root->listen_address(), /*relay=*/true, /*priority=*/5);
  auto other = StartMember(root->listen_address(), /*relay=*/true, /*priority=*/1);
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> maps, texts;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(StartMember(root->listen_address(), /*relay=*/false, 0));
    maps.push_back(OpenMap(clients.back().get(), "m"));
    texts.push_back(OpenText(clients.back().get(), "t"));
    ASSERT_TRUE(maps.back()->WaitSynced(kTimeout).ok());
    ASSERT_TRUE(texts.back()->WaitSynced(kTimeout).ok());
  }
  // The root names the relay of the highest priority; every member learns it from the roster.
  for (auto& c : clients) {
    ASSERT_TRUE(WaitFor([&] { return c->roster().standby == standby->id(); }, kTimeout));
  }
  EXPECT_TRUE(WaitFor([&] { return other->roster().standby == standby->id(); }, kTimeout));
  auto edit = [&](int round) {
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 50; ++k) {
        const std::string key = "c" + std::to_string(i) + "-" + std::to_string(round * 50 + k);
        ASSERT_TRUE(
            maps[i]->EditJson("{\"set\":[\"" + key + "\"," + std::to_string(k) + "]}").ok());
        ASSERT_TRUE(texts[i]->EditJson("{\"insert\":[0,\"" + std::to_string(i) + "\"]}").ok());
      }
    }
  };
  edit(0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(maps[i]->WaitAcknowledged(kTimeout).ok());
  // The root goes without a word (no leaving report: a root never sends one), as if killed;
  // the clients keep editing meanwhile.
  root->Stop();
  edit(1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(maps[i]->WaitAcknowledged(kTimeout).ok());
    EXPECT_TRUE(texts[i]->WaitAcknowledged(kTimeout).ok());
  }
  ASSERT_TRUE(standby->is_root());
  EXPECT_FALSE(standby->is_relay());
  EXPECT_EQ(standby->roster().epoch, 2u);
  EXPECT_EQ(standby->counters().Value("zinc_takeovers_total"), 1u);
  EXPECT_TRUE(WaitFor([&] { return other->roster().root == standby->id(); }, kTimeout));
  // The standby hosts the documents it replicated, and every replica ends identical to them.
  DocumentHandle* m = OpenMap(standby.get(), "m");
  DocumentHandle* t = OpenText(standby.get(), "t");
  ASSERT_NE(m, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(m->seq(), 300u);
  EXPECT_EQ(t->seq(), 300u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] { return maps[i]->seq() == m->seq() && texts[i]->seq() == t->seq(); },
                        kTimeout));
    EXPECT_EQ(Read(maps[i]), Read(m));
    EXPECT_EQ(Read(texts[i]), Read(t));
  }
  std::string text;
  t->Read([&](const Document& d) { text = d.Snapshot(); });
  for (char c : {'0', '1', '2'}) EXPECT_EQ(std::count(text.begin(), text.end(), c), 100) << c;
  for (auto& c : clients) c->Stop();
  other->Stop();
  standby->Stop();
}

TEST(FailoverTest, ARootThatLearnsOfALaterEpochStepsDownAndJoinsTheNewRoot) {
  auto old_root = StartHost(FailoverOptions());
  DocumentHandle* doc = OpenMap(old_root.get(), "m");
  ASSERT_NE(doc, nullptr);
  ASSERT_TRUE(doc->EditJson("{\"set\":[\"a\",1]}").ok());
  // The new root, played by hand: its sync channel (a ROUTER) is where the old one must ask to
  // join.
  const std::string base =
      "ipc:///tmp/zinc-failover-test-" + EndpointId::Random().ToString().substr(0, 8);
  ChannelContext context;
  auto router = std::move(Channel::Create(&context, SocketType::kRouter, ChannelOptions())).value();
  ASSERT_TRUE(router->Bind(base + "-sync").ok());
  // Its standby, a relay of its own: the only member whose takeover it believes.
  auto standby = StartMember(old_root->listen_address(), /*relay=*/true, /*priority=*/5);
  ASSERT_TRUE(WaitFor([&] { return old_root->roster().standby == standby->id(); }, kTimeout));
  // Anyone else's takeover, a far epoch, or one without votes: refused, the root stays root.
  RawPeer stranger(*old_root);
  wire::Envelope forged;
  forged.set_version(kProtocolVersion);
  forged.set_origin(std::string(stranger.id().bytes()));
  forged.set_epoch(2);
  forged.mutable_takeover()->set_listen(base);
  forged.mutable_takeover()->add_voters(std::string(standby->id().bytes()));
  stranger.Push(forged);
  RawPeer peer(*old_root, standby->id());  // In the standby's name (no keys here).
  wire::Envelope far = forged;
  far.set_origin(std::string(peer.id().bytes()));
  far.set_epoch(uint64_t{0} - 1);
  peer.Push(far);
  wire::Envelope unbacked = far;
  unbacked.set_epoch(2);
  unbacked.mutable_takeover()->clear_voters();
  peer.Push(unbacked);
  ASSERT_TRUE(WaitFor(
      [&] { return old_root->counters().Value("zinc_refused_total{reason=\"takeover\"}") == 3; },
      kTimeout));
  EXPECT_TRUE(old_root->is_root());
  EXPECT_EQ(old_root->roster().epoch, 1u);
  // The same epoch changes nothing.
  wire::Envelope same = forged;
  same.set_origin(std::string(peer.id().bytes()));
  same.set_epoch(1);
  peer.Push(same);
  // A later one from the standby, backed by the votes (its own: it is the only other member):
  // the root that sent it took over while this one stood still.
  wire::Envelope later = same;
  later.set_epoch(2);
  peer.Push(later);
  ASSERT_TRUE(WaitFor([&] { return !old_root->is_root(); }, kTimeout));
  standby->Stop();
  EXPECT_EQ(old_root->counters().Value("zinc_stepped_down_total"), 1u);
  // It sequences nothing any more, and asks the new root to take it as a member (a leaf: it
  // offers no listen address), at the new epoch. The application's handle keeps working, on a
  // replica now: the edit waits for the new root.
  Status s = doc->EditJson("{\"set\":[\"b\",2]}");
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(doc->pending(), 1u);
  EXPECT_NE(doc->ToJson().find("\"b\":2"), std::string::npos) << doc->ToJson();
  wire::Envelope request;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> parts;
        Result<bool> got = router->Receive(&parts);
        // (The standby, told that its root stepped down, may ask too before it stops.)
        return got.ok() && *got && parts.size() == 2 &&
               DecodeEnvelope(parts[1], 1 << 20, CodecLimits(), &request).ok() &&
               request.has_join_request() &&
               request.origin() == std::string(old_root->id().bytes());
      },
      kTimeout));
  EXPECT_EQ(request.origin(), std::string(old_root->id().bytes()));
  EXPECT_EQ(request.epoch(), 2u);
  EXPECT_EQ(request.join_request().listen(), "");
  EXPECT_FALSE(old_root->position().joined);
  old_root->Stop();
}

// Sets "key" to n in doc.
Status Set(DocumentHandle* doc, const std::string& key, int n) {
  return doc->EditJson("{\"set\":[\"" + key + "\"," + std::to_string(n) + "]}");
}

TEST(FailoverTest, AHandleOnTheStandbyKeepsEditingThroughTheTakeover) {
  auto root = StartHost(FailoverOptions());
  auto standby = StartMember(root->listen_address(), /*relay=*/true, /*priority=*/5);
  auto client = StartMember(root->listen_address(), /*relay=*/false, 0);
  DocumentHandle* mine = OpenMap(standby.get(), "m");
  DocumentHandle* theirs = OpenMap(client.get(), "m");
  ASSERT_TRUE(mine->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(theirs->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return client->roster().standby == standby->id(); }, kTimeout));
  std::vector<uint64_t> acks;
  std::mutex acks_mu;
  mine->OnAcknowledged([&](uint64_t origin_seq, uint64_t) {
    std::lock_guard<std::mutex> l(acks_mu);
    acks.push_back(origin_seq);
  });
  int n = 0;
  for (; n < 20; ++n) ASSERT_TRUE(Set(mine, "s" + std::to_string(n), n).ok());
  ASSERT_TRUE(mine->WaitAcknowledged(kTimeout).ok());
  // The root dies; the application on the standby edits on through the same handle while the
  // standby takes over, and after.
  root->Stop();
  // (At most 30 edits in flight each: they wait for the new root.)
  for (; !standby->is_root() || n < 60; ++n) {
    ASSERT_TRUE(Set(mine, "s" + std::to_string(n), n).ok());
    ASSERT_TRUE(Set(theirs, "c" + std::to_string(n), n).ok());
    ASSERT_TRUE(mine->WaitPendingAtMost(30, kTimeout).ok());
    ASSERT_TRUE(theirs->WaitPendingAtMost(30, kTimeout).ok());
  }
  for (int k = 0; k < 20; ++k, ++n) ASSERT_TRUE(Set(mine, "s" + std::to_string(n), n).ok());
  EXPECT_TRUE(mine->WaitAcknowledged(kTimeout).ok());
  EXPECT_TRUE(theirs->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(mine->pending(), 0u);
  // The same handle: the document is hosted here now.
  Result<DocumentHandle*> again = standby->Open("m", OpenOptions{"map", true});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, mine);
  ASSERT_TRUE(WaitFor([&] { return theirs->seq() == mine->seq(); }, kTimeout));
  EXPECT_EQ(Read(theirs), Read(mine));
  for (int k = 0; k < n; ++k) {
    EXPECT_NE(mine->ToJson().find("\"s" + std::to_string(k) + "\":"), std::string::npos) << k;
  }
  // Every edit made through the handle acknowledged, once, in order.
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(acks_mu);
        return acks.size() >= static_cast<size_t>(n);
      },
      std::chrono::seconds(5)));
  std::lock_guard<std::mutex> l(acks_mu);
  std::string seen;
  for (uint64_t a : acks) seen += std::to_string(a) + " ";
  ASSERT_EQ(acks.size(), static_cast<size_t>(n)) << seen;
  for (int k = 0; k < n; ++k) EXPECT_EQ(acks[k], static_cast<uint64_t>(k + 1));
  client->Stop();
  standby->Stop();
}

// A root (with root_options), a standby and a client, each its own endpoint; "m" open at the
// root (mine) and synced at the client (theirs), which knows the standby.
struct Trio {
  std::unique_ptr<Endpoint> root, standby, client;
  DocumentHandle* mine = nullptr;
  DocumentHandle* theirs = nullptr;
};

void StartTrio(EndpointOptions root_options, Trio* t) {
  t->root = StartHost(root_options);
  t->standby = StartMember(t->root->listen_address(), /*relay=*/true, /*priority=*/5);
  t->client = StartMember(t->root->listen_address(), /*relay=*/false, 0);
  t->mine = OpenMap(t->root.get(), "m");
  t->theirs = OpenMap(t->client.get(), "m");
  ASSERT_TRUE(t->theirs->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return t->client->roster().standby == t->standby->id(); }, kTimeout));
}

TEST(FailoverTest, ABusyRootIsNotTakenForDead) {
  // Its one handler held for three heartbeat timeouts, with a queue of one: the root reads
  // nothing more, but its I/O thread goes on ticking and heartbeating, so neither its standby
  // nor its children take it for dead. Released, it handles what waited.
  EndpointOptions o = FailoverOptions();
  o.max_queued_messages = 1;
  Trio t;
  ASSERT_NO_FATAL_FAILURE(StartTrio(o, &t));
  auto& root = t.root;
  auto& standby = t.standby;
  auto& client = t.client;
  DocumentHandle* mine = t.mine;
  DocumentHandle* theirs = t.theirs;
  std::mutex mu;
  std::condition_variable cv;
  bool hold = true;
  bool held = false;
  mine->OnChange([&](const DocumentChange&) {
    std::unique_lock<std::mutex> l(mu);
    held = true;
    cv.notify_all();
    cv.wait(l, [&] { return !hold; });
  });
  ASSERT_TRUE(Set(mine, "held", 1).ok());
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, kTimeout, [&] { return held; }));
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Set(theirs, "k" + std::to_string(i), i).ok());
  // The root's heartbeats (one a tick) keep coming: three heartbeat timeouts' worth.
  const std::string beats = "zinc_messages_received_total{channel=\"subscription\"}";
  const uint64_t before = client->counters().Value(beats);
  const uint64_t timeouts = 3 * static_cast<uint64_t>(o.heartbeat_misses);
  const bool beating =
      WaitFor([&] { return client->counters().Value(beats) >= before + timeouts; }, kTimeout);
  mine->OnChange(nullptr);
  {
    std::lock_guard<std::mutex> l(mu);
    hold = false;
  }
  cv.notify_all();
  ASSERT_TRUE(beating);
  EXPECT_TRUE(root->is_root());
  EXPECT_FALSE(standby->is_root());
  EXPECT_EQ(standby->counters().Value("zinc_root_lost_total"), 0u);
  EXPECT_EQ(client->counters().Value("zinc_parent_lost_total"), 0u);
  EXPECT_EQ(root->counters().Value("zinc_children_lost_total"), 0u);
  EXPECT_GE(root->counters().Value("zinc_reading_paused_total"), 1u);
  EXPECT_TRUE(theirs->WaitAcknowledged(kTimeout).ok());
  EXPECT_TRUE(WaitFor([&] { return mine->seq() == 21; }, kTimeout));
  EXPECT_EQ(Read(mine), Read(theirs));
  client->Stop();
  standby->Stop();
  root->Stop();
}

// A clock whose readers stand still while it is frozen: every thread of an endpoint that reads
// the time (its I/O thread's tick among them) stops there, as in a stopped process, while the
// sockets keep receiving. Thawed, the time has jumped.
class FreezableClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !frozen_; });
    return system_.NowMicros();
  }
  void Freeze() {
    std::lock_guard<std::mutex> l(mu_);
    frozen_ = true;
  }
  void Thaw() {
    {
      std::lock_guard<std::mutex> l(mu_);
      frozen_ = false;
    }
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool frozen_ = false;
  SystemClock system_;
};

TEST(FailoverTest, AHandleOnARootThatStepsDownKeepsEditingThroughTheNewRoot) {
  // A root that stands still (its clock frozen) stops ticking: no heartbeats. Its standby takes
  // over; thawed, the root finds the gap in its ticks, learns of the new root and steps down.
  FreezableClock clock;
  EndpointOptions o = FailoverOptions();
  o.clock = &clock;
  Trio t;
  ASSERT_NO_FATAL_FAILURE(StartTrio(o, &t));
  auto& root = t.root;
  auto& standby = t.standby;
  auto& client = t.client;
  DocumentHandle* mine = t.mine;
  DocumentHandle* theirs = t.theirs;
  ASSERT_TRUE(Set(mine, "before", 1).ok());
  ASSERT_TRUE(WaitFor([&] { return theirs->seq() == 1; }, kTimeout));
  ASSERT_TRUE(Set(mine, "paused", 2).ok());
  clock.Freeze();
  const bool took_over = WaitFor([&] { return standby->is_root(); }, kTimeout);
  clock.Thaw();
  ASSERT_TRUE(took_over);
  ASSERT_TRUE(WaitFor([&] { return !root->is_root(); }, kTimeout));
  // The same handle edits on; the new root sequences its edits.
  ASSERT_TRUE(Set(mine, "after", 3).ok());
  EXPECT_TRUE(mine->WaitAcknowledged(kTimeout).ok());
  DocumentHandle* hosted = OpenMap(standby.get(), "m");
  ASSERT_NE(hosted, nullptr);
  ASSERT_TRUE(WaitFor([&] { return mine->seq() == hosted->seq(); }, kTimeout));
  ASSERT_TRUE(WaitFor([&] { return theirs->seq() == hosted->seq(); }, kTimeout));
  for (const char* key : {"before", "paused", "after"}) {
    EXPECT_NE(hosted->ToJson().find(std::string("\"") + key + "\":"), std::string::npos)
        << key << " " << hosted->ToJson();
  }
  EXPECT_EQ(Read(mine), Read(hosted));
  EXPECT_EQ(Read(theirs), Read(hosted));
  client->Stop();
  root->Stop();
  standby->Stop();
}

}  // namespace
}  // namespace zinc

// Trees of relays over tcp loopback: convergence at depth, balanced joining, snapshots served by
// relays, subscriptions that follow the leaves, nacks that find authors below relays.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/channel.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "endpoints/address.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::OpenText;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

EndpointOptions Small() {
  EndpointOptions o;
  o.handler_threads = 1;
  // Many endpoints share two cores: a slow tick, so that the tree's own chatter stays small, and
  // a parent silent for a second (not 300 ms) is dead, so that a starved one (sanitizers) is not.
  o.retry = std::chrono::milliseconds(300);
  o.heartbeat_misses = 10;
  return o;
}

// Starts an endpoint that joins `join`; with relay set it also hosts on free ports.
std::unique_ptr<Endpoint> StartMember(const std::string& join, bool relay, size_t max_children = 0,
                                      const std::string& name = "", uint32_t priority = 1) {
  EndpointOptions o = Small();
  o.join = join;
  if (relay) o.listen = "tcp://127.0.0.1:*";
  o.max_children = max_children;
  o.name = name;
  o.priority = priority;
  Result<std::unique_ptr<Endpoint>> e = Endpoint::Start(std::move(o));
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) std::abort();
  return std::move(e).value();
}

std::string Snapshot(const DocumentHandle* doc) {
  std::string s;
  doc->Read([&](const Document& d) { s = d.Snapshot(); });
  return s;
}

// A printable character per writer (up to 94 writers).
char Tag(size_t writer) { return static_cast<char>('!' + writer); }

// Waits until every replica has what the root has (same seq, nothing pending) and checks the
// states are byte for byte the root's.
void ExpectConverged(DocumentHandle* root, const std::vector<DocumentHandle*>& replicas) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    EXPECT_TRUE(replicas[i]->WaitAcknowledged(kTimeout).ok()) << "replica " << i;
  }
  for (size_t i = 0; i < replicas.size(); ++i) {
    EXPECT_TRUE(WaitFor([&] { return replicas[i]->seq() == root->seq(); }, kTimeout))
        << "replica " << i << " at seq " << replicas[i]->seq() << ", root at " << root->seq();
    EXPECT_EQ(Snapshot(replicas[i]), Snapshot(root)) << "replica " << i;
  }
}

// Root, three levels of relays (2, 4, 8) and four leaves under each deepest relay: 47 endpoints
// at depths 0 to 4, every one of them editing one text and one map at the same time.
TEST(TreeTest, DepthFourTreeOfFortySevenEndpointsConverges) {
  auto root = StartHost(Small());
  std::vector<std::unique_ptr<Endpoint>> members;
  std::vector<Endpoint*> level = {root.get()};
  for (int depth = 1; depth <= 3; ++depth) {
    std::vector<Endpoint*> next;
    for (Endpoint* parent : level) {
      for (int i = 0; i < 2; ++i) {
        members.push_back(StartMember(parent->listen_address(), /*relay=*/true));
        next.push_back(members.back().get());
      }
    }
    for (Endpoint* e : next) ASSERT_TRUE(e->WaitJoined(kTimeout).ok());
    level = next;
  }
  for (Endpoint* parent : level) {
    for (int i = 0; i < 4; ++i) members.push_back(StartMember(parent->listen_address(), false));
  }
  ASSERT_EQ(members.size() + 1, 47u);
  for (auto& m : members) ASSERT_TRUE(m->WaitJoined(kTimeout).ok());
  EXPECT_EQ(members.back()->position().depth, 4u);
  EXPECT_EQ(members.back()->position().path.size(), 4u);
  EXPECT_EQ(members.back()->position().path.front(), root->id());

  DocumentHandle* root_text = OpenText(root.get(), "text");
  DocumentHandle* root_map = OpenMap(root.get(), "map");
  ASSERT_TRUE(root_text && root_map);
  std::vector<DocumentHandle*> texts, maps;
  for (auto& m : members) {
    texts.push_back(OpenText(m.get(), "text"));
    maps.push_back(OpenMap(m.get(), "map"));
    ASSERT_TRUE(texts.back() && maps.back());
  }
  for (size_t i = 0; i < members.size(); ++i) {
    ASSERT_TRUE(texts[i]->WaitSynced(kTimeout).ok()) << i;
    ASSERT_TRUE(maps[i]->WaitSynced(kTimeout).ok()) << i;
  }

  // Everybody at once, the root too: one-character inserts at random places of the shared text
  // and sets of colliding keys.
  constexpr int kEdits = 25;
  std::vector<std::thread> writers;
  std::vector<DocumentHandle*> all_texts = texts, all_maps = maps;
  all_texts.push_back(root_text);
  all_maps.push_back(root_map);
  for (size_t w = 0; w < all_texts.size(); ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(static_cast<uint32_t>(w) * 7919u + 1);
      for (int i = 0; i < kEdits; ++i) {
        Status t = all_texts[w]->EditWith([&](const Document& d) -> Result<std::string> {
          const uint64_t size = static_cast<const TextDocument&>(d).text().size();
          const uint64_t pos = size == 0 ? 0 : rng() % (size + 1);
          return EncodeTextOp(TextSplice(pos, 0, std::string(1, Tag(w))));
        });
        EXPECT_TRUE(t.ok()) << t.ToString();
        std::vector<MapOp> ops = {MapOp{MapOp::Kind::kSet, "k" + std::to_string(rng() % 30),
                                        "\"" + std::to_string(w) + "-" + std::to_string(i) + "\""}};
        Status m = all_maps[w]->Edit(EncodeMapOps(ops));
        EXPECT_TRUE(m.ok()) << m.ToString();
      }
    });
  }
  for (auto& t : writers) t.join();

  ExpectConverged(root_text, texts);
  ExpectConverged(root_map, maps);
  if (::testing::Test::HasFailure()) {
    for (size_t i = 0; i < members.size(); ++i) {
      if (Snapshot(texts[i]) != Snapshot(root_text) || Snapshot(maps[i]) != Snapshot(root_map)) {
        ADD_FAILURE() << "member " << i << ":\n" << members[i]->counters().RenderPrometheus();
      }
    }
  }
  // Every edit made it, exactly once: each writer's character appears kEdits times.
  std::string text;
  root_text->Read(
      [&](const Document& d) { text = static_cast<const TextDocument&>(d).text().ToString(); });
  for (size_t w = 0; w < all_texts.size(); ++w) {
    EXPECT_EQ(std::count(text.begin(), text.end(), Tag(w)), kEdits) << "writer " << w;
  }
  EXPECT_EQ(root_text->seq(), static_cast<uint64_t>(kEdits * all_texts.size()));
  for (auto& m : members) m->Stop();
  root->Stop();
}

// 30 relays that all ask the root, which takes 3 children: they end in the shallowest tree
// possible (3 at depth 1, 9 at depth 2, 18 at depth 3), and every one converges.
TEST(TreeTest, ThirtyEndpointsJoiningThroughTheRootMakeABalancedTree) {
  EndpointOptions ro = Small();
  ro.max_children = 3;
  auto root = StartHost(ro);
  std::vector<std::unique_ptr<Endpoint>> members;
  for (int i = 0; i < 30; ++i) {
    members.push_back(StartMember(root->listen_address(), /*relay=*/true, /*max_children=*/3,
                                  "m" + std::to_string(i)));
    ASSERT_TRUE(members.back()->WaitJoined(kTimeout).ok()) << i;
  }
  std::map<uint32_t, int> per_depth;
  for (auto& m : members) {
    const TreePosition p = m->position();
    ++per_depth[p.depth];
    EXPECT_LE(p.children, 3u);
  }
  EXPECT_LE(root->position().children, 3u);
  EXPECT_EQ(per_depth[1], 3);
  EXPECT_EQ(per_depth[2], 9);
  EXPECT_EQ(per_depth[3], 18);
  EXPECT_EQ(per_depth.rbegin()->first, 3u) << "deeper than the minimum";

  // The roster reaches every member, and says the same.
  EXPECT_TRUE(WaitFor([&] { return root->roster().members.size() == 31; }, kTimeout));
  const RosterInfo at_root = root->roster();
  EXPECT_EQ(at_root.root, root->id());
  for (const MemberInfo& m : at_root.members) {
    EXPECT_LE(m.children, 3u);
    if (m.id != root->id()) {
      EXPECT_FALSE(m.listen.empty());
    }
  }
  EXPECT_TRUE(WaitFor([&] { return members.back()->roster().members.size() == 31; }, kTimeout));

  DocumentHandle* at_host = OpenMap(root.get(), "m");
  std::vector<DocumentHandle*> docs;
  for (size_t i = 0; i < members.size(); ++i) {
    docs.push_back(OpenMap(members[i].get(), "m"));
    std::vector<MapOp> ops = {MapOp{MapOp::Kind::kSet, "from" + std::to_string(i), "1"}};
    ASSERT_TRUE(docs.back()->Edit(EncodeMapOps(ops)).ok());
  }
  ExpectConverged(at_host, docs);
  EXPECT_EQ(at_host->seq(), 30u);
  // Members that stop say so: the roster drops them at once, not after a timeout.
  for (size_t i = 25; i < 30; ++i) members[i]->Stop();
  EXPECT_TRUE(WaitFor([&] { return root->roster().members.size() == 26; }, kTimeout));
  EXPECT_EQ(root->counters().Value("zinc_members_left_total"), 5u);
  EXPECT_EQ(root->counters().Value("zinc_members_timed_out_total"), 0u);
  for (auto& m : members) m->Stop();
  root->Stop();
}

// The same 30 all started at once: the member each newcomer is redirected to counts it until it
// reports, so a burst spreads as well as a queue.
TEST(TreeTest, ThirtyEndpointsJoiningAtOnceMakeABalancedTree) {
  EndpointOptions ro = Small();
  ro.max_children = 3;
  auto root = StartHost(ro);
  std::vector<std::unique_ptr<Endpoint>> members;
  for (int i = 0; i < 30; ++i) {
    members.push_back(StartMember(root->listen_address(), /*relay=*/true, /*max_children=*/3));
  }
  for (auto& m : members) ASSERT_TRUE(m->WaitJoined(kTimeout).ok());
  std::map<uint32_t, int> per_depth;
  for (auto& m : members) ++per_depth[m->position().depth];
  EXPECT_EQ(per_depth[1], 3);
  EXPECT_EQ(per_depth[2], 9);
  EXPECT_EQ(per_depth[3], 18);
  EXPECT_EQ(per_depth.rbegin()->first, 3u) << "deeper than the minimum";
  for (auto& m : members) m->Stop();
  root->Stop();
}

// A chain root -> r1 -> r2 -> r3 with a leaf editing under r3: a late joiner under r3 syncs
// from r3's replica, and the root serves no snapshot for it.
TEST(TreeTest, LateJoinerUnderADeepRelayGetsItsSnapshotFromThatRelay) {
  auto root = StartHost(Small());
  auto r1 = StartMember(root->listen_address(), true);
  ASSERT_TRUE(r1->WaitJoined(kTimeout).ok());
  auto r2 = StartMember(r1->listen_address(), true);
  ASSERT_TRUE(r2->WaitJoined(kTimeout).ok());
  auto r3 = StartMember(r2->listen_address(), true);
  ASSERT_TRUE(r3->WaitJoined(kTimeout).ok());
  auto writer = StartMember(r3->listen_address(), false);
  DocumentHandle* w = OpenText(writer.get(), "doc");
  ASSERT_TRUE(w && w->WaitSynced(kTimeout).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(w->Edit(EncodeTextOp(TextSplice(0, 0, "x" + std::to_string(i)))).ok());
  }
  ASSERT_TRUE(w->WaitAcknowledged(kTimeout).ok());
  const uint64_t root_served = root->counters().Value("zinc_snapshots_served_total");
  const uint64_t r3_served = r3->counters().Value("zinc_snapshots_served_total");

  auto late = StartMember(r3->listen_address(), false);
  DocumentHandle* l = OpenText(late.get(), "doc");
  ASSERT_TRUE(l && l->WaitSynced(kTimeout).ok());
  EXPECT_EQ(late->position().depth, 4u);
  EXPECT_TRUE(WaitFor([&] { return l->seq() == 200; }, kTimeout));
  EXPECT_EQ(Snapshot(l), Snapshot(w));
  EXPECT_EQ(root->counters().Value("zinc_snapshots_served_total"), root_served);
  EXPECT_EQ(r3->counters().Value("zinc_snapshots_served_total"), r3_served + 1);

  // And it edits through three relays like everyone else.
  ASSERT_TRUE(l->Edit(EncodeTextOp(TextSplice(0, 0, "late"))).ok());
  ASSERT_TRUE(l->WaitAcknowledged(kTimeout).ok());
  DocumentHandle* at_root = OpenText(root.get(), "doc");
  EXPECT_TRUE(WaitFor([&] { return w->seq() == 201; }, kTimeout));
  EXPECT_EQ(Snapshot(w), Snapshot(at_root));
  EXPECT_EQ(Snapshot(l), Snapshot(at_root));
  for (Endpoint* e : {late.get(), writer.get(), r3.get(), r2.get(), r1.get(), root.get()}) {
    e->Stop();
  }
}

// When the last leaf under a relay closes a document, the relay unsubscribes: the root's
// fragments of it no longer reach the relay.
TEST(TreeTest, RelayStopsReceivingADocumentItsLastLeafClosed) {
  auto root = StartHost(Small());
  // Priority 0: never the standby, which replicates every document whatever its children do.
  auto relay = StartMember(root->listen_address(), true, 0, "", /*priority=*/0);
  ASSERT_TRUE(relay->WaitJoined(kTimeout).ok());
  auto a_reader = StartMember(relay->listen_address(), false);
  auto b_reader = StartMember(relay->listen_address(), false);
  DocumentHandle* a_root = OpenMap(root.get(), "a");
  DocumentHandle* b_root = OpenMap(root.get(), "b");
  DocumentHandle* a = OpenMap(a_reader.get(), "a");
  DocumentHandle* b = OpenMap(b_reader.get(), "b");
  ASSERT_TRUE(a->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(b->WaitSynced(kTimeout).ok());
  auto set = [](DocumentHandle* doc, const std::string& key) {
    std::vector<MapOp> ops = {MapOp{MapOp::Kind::kSet, key, "1"}};
    ASSERT_TRUE(doc->Edit(EncodeMapOps(ops)).ok());
  };
  // Fragments of a reach the relay while a's reader has it open.
  const uint64_t before = relay->counters().Value("zinc_fragments_received_total");
  for (int i = 0; i < 50; ++i) set(a_root, "k" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return a->seq() == 50; }, kTimeout));
  EXPECT_GE(relay->counters().Value("zinc_fragments_received_total") - before, 50u);

  ASSERT_TRUE(a_reader->Close("a").ok());
  EXPECT_EQ(a_reader->Close("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(a->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "x", "1"}})).code(),
            StatusCode::kUnavailable);
  // Rounds of: n fragments of a, then one of b as a fence (one PUB, one connection: in order).
  // The relay counts what it receives on its one handler thread, in arrival order, after
  // passing it on: once it has counted the fence, it has counted whatever of a came before.
  // Once the unsubscription has gone up the tree, a round brings the relay b's fragment only.
  uint64_t b_seq = 0;
  auto round = [&](int n) -> uint64_t {
    const uint64_t start = relay->counters().Value("zinc_fragments_received_total");
    for (int i = 0; i < n; ++i) set(a_root, "k");
    set(b_root, "fence");
    ++b_seq;
    EXPECT_TRUE(WaitFor([&] { return b->seq() == b_seq; }, kTimeout));
    EXPECT_TRUE(
        WaitFor([&] { return relay->counters().Value("zinc_fragments_received_total") > start; },
                kTimeout));
    return relay->counters().Value("zinc_fragments_received_total") - start;
  };
  uint64_t last_delta = 0;
  const bool stopped = WaitFor([&] { return (last_delta = round(20)) == 1; }, kTimeout);
  EXPECT_TRUE(stopped) << "the relay still receives a: " << last_delta << " fragments a round";
  // And stays unsubscribed: 500 more fragments of a, none arrive.
  EXPECT_EQ(round(500), 1u);

  // Opening it again below the relay subscribes again, and syncs from scratch.
  DocumentHandle* again = OpenMap(a_reader.get(), "a");
  ASSERT_TRUE(again && again != a);
  ASSERT_TRUE(again->WaitSynced(kTimeout).ok());
  EXPECT_TRUE(WaitFor([&] { return again->seq() == a_root->seq(); }, kTimeout));
  EXPECT_EQ(Snapshot(again), Snapshot(a_root));
  for (Endpoint* e : {a_reader.get(), b_reader.get(), relay.get(), root.get()}) e->Stop();
}

// A fragment the root refuses, from an author below a relay: the nack reaches the author by
// the document's topic, through the relay, and nobody else acts on it.
TEST(TreeTest, NackReachesAnAuthorBelowARelay) {
  auto root = StartHost(Small());
  auto relay = StartMember(root->listen_address(), true);
  ASSERT_TRUE(relay->WaitJoined(kTimeout).ok());
  DocumentHandle* at_root = OpenMap(root.get(), "doc");
  ASSERT_TRUE(at_root);
  // A hand-made author under the relay: it subscribes to the document on the relay and pushes
  // a text fragment for the map document.
  testing::RawPeer author(*relay);
  ChannelContext context;
  auto sub = std::move(Channel::Create(&context, SocketType::kSub, ChannelOptions())).value();
  ASSERT_TRUE(sub->Subscribe("doc").ok());
  ASSERT_TRUE(
      sub->Connect(
             DeriveChannelAddresses(ParseBaseAddress(relay->listen_address()).value()).outbound)
          .ok());
  wire::Nack nack;
  const bool got = WaitFor(
      [&] {
        // Sent until the subscription is in place all the way up (each copy is refused alike).
        author.Push(author.Fragment("doc", "text", 1, EncodeTextOp(TextSplice(0, 0, "x"))));
        std::vector<PollItem> items(1);
        items[0].channel = sub.get();
        if (!Poll(&items, std::chrono::milliseconds(100)).ok() || !items[0].readable) {
          return false;
        }
        std::vector<std::string> parts;
        for (Result<bool> r = sub->Receive(&parts); r.ok() && *r; r = sub->Receive(&parts)) {
          wire::Envelope e;
          if (parts.size() == 2 && e.ParseFromString(parts[1]) && e.has_nack()) {
            nack = e.nack();
            return true;
          }
        }
        return false;
      },
      kTimeout);
  ASSERT_TRUE(got);
  EXPECT_EQ(nack.reason(), wire::NACK_TYPE_MISMATCH);
  EXPECT_EQ(nack.target(), author.id().bytes());
  EXPECT_EQ(nack.refused_origin_seq(), 1u);
  EXPECT_EQ(at_root->seq(), 0u);
  relay->Stop();
  root->Stop();
}

// A relay that edits while children join below it serves them the sequenced state, never its
// own unacknowledged edits (those reach the children as echoes, like everyone's).
TEST(TreeTest, RelayWithPendingEditsServesTheSequencedState) {
  auto root = StartHost(Small());
  auto relay = StartMember(root->listen_address(), true);
  ASSERT_TRUE(relay->WaitJoined(kTimeout).ok());
  DocumentHandle* at_root = OpenText(root.get(), "doc");
  DocumentHandle* at_relay = OpenText(relay.get(), "doc");
  ASSERT_TRUE(at_relay->WaitSynced(kTimeout).ok());
  std::vector<std::unique_ptr<Endpoint>> late;
  std::vector<DocumentHandle*> docs;
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i) {
      EXPECT_TRUE(at_relay->Edit(EncodeTextOp(TextSplice(0, 0, "r"))).ok());
      if (i % 50 == 0) {
        EXPECT_TRUE(at_root->Edit(EncodeTextOp(TextSplice(0, 0, "o"))).ok());
      }
    }
  });
  // Children join and sync while the relay has edits in flight.
  for (int i = 0; i < 6; ++i) {
    late.push_back(StartMember(relay->listen_address(), false));
    docs.push_back(OpenText(late.back().get(), "doc"));
    ASSERT_TRUE(docs.back()->WaitSynced(kTimeout).ok());
  }
  writer.join();
  ASSERT_TRUE(at_relay->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(at_root->seq(), 408u);
  docs.push_back(at_relay);
  ExpectConverged(at_root, docs);
  EXPECT_GE(relay->counters().Value("zinc_snapshots_served_total"), 6u);
  for (auto& e : late) e->Stop();
  relay->Stop();
  root->Stop();
}

// Presence goes up through relays to the root and down to every leaf with the document open.
TEST(TreeTest, PresenceCrossesRelays) {
  auto root = StartHost(Small());
  auto r1 = StartMember(root->listen_address(), true);
  ASSERT_TRUE(r1->WaitJoined(kTimeout).ok());
  auto r2 = StartMember(r1->listen_address(), true);
  ASSERT_TRUE(r2->WaitJoined(kTimeout).ok());
  auto deep = StartMember(r2->listen_address(), false);
  auto shallow = StartMember(root->listen_address(), false);
  DocumentHandle* d = OpenMap(deep.get(), "doc");
  DocumentHandle* s = OpenMap(shallow.get(), "doc");
  ASSERT_TRUE(d->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(s->WaitSynced(kTimeout).ok());
  std::mutex mu;
  std::map<std::string, std::string> seen_by_shallow, seen_by_deep;
  s->OnPresence([&](const EndpointId& who, const std::string& state) {
    std::lock_guard<std::mutex> l(mu);
    seen_by_shallow[who.ToString()] = state;
  });
  d->OnPresence([&](const EndpointId& who, const std::string& state) {
    std::lock_guard<std::mutex> l(mu);
    seen_by_deep[who.ToString()] = state;
  });
  auto got = [&](std::map<std::string, std::string>* seen, const Endpoint& from,
                 const std::string& want) {
    std::lock_guard<std::mutex> l(mu);
    auto it = seen->find(from.id().ToString());
    return it != seen->end() && it->second == want;
  };
  // Repeated, as applications do, until the subscriptions are in place all the way.
  EXPECT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(d->SetPresence("deep cursor").ok());
        EXPECT_TRUE(s->SetPresence("shallow cursor").ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return got(&seen_by_shallow, *deep, "deep cursor") &&
               got(&seen_by_deep, *shallow, "shallow cursor");
      },
      kTimeout));
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(seen_by_deep.count(deep->id().ToString()), 0u) << "its own came back";
  }
  for (Endpoint* e : {deep.get(), shallow.get(), r2.get(), r1.get(), root.get()}) e->Stop();
}

// A child's garbage stops at its relay: refused and counted there, never forwarded.
TEST(TreeTest, RelayRefusesBadFramesFromChildren) {
  auto root = StartHost(Small());
  auto relay = StartMember(root->listen_address(), true);
  ASSERT_TRUE(relay->WaitJoined(kTimeout).ok());
  DocumentHandle* at_root = OpenMap(root.get(), "doc");
  testing::RawPeer peer(*relay);
  peer.Push(std::string("\xff\x01 not an envelope"));
  wire::Envelope wrong_version = peer.Fragment("doc", "map", 1, "x");
  wrong_version.set_version(99);
  peer.Push(wrong_version);
  EXPECT_TRUE(WaitFor(
      [&] { return relay->counters().SumPrefix("zinc_frames_rejected_total") >= 2; }, kTimeout));
  // And a good fragment right after them goes through.
  std::vector<MapOp> ops = {MapOp{MapOp::Kind::kSet, "k", "1"}};
  peer.Push(peer.Fragment("doc", "map", 1, EncodeMapOps(ops)));
  EXPECT_TRUE(WaitFor([&] { return at_root->seq() == 1; }, kTimeout));
  EXPECT_EQ(root->counters().SumPrefix("zinc_frames_rejected_total"), 0u);
  relay->Stop();
  root->Stop();
}

// Holds the root's one handler thread (Small: handler_threads 1) in a listener of a document
// of its own until Release: the root's I/O thread still reads, nothing is answered.
class HeldRoot {
 public:
  explicit HeldRoot(Endpoint* root) : doc_(OpenMap(root, "held")) {
    // Shared with the listener, which may still be leaving its wait when this object is gone.
    std::shared_ptr<State> state = state_;
    doc_->OnChange([state](const DocumentChange&) {
      std::unique_lock<std::mutex> l(state->mu);
      state->held = true;
      state->cv.notify_all();
      state->cv.wait(l, [&] { return !state->hold; });
    });
    EXPECT_TRUE(doc_->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "k", "1"}})).ok());
    std::unique_lock<std::mutex> l(state_->mu);
    EXPECT_TRUE(state_->cv.wait_for(l, kTimeout, [&] { return state_->held; }));
  }
  ~HeldRoot() {
    doc_->OnChange(nullptr);
    {
      std::lock_guard<std::mutex> l(state_->mu);
      state_->hold = false;
    }
    state_->cv.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool hold = true;
    bool held = false;
  };
  DocumentHandle* doc_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Asks the relay for a document the root has (it serves the snapshot itself once its replica
// is synced): once the answer is back, the relay has handled every request this peer sent before.
void Fence(testing::RawPeer* peer) {
  peer->Request(peer->SnapshotRequest("fence", "map"));
  wire::Envelope reply;
  ASSERT_TRUE(peer->ReceiveReply(&reply, kTimeout));
  ASSERT_EQ(reply.doc(), "fence");
  ASSERT_TRUE(reply.snapshot_reply().found());
}

EndpointOptions Patient() {
  // The root is held for a while: nobody declares it lost meanwhile.
  EndpointOptions o = Small();
  o.heartbeat_misses = 300;
  return o;
}

// A member joined to join (and accepted) with Patient options; a relay hosts on free ports and
// is never the standby.
std::unique_ptr<Endpoint> StartPatient(const std::string& join, bool relay) {
  EndpointOptions o = Patient();
  o.join = join;
  if (relay) o.listen = "tcp://127.0.0.1:*";
  o.priority = 0;
  auto e = std::move(Endpoint::Start(std::move(o))).value();
  EXPECT_TRUE(e->WaitJoined(kTimeout).ok());
  return e;
}

// A relay asked for a document without a type (it does not exist yet), then by another child
// with a type and create: the relay's first question comes back "not found" after it asked
// again, creating; that stale answer is not taken for the second one. Both children get the
// created document.
TEST(TreeTest, AStaleNotFoundDoesNotFailARelaysReplicaThatWasAskedToCreate) {
  auto root = StartHost(Patient());
  auto relay = StartPatient(root->listen_address(), /*relay=*/true);
  OpenMap(root.get(), "fence");
  testing::RawPeer peer(*relay);
  Fence(&peer);
  {
    HeldRoot held(root.get());
    peer.Request(peer.SnapshotRequest("fresh"));
    peer.Request(peer.SnapshotRequest("fresh", "map", /*create=*/true));
    // Both asked upward before the root answers either.
    Fence(&peer);
  }
  for (int i = 0; i < 2; ++i) {
    wire::Envelope reply;
    ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout)) << "reply " << i;
    EXPECT_EQ(reply.doc(), "fresh");
    ASSERT_TRUE(reply.has_snapshot_reply()) << "reply " << i << ": " << reply.ShortDebugString();
    EXPECT_TRUE(reply.snapshot_reply().found()) << "reply " << i;
    EXPECT_EQ(reply.snapshot_reply().type(), "map");
  }
  relay->Stop();
  root->Stop();
}

// The last child subscribed to a document below a relay closes it while another child's request
// for it waits (its subscription, on another socket, not here yet): the relay keeps the replica
// and answers that request once synced, instead of refusing it as closed.
TEST(TreeTest, ARelayKeepsAReplicaARequestWaitsForWhenTheLastSubscriberLeaves) {
  auto root = StartHost(Patient());
  auto relay = StartPatient(root->listen_address(), /*relay=*/true);
  auto leaf = StartPatient(relay->listen_address(), /*relay=*/false);
  OpenMap(root.get(), "fence");
  testing::RawPeer peer(*relay);
  Fence(&peer);
  {
    HeldRoot held(root.get());
    const uint64_t unsubscribed = relay->counters().Value("zinc_child_unsubscriptions_total");
    ASSERT_TRUE(OpenMap(leaf.get(), "x"));
    ASSERT_TRUE(WaitFor(
        [&] { return relay->counters().Value("zinc_child_subscriptions_total") > 0; }, kTimeout));
    peer.Request(peer.SnapshotRequest("x", "map", /*create=*/true));
    Fence(&peer);
    ASSERT_TRUE(leaf->Close("x").ok());
    ASSERT_TRUE(WaitFor(
        [&] { return relay->counters().Value("zinc_child_unsubscriptions_total") > unsubscribed; },
        kTimeout));
    EXPECT_EQ(relay->counters().Value("zinc_relay_replicas_closed_total"), 0u);
  }
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  EXPECT_EQ(reply.doc(), "x");
  ASSERT_TRUE(reply.has_snapshot_reply()) << reply.ShortDebugString();
  EXPECT_TRUE(reply.snapshot_reply().found());
  leaf->Stop();
  relay->Stop();
  root->Stop();
}

// A relay dies under a leaf that edits: the leaf misses its heartbeats, joins the relay's
// parent, catches up, and its edits keep being acknowledged; everything converges.
TEST(TreeTest, ChildrenOfADeadRelayRejoinItsParent) {
  auto root = StartHost(Small());
  auto relay = StartMember(root->listen_address(), true);
  ASSERT_TRUE(relay->WaitJoined(kTimeout).ok());
  auto leaf = StartMember(relay->listen_address(), false);
  ASSERT_TRUE(leaf->WaitJoined(kTimeout).ok());
  ASSERT_EQ(leaf->position().depth, 2u);
  DocumentHandle* at_root = OpenText(root.get(), "doc");
  DocumentHandle* mine = OpenText(leaf.get(), "doc");
  ASSERT_TRUE(mine->WaitSynced(kTimeout).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      EXPECT_TRUE(mine->Edit(EncodeTextOp(TextSplice(0, 0, "l"))).ok());
      if (i % 10 == 0) {
        EXPECT_TRUE(at_root->Edit(EncodeTextOp(TextSplice(0, 0, "r"))).ok());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  EXPECT_TRUE(WaitFor([&] { return at_root->seq() > 100; }, kTimeout));
  // The leaf learns where the relay's parent is from the roster: not before it has one (a leaf
  // that loses its relay before then asks its join address, the dead relay, again).
  ASSERT_TRUE(WaitFor([&] { return leaf->roster().members.size() >= 3; }, kTimeout));
  relay->Stop();
  EXPECT_TRUE(
      WaitFor([&] { return leaf->counters().Value("zinc_parent_lost_total") == 1; }, kTimeout));
  EXPECT_TRUE(
      WaitFor([&] { return leaf->position().joined && leaf->position().depth == 1; }, kTimeout));
  const uint64_t after = at_root->seq();
  EXPECT_TRUE(WaitFor([&] { return at_root->seq() > after + 100; }, kTimeout));
  stop = true;
  writer.join();
  ASSERT_TRUE(mine->WaitAcknowledged(kTimeout).ok());
  ExpectConverged(at_root, {mine});
  // The leaf; the relay left (its leaving report may be lost as it closes: then the root
  // drops it once its heartbeats are missed).
  EXPECT_TRUE(WaitFor([&] { return root->position().children == 1u; }, kTimeout))
      << root->position().children;
  leaf->Stop();
  root->Stop();
}

}  // namespace
}  // namespace zinc

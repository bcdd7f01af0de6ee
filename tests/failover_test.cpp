// Failover in one process over tcp loopback (docs/failover.md): the standby takes over when the
// root stops, and a root that learns of a later epoch steps down. The fault tests with killed
// and stopped processes are tests/failover_e2e.sh.

#include <algorithm>
#include <memory>
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

using testing::OpenMap;
using testing::OpenText;
using testing::RawPeer;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

EndpointOptions Options() {
  EndpointOptions o;
  o.handler_threads = 1;
  // Starved endpoints (sanitizers, two cores) are not taken for dead: 0.5 s of silence is.
  o.heartbeat_misses = 5;
  return o;
}

std::unique_ptr<Endpoint> StartMember(const std::string& join, bool relay, uint32_t priority) {
  EndpointOptions o = Options();
  o.join = join;
  if (relay) o.listen = "tcp://127.0.0.1:*";
  o.priority = priority;
  Result<std::unique_ptr<Endpoint>> e = Endpoint::Start(std::move(o));
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) std::abort();
  EXPECT_TRUE((*e)->WaitJoined(kTimeout).ok());
  return std::move(e).value();
}

std::string Read(const DocumentHandle* doc) {
  std::string s;
  doc->Read([&](const Document& d) { s = d.Snapshot(); });
  return s;
}

TEST(FailoverTest, StandbyTakesOverWhenTheRootStopsAndNoEditIsLost) {
  auto root = StartHost(Options());
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
  EXPECT_EQ(other->roster().standby, standby->id());
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
  auto old_root = StartHost(Options());
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
  RawPeer peer(*old_root);
  // The same epoch changes nothing.
  wire::Envelope same;
  same.set_version(kProtocolVersion);
  same.set_origin(std::string(peer.id().bytes()));
  same.set_epoch(1);
  same.mutable_takeover()->set_listen(base);
  peer.Push(same);
  // A later one: the root that sent it took over while this one stood still.
  wire::Envelope later = same;
  later.set_epoch(2);
  peer.Push(later);
  ASSERT_TRUE(WaitFor([&] { return !old_root->is_root(); }, kTimeout));
  EXPECT_EQ(old_root->counters().Value("zinc_stepped_down_total"), 1u);
  // It sequences nothing any more, and asks the new root to take it as a member (a leaf: it
  // offers no listen address), at the new epoch.
  Status s = doc->EditJson("{\"set\":[\"b\",2]}");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  wire::Envelope request;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> parts;
        Result<bool> got = router->Receive(&parts);
        return got.ok() && *got && parts.size() == 2 &&
               DecodeEnvelope(parts[1], 1 << 20, CodecLimits(), &request).ok() &&
               request.has_join_request();
      },
      kTimeout));
  EXPECT_EQ(request.origin(), std::string(old_root->id().bytes()));
  EXPECT_EQ(request.epoch(), 2u);
  EXPECT_EQ(request.join_request().listen(), "");
  EXPECT_FALSE(old_root->position().joined);
  old_root->Stop();
}

}  // namespace
}  // namespace zinc

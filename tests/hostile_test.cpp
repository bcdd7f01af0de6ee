// Hostile and buggy peers against the failover (issue 16, docs/failover.md "Verified
// takeovers"): real endpoints over tcp loopback, and hand-made frames from RawPeer, for each
// attack that once deposed a root, wedged a failover or swelled the roster. Each must fail to do
// harm: the root stays root, the failover happens when the root really dies and only then,
// nothing acknowledged is lost.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/channel.h"
#include "core/codec.h"
#include "documents/type_registry.h"
#include "endpoints/address.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::FailoverOptions;
using testing::OpenMap;
using testing::RawPeer;
using testing::StartHost;
using testing::StartMember;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

uint64_t Refused(Endpoint& e, const std::string& reason) {
  return e.counters().Value("zinc_refused_total{reason=\"" + reason + "\"}");
}

// A root, its standby and two clients, all joined, every member knowing the standby.
struct Cluster {
  std::unique_ptr<Endpoint> root, standby;
  std::vector<std::unique_ptr<Endpoint>> clients;

  Cluster() {
    root = StartHost(FailoverOptions());
    standby = StartMember(root->listen_address(), /*relay=*/true, /*priority=*/5);
    for (int i = 0; i < 2; ++i) {
      clients.push_back(StartMember(root->listen_address(), /*relay=*/false, 0));
    }
    EXPECT_TRUE(WaitFor(
        [&] {
          for (auto& c : clients) {
            if (c->roster().standby != standby->id() || c->roster().members.size() != 4) {
              return false;
            }
          }
          return root->roster().members.size() == 4;
        },
        kTimeout));
  }
  ~Cluster() {
    for (auto& c : clients) c->Stop();
    standby->Stop();
    root->Stop();
  }
};

TEST(HostileTest, ForgedMemberReportsNeverReachTheRoster) {
  Cluster c;
  RawPeer attacker(*c.root);
  const size_t before = c.root->roster().members.size();
  uint64_t sent = 0;
  auto report = [&](const EndpointId& id, const std::string& parent, size_t listen_bytes) {
    RawPeer ghost(*c.root, id);
    wire::Envelope e = ghost.Control();
    wire::MemberReport* r = e.mutable_member_report();
    r->set_parent(parent);
    r->set_listen("tcp://10.0.0.1:" + std::string(listen_bytes, '9'));
    r->set_depth(2);
    ghost.Push(e);
    ++sent;
  };
  // Ghosts with huge listen addresses (they once pushed the roster past the subscribers' frame
  // limit), ghosts claiming to be the root's children, ghosts under the standby (which reports
  // no children) and under no one.
  for (int i = 0; i < 20; ++i) report(EndpointId::Random(), "", 1024);
  for (int i = 0; i < 20; ++i) report(EndpointId::Random(), std::string(c.root->id().bytes()), 4);
  for (int i = 0; i < 20; ++i) {
    report(EndpointId::Random(), std::string(c.standby->id().bytes()), 4);
  }
  for (int i = 0; i < 20; ++i) report(EndpointId::Random(), std::string(16, '\x01'), 4);
  // (The oversized ones are refused by the decoder already, as malformed frames.)
  auto refused = [&] {
    return Refused(*c.root, "member_report") +
           c.root->counters().Value(
               "zinc_frames_rejected_total{channel=\"inbound\",reason=\"malformed\"}");
  };
  ASSERT_TRUE(WaitFor([&] { return refused() >= sent; }, kTimeout));
  EXPECT_EQ(c.root->roster().members.size(), before);
  // A report in a real client's name moving it under the standby: refused (the root's child
  // names the root as its parent), and the roster still shows it where it is.
  report(c.clients[0]->id(), std::string(c.standby->id().bytes()), 4);
  ASSERT_TRUE(WaitFor([&] { return refused() >= sent; }, kTimeout));
  EXPECT_EQ(c.root->roster().members.size(), before);
  for (const MemberInfo& m : c.root->roster().members) {
    if (m.id == c.clients[0]->id()) {
      EXPECT_EQ(m.parent, c.root->id());
    }
  }
  EXPECT_TRUE(c.root->is_root());
}

TEST(HostileTest, ForgedVotesNeverDeposeALiveRoot) {
  Cluster c;
  // Votes from strangers are refused at once; votes in real members' names (no keys here) are
  // kept for a heartbeat timeout and cleared by the root's next heartbeat: the standby has not
  // lost the root, so it holds no election.
  RawPeer stranger(*c.standby);
  for (int i = 0; i < 50; ++i) {
    RawPeer voter(*c.standby, EndpointId::Random());
    wire::Envelope e = voter.Control();
    e.set_epoch(1);
    e.mutable_root_lost();
    voter.Push(e);
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*c.standby, "vote") >= 50; }, kTimeout));
  for (auto& client : c.clients) {
    RawPeer voter(*c.standby, client->id());
    wire::Envelope e = voter.Control();
    e.set_epoch(1);
    e.mutable_root_lost();
    for (int i = 0; i < 5; ++i) voter.Push(e);
  }
  // A takeover in the standby's name without the votes of half the members: refused.
  RawPeer in_standby_name(*c.root, c.standby->id());
  wire::Envelope t = in_standby_name.Control();
  t.set_epoch(2);
  t.mutable_takeover()->set_listen(c.standby->listen_address());
  in_standby_name.Push(t);
  ASSERT_TRUE(WaitFor([&] { return Refused(*c.root, "takeover") >= 1; }, kTimeout));
  // The root lives on: its edits are sequenced, nobody took over.
  DocumentHandle* m = OpenMap(c.clients[0].get(), "m");
  ASSERT_TRUE(m->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(m->EditJson("{\"set\":[\"after\",1]}").ok());
  ASSERT_TRUE(m->WaitAcknowledged(kTimeout).ok());
  EXPECT_TRUE(c.root->is_root());
  EXPECT_FALSE(c.standby->is_root());
  EXPECT_EQ(c.standby->counters().Value("zinc_takeovers_total"), 0u);
  EXPECT_EQ(c.root->roster().epoch, 1u);
}

TEST(HostileTest, ATakeoverSentToARelayNeverWrapsItsEpoch) {
  Cluster c;
  RawPeer attacker(*c.standby);
  for (uint64_t epoch : {uint64_t{0} - 1, uint64_t{2}}) {
    wire::Envelope e = attacker.Control();
    e.set_epoch(epoch);
    e.mutable_takeover()->set_listen("tcp://127.0.0.1:1");
    attacker.Push(e);
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*c.standby, "takeover") >= 2; }, kTimeout));
  EXPECT_FALSE(c.standby->is_root());
  EXPECT_TRUE(c.standby->is_relay());
  EXPECT_EQ(c.standby->roster().epoch, 1u);
  EXPECT_TRUE(c.root->is_root());
  // The clients never flap between roots: still under the root, at epoch 1.
  for (auto& client : c.clients) {
    EXPECT_EQ(client->position().parent, c.root->listen_address());
    EXPECT_EQ(client->roster().epoch, 1u);
  }
}

TEST(HostileTest, ADeposedRootSaysSoStopsHeartbeatingAndItsMembersMoveOnAtOnce) {
  Cluster c;
  // Listening to the root's control topic as any subscriber does.
  ChannelContext context;
  Result<BaseAddress> base = ParseBaseAddress(c.root->listen_address());
  ASSERT_TRUE(base.ok());
  auto sub = std::move(Channel::Create(&context, SocketType::kSub, ChannelOptions())).value();
  ASSERT_TRUE(sub->Subscribe(WireTopic(kControlTopic)).ok());
  ASSERT_TRUE(sub->Connect(DeriveChannelAddresses(*base).outbound).ok());
  std::vector<wire::Envelope> heard;
  auto drain = [&] {
    std::vector<std::string> parts;
    wire::Envelope e;
    while (true) {
      Result<bool> got = sub->Receive(&parts);
      if (!got.ok() || !*got) return;
      if (parts.size() == 2 && DecodeEnvelope(parts[1], 1 << 20, CodecLimits(), &e).ok()) {
        heard.push_back(e);
      }
    }
  };
  auto heartbeats = [&] {
    size_t n = 0;
    for (const wire::Envelope& e : heard) n += e.has_heartbeat();
    return n;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        return heartbeats() > 0;
      },
      kTimeout));
  // The new root, played by hand: its sync channel is where the members must ask to join.
  const std::string new_root =
      "ipc:///tmp/zinc-hostile-test-" + EndpointId::Random().ToString().substr(0, 8);
  auto router = std::move(Channel::Create(&context, SocketType::kRouter, ChannelOptions())).value();
  ASSERT_TRUE(router->Bind(new_root + "-sync").ok());
  // A takeover the root verifies (from its standby, with the votes of every other member), as
  // the standby sends it after an election.
  RawPeer peer(*c.root, c.standby->id());
  wire::Envelope t = peer.Control();
  t.set_epoch(2);
  t.mutable_takeover()->set_listen(new_root);
  t.mutable_takeover()->add_voters(std::string(c.standby->id().bytes()));
  for (auto& client : c.clients)
    t.mutable_takeover()->add_voters(std::string(client->id().bytes()));
  peer.Push(t);
  ASSERT_TRUE(WaitFor([&] { return !c.root->is_root(); }, kTimeout));
  // It said so on its control topic, at the new epoch, naming the new root.
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        for (const wire::Envelope& e : heard) {
          if (e.has_takeover() && e.takeover().deposed()) return true;
        }
        return false;
      },
      kTimeout));
  size_t notice = 0;
  while (!heard[notice].has_takeover()) ++notice;
  EXPECT_EQ(heard[notice].epoch(), 2u);
  EXPECT_EQ(heard[notice].takeover().listen(), new_root);
  // Its members asked the new root at once: they never declared the root lost by its silence.
  std::map<std::string, int> asked;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> parts;
        wire::Envelope e;
        Result<bool> got = router->Receive(&parts);
        if (got.ok() && *got && parts.size() == 2 &&
            DecodeEnvelope(parts[1], 1 << 20, CodecLimits(), &e).ok() && e.has_join_request()) {
          ++asked[e.origin()];
        }
        // Twice each: the retry interval (longer than a heartbeat) has passed since.
        for (auto& client : c.clients) {
          if (asked[std::string(client->id().bytes())] < 2) return false;
        }
        return true;
      },
      kTimeout));
  for (auto& client : c.clients) {
    EXPECT_EQ(client->counters().Value("zinc_root_lost_total"), 0u);
  }
  // And no heartbeat came from the deposed root after its notice.
  drain();
  size_t after = 0;
  for (size_t i = notice; i < heard.size(); ++i) after += heard[i].has_heartbeat();
  EXPECT_EQ(after, 0u);
  EXPECT_EQ(c.root->counters().Value("zinc_stepped_down_total"), 1u);
}

TEST(HostileTest, TailOffersFromOutsideTheTakeoverAreRefusedAndNoEditIsDropped) {
  Cluster c;
  DocumentHandle* m = OpenMap(c.clients[0].get(), "m");
  ASSERT_TRUE(m->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(m->EditJson("{\"set\":[\"before\",1]}").ok());
  ASSERT_TRUE(m->WaitAcknowledged(kTimeout).ok());
  // The root dies; the standby takes over.
  c.root->Stop();
  ASSERT_TRUE(WaitFor([&] { return c.standby->is_root(); }, kTimeout));
  // A stranger offers a "sequenced" fragment in the victim's name with origin_seq 2^64-1: taken,
  // it would set the victim's dedup past all its later edits.
  auto map = TypeRegistry::WithBuiltins();
  Result<std::string> payload = map->Find("map")->FragmentFromJson("{\"set\":[\"forged\",1]}");
  ASSERT_TRUE(payload.ok());
  RawPeer stranger(*c.standby);
  wire::Envelope offer = stranger.Control("m");
  offer.set_epoch(2);
  wire::Envelope* f = offer.mutable_tail_offer()->add_fragments();
  f->set_version(kProtocolVersion);
  f->set_origin(std::string(c.clients[0]->id().bytes()));
  f->set_origin_seq(uint64_t{0} - 1);
  f->set_seq(m->seq() + 1);
  f->set_doc("m");
  f->mutable_fragment()->set_type("map");
  f->mutable_fragment()->set_payload(*payload);
  stranger.Push(offer);
  ASSERT_TRUE(WaitFor([&] { return Refused(*c.standby, "tail_offer") >= 1; }, kTimeout));
  // The victim's next edits land.
  ASSERT_TRUE(m->EditJson("{\"set\":[\"after\",2]}").ok());
  ASSERT_TRUE(m->WaitAcknowledged(kTimeout).ok());
  DocumentHandle* at_root = OpenMap(c.standby.get(), "m");
  ASSERT_TRUE(
      WaitFor([&] { return at_root->ToJson().find("\"after\":2") != std::string::npos; }, kTimeout))
      << at_root->ToJson();
  EXPECT_EQ(at_root->ToJson().find("forged"), std::string::npos);
}

TEST(HostileTest, JunkDocumentsAndStrangeAuthorsStopAtTheirBounds) {
  EndpointOptions o = FailoverOptions();
  o.max_documents = 20;
  o.max_authors_per_document = 10;
  auto root = StartHost(o);
  // Snapshot requests that create: 20 documents, then NACK_LIMIT.
  RawPeer junk(*root);
  for (int i = 0; i < 50; ++i) {
    junk.Request(junk.SnapshotRequest("junk-" + std::to_string(i), "map", /*create=*/true));
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*root, "documents") >= 30; }, kTimeout));
  EXPECT_EQ(root->counters().Value("zinc_documents_created_total"), 20u);
  // Strangers' fragments out of order leave no trace in the dedup table...
  auto map = TypeRegistry::WithBuiltins();
  const std::string payload = *map->Find("map")->FragmentFromJson("{\"set\":[\"x\",1]}");
  for (int i = 0; i < 500; ++i) {
    RawPeer stranger(*root);
    stranger.Push(stranger.Fragment("junk-0", "map", /*origin_seq=*/5, payload));
  }
  // ...so that ten real authors still fit, and the eleventh is refused.
  std::vector<std::unique_ptr<RawPeer>> authors;
  for (int i = 0; i < 11; ++i) {
    authors.push_back(std::make_unique<RawPeer>(*root));
    authors.back()->Push(authors.back()->Fragment("junk-0", "map", 1, payload));
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*root, "authors") >= 1; }, kTimeout));
  DocumentHandle* doc = OpenMap(root.get(), "junk-0");
  ASSERT_TRUE(WaitFor([&] { return doc->seq() == 10; }, kTimeout)) << doc->seq();
  EXPECT_EQ(Refused(*root, "authors"), 1u);
  // The application's own document is refused too: the root is full.
  OpenOptions open;
  open.type = "map";
  Result<DocumentHandle*> more = root->Open("one-more", open);
  EXPECT_FALSE(more.ok());
}

TEST(HostileTest, AFastWriterIsSlowedNotDroppedAndPresenceFloodsAreCut) {
  EndpointOptions o = FailoverOptions();
  o.max_fragments_per_second = 200;
  o.max_presence_bytes_per_second = 4096;
  auto root = StartHost(o);
  auto writer = StartMember(root->listen_address(), /*relay=*/false, 0);
  DocumentHandle* doc = OpenMap(writer.get(), "m");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(
        doc->EditJson("{\"set\":[\"k" + std::to_string(i) + "\"," + std::to_string(i) + "]}").ok());
  }
  // Over its rate: refused for now, sent again, all of them in at last, none twice.
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  EXPECT_GT(root->counters().Value("zinc_fragments_refused_total{reason=\"NACK_RATE_LIMITED\"}"),
            0u);
  DocumentHandle* at_root = OpenMap(root.get(), "m");
  EXPECT_EQ(at_root->seq(), 600u);
  EXPECT_EQ(writer->counters().Value("zinc_edits_refused_total"), 0u);
  // 64 KiB of presence, ten times: cut at 4 KiB a second.
  RawPeer flood(*root);
  for (int i = 0; i < 10; ++i) {
    wire::Envelope p = flood.Control("m");
    p.mutable_presence()->set_state(std::string(64 << 10, 'p'));
    flood.Push(p);
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*root, "presence") >= 10; }, kTimeout));
}

TEST(HostileTest, ChainsFromAlternatingOldBasesAreRationed) {
  EndpointOptions o = FailoverOptions();
  o.history_fragments = 16384;  // A bridge cap of 4,096: a budget of 16 x 4,096 a second.
  auto root = StartHost(o);
  DocumentHandle* text = testing::OpenText(root.get(), "t");
  ASSERT_NE(text, nullptr);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(text->EditJson("{\"insert\":[0,\"x\"]}").ok());
  ASSERT_TRUE(WaitFor([&] { return text->seq() == 3000; }, kTimeout));
  // Every fragment claims another old base: each would make the root build a bridge over
  // thousands of fragments.
  auto types = TypeRegistry::WithBuiltins();
  const std::string payload = *types->Find("text")->FragmentFromJson("{\"insert\":[0,\"y\"]}");
  RawPeer attacker(*root);
  for (uint64_t k = 1; k <= 100; ++k) {
    wire::Envelope f = attacker.Fragment("t", "text", k, payload);
    f.set_base_seq(k % 2);
    attacker.Push(f);
  }
  ASSERT_TRUE(WaitFor([&] { return Refused(*root, "bridges") > 0; }, kTimeout));
  // Refused for now, not consumed (its author would send them again), and the document goes
  // on for everyone else.
  const uint64_t before = text->seq();
  EXPECT_LT(before, 3000u + 100u);
  ASSERT_TRUE(text->EditJson("{\"insert\":[0,\"z\"]}").ok());
  EXPECT_EQ(text->seq(), before + 1);
}

// A survivor whose standby died too: tests/failover_e2e.sh both-die (it needs killed
// processes: a stopped endpoint says goodbye, and its members then go back at once).

}  // namespace
}  // namespace zinc

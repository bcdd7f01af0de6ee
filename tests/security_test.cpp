// Keys and rights over real CurveZMQ sockets on tcp loopback (docs/security.md): who has no
// authorized key gets no byte, a key gets only its rights, nobody forges an origin, and only
// members take part in failover. The same with killed processes: tests/failover_e2e.sh keys.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/channel.h"
#include "core/codec.h"
#include "core/keys.h"
#include "endpoints/address.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::RawPeer;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

CurveKeyPair NewKey() {
  Result<CurveKeyPair> k = GenerateCurveKeyPair();
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return std::move(k).value();
}

// A cluster's keys and its authorized-keys file, in a directory of the test's own.
class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "zinc-security-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    file_ = dir_ + "/authorized_keys";
    WriteKeys(true);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // with_writer: whether the writer's key is in the file.
  void WriteKeys(bool with_writer) {
    std::ofstream out(file_ + ".new");
    out << "# zinc authorized keys\n"
        << root_.public_key << " root member read:* write:*\n"
        << relay_.public_key << " relay member\n\n";
    if (with_writer) out << writer_.public_key << " writer read:* write:*\n";
    out << reader_.public_key << " reader read:*\n"
        << limited_.public_key << " limited read:a* write:a*\n";
    out.close();
    std::filesystem::rename(file_ + ".new", file_);
  }

  EndpointOptions Host(const CurveKeyPair& key) const {
    EndpointOptions o;
    o.handler_threads = 1;
    o.heartbeat_misses = 5;
    o.listen = "tcp://127.0.0.1:*";
    o.secret_key = key.secret_key;
    o.authorized_keys = file_;
    return o;
  }

  std::unique_ptr<Endpoint> Start(EndpointOptions o) {
    Result<std::unique_ptr<Endpoint>> e = Endpoint::Start(std::move(o));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) std::abort();
    return std::move(e).value();
  }

  std::unique_ptr<Endpoint> Join(const Endpoint& host, const CurveKeyPair& key,
                                 const std::string& server_key, bool relay = false,
                                 uint32_t priority = 0) {
    EndpointOptions o;
    o.handler_threads = 1;
    o.heartbeat_misses = 5;
    o.join = host.listen_address();
    o.secret_key = key.secret_key;
    o.server_key = server_key;
    o.priority = priority;
    if (relay) {
      o.listen = "tcp://127.0.0.1:*";
      o.authorized_keys = file_;
    }
    auto e = Start(std::move(o));
    EXPECT_TRUE(e->WaitJoined(kTimeout).ok());
    return e;
  }

  static ClientKeys Client(const CurveKeyPair& key, const std::string& server_key) {
    ClientKeys k;
    k.public_key = key.public_key;
    k.secret_key = key.secret_key;
    k.server_key = server_key;
    return k;
  }

  std::string dir_, file_;
  CurveKeyPair root_ = NewKey(), relay_ = NewKey(), writer_ = NewKey(), reader_ = NewKey(),
               limited_ = NewKey();
};

std::string Entries(const DocumentHandle* doc) {
  std::string json = doc->ToJson();
  return json.substr(json.find("\"entries\""));
}

// A SUB of its own on host's publish channel: with keys (a curve client), or plain.
class RawSubscriber {
 public:
  RawSubscriber(const Endpoint& host, const ClientKeys& keys) {
    ChannelOptions o;
    o.curve_public_key = keys.public_key;
    o.curve_secret_key = keys.secret_key;
    sub_ = std::move(Channel::Create(&context_, SocketType::kSub, o)).value();
    ChannelAddresses a = DeriveChannelAddresses(ParseBaseAddress(host.listen_address()).value());
    EXPECT_TRUE(sub_->Connect(a.outbound, keys.server_key).ok());
  }
  void Subscribe(std::string_view topic) { EXPECT_TRUE(sub_->Subscribe(topic).ok()); }
  // Reads what has come; returns the topics of the messages received, in order.
  std::vector<std::string> Drain() {
    std::vector<std::string> topics;
    std::vector<std::string> parts;
    for (;;) {
      Result<bool> r = sub_->Receive(&parts);
      if (!r.ok() || !*r) return topics;
      topics.push_back(parts.empty() ? "" : parts[0]);
    }
  }

 private:
  ChannelContext context_;
  std::unique_ptr<Channel> sub_;
};

bool Contains(const std::vector<std::string>& topics, const std::string& topic) {
  return std::find(topics.begin(), topics.end(), topic) != topics.end();
}

TEST_F(SecurityTest, HostWithKeysNeedsAnAuthorizedKeysFileAndPlainHostsStayOnLoopback) {
  EndpointOptions o = Host(root_);
  o.authorized_keys.clear();
  Result<std::unique_ptr<Endpoint>> e = Endpoint::Start(o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("authorized-keys"), std::string::npos);
  o = Host(root_);
  o.secret_key = "not a key";
  EXPECT_EQ(Endpoint::Start(o).status().code(), StatusCode::kInvalidArgument);
  EndpointOptions join;
  join.join = "tcp://127.0.0.1:1";
  join.secret_key = writer_.secret_key;
  e = Endpoint::Start(join);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("--server-key"), std::string::npos);
  // Protected mode: no keys, no address beyond loopback.
  EndpointOptions plain;
  plain.listen = "tcp://0.0.0.0:*";
  e = Endpoint::Start(plain);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("insecure"), std::string::npos);
  // With keys, any address.
  o = Host(root_);
  o.listen = "tcp://0.0.0.0:*";
  e = Endpoint::Start(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  (*e)->Stop();
}

TEST_F(SecurityTest, WithoutAnAuthorizedKeyNothingIsReadOrWritten) {
  auto root = Start(Host(root_));
  auto writer = Join(*root, writer_, root_.public_key);
  auto reader = Join(*root, reader_, root_.public_key);
  DocumentHandle* w = OpenMap(writer.get(), "doc");
  DocumentHandle* r = OpenMap(reader.get(), "doc");
  ASSERT_TRUE(w->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(r->WaitSynced(kTimeout).ok());

  // Outsiders: plain, an unknown key, and the writer's key against a server with another key.
  CurveKeyPair stranger = NewKey();
  RawSubscriber plain(*root, ClientKeys());
  RawSubscriber unknown(*root, Client(stranger, root_.public_key));
  RawSubscriber wrong_server(*root, Client(writer_, stranger.public_key));
  for (RawSubscriber* s : {&plain, &unknown, &wrong_server}) {
    s->Subscribe("");
    s->Subscribe(WireTopic("doc"));
  }
  RawPeer plain_peer(*root, EndpointId::Random(), ClientKeys(), /*probe=*/false);
  RawPeer unknown_peer(*root, NewIdForKey(stranger.public_key), Client(stranger, root_.public_key),
                       /*probe=*/false);
  // Neither gets a connection to send on: the handshake fails, or the ZAP handler refuses it.
  const auto brief = std::chrono::milliseconds(300);
  EXPECT_FALSE(
      plain_peer.TryPush(plain_peer.Fragment("doc", "map", 1, "{\"set\":[\"plain\",1]}"), brief));
  EXPECT_FALSE(unknown_peer.TryPush(
      unknown_peer.Fragment("doc", "map", 1, "{\"set\":[\"stranger\",1]}"), brief));
  EXPECT_FALSE(plain_peer.TryRequest(plain_peer.SnapshotRequest("doc", "map"), brief));
  EXPECT_FALSE(unknown_peer.TryRequest(unknown_peer.SnapshotRequest("doc", "map"), brief));
  // The host's ZAP handler refused the unknown key (a plain peer fails the handshake itself).
  ASSERT_TRUE(WaitFor([&] { return root->counters().Value("zinc_connections_refused_total") > 0; },
                      kTimeout));

  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        w->EditJson("{\"set\":[\"k" + std::to_string(i) + "\"," + std::to_string(i) + "]}").ok());
  }
  ASSERT_TRUE(w->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return r->seq() == w->seq(); }, kTimeout));
  EXPECT_EQ(w->seq(), 20u);  // Neither outsider's fragment was sequenced.
  EXPECT_EQ(Entries(r), Entries(w));
  EXPECT_EQ(r->ToJson().find("stranger"), std::string::npos);
  EXPECT_EQ(r->ToJson().find("plain"), std::string::npos);
  for (RawSubscriber* s : {&plain, &unknown, &wrong_server}) EXPECT_TRUE(s->Drain().empty());
  wire::Envelope reply;
  EXPECT_FALSE(plain_peer.ReceiveReply(&reply, std::chrono::milliseconds(200)));
  EXPECT_FALSE(unknown_peer.ReceiveReply(&reply, std::chrono::milliseconds(200)));
  // A zinc endpoint with an unknown key does not get in either.
  EndpointOptions o;
  o.join = root->listen_address();
  o.secret_key = stranger.secret_key;
  o.server_key = root_.public_key;
  auto outsider = Start(o);
  // It is told so (the host's ZAP handler answered 400), well before any timeout.
  Status refused = outsider->WaitJoined(kTimeout);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  EXPECT_NE(refused.message().find("refused this endpoint's key " + stranger.public_key),
            std::string::npos)
      << refused.ToString();
  EXPECT_GE(outsider->counters().Value("zinc_key_refused_total"), 1u);
  outsider->Stop();
  reader->Stop();
  writer->Stop();
  root->Stop();
}

TEST_F(SecurityTest, RightsHoldPerDocument) {
  auto root = Start(Host(root_));
  auto writer = Join(*root, writer_, root_.public_key);
  auto reader = Join(*root, reader_, root_.public_key);
  auto limited = Join(*root, limited_, root_.public_key);
  DocumentHandle* wa = OpenMap(writer.get(), "a1");
  DocumentHandle* wb = OpenMap(writer.get(), "b");
  ASSERT_TRUE(wa->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(wb->WaitSynced(kTimeout).ok());

  // Read-only: the edit is refused with a nack naming the document and the key.
  DocumentHandle* rb = OpenMap(reader.get(), "b");
  ASSERT_TRUE(rb->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(rb->EditJson("{\"set\":[\"reader\",1]}").ok());  // Applied locally at once...
  ASSERT_TRUE(
      WaitFor([&] { return reader->counters().Value("zinc_edits_refused_total") == 1; }, kTimeout));
  EXPECT_EQ(reader->counters().Value("zinc_nacks_received_total{reason=\"NACK_FORBIDDEN\"}"), 1u);
  EXPECT_TRUE(rb->WaitAcknowledged(kTimeout).ok());
  // ...and undone: the reader's replica is the host's again.
  ASSERT_TRUE(wb->EditJson("{\"set\":[\"writer\",1]}").ok());
  ASSERT_TRUE(wb->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(
      WaitFor([&] { return rb->seq() == wb->seq() && Entries(rb) == Entries(wb); }, kTimeout));
  EXPECT_EQ(wb->seq(), 1u);
  EXPECT_EQ(Entries(wb).find("reader"), std::string::npos);

  // read:a* write:a*: a1 opens and takes edits; b cannot be opened.
  DocumentHandle* la = OpenMap(limited.get(), "a1");
  ASSERT_TRUE(la->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(la->EditJson("{\"set\":[\"limited\",1]}").ok());
  ASSERT_TRUE(la->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return wa->seq() == 1; }, kTimeout));
  OpenOptions open;
  open.type = "map";
  Result<DocumentHandle*> lb = limited->Open("b", open);
  ASSERT_TRUE(lb.ok());
  EXPECT_EQ((*lb)->WaitSynced(kTimeout).code(), StatusCode::kPermissionDenied);
  // Nor by catch-up, nor by subscribing to b's topic, its prefix or every topic; its own a1
  // subscription works.
  RawPeer raw(*root, NewIdForKey(limited_.public_key), Client(limited_, root_.public_key),
              /*probe=*/false);
  wire::Envelope catchup = raw.Control("b");
  catchup.mutable_catchup_request()->set_from_seq(1);
  catchup.mutable_catchup_request()->set_to_seq(UINT64_MAX);
  raw.Request(catchup);
  raw.Request(raw.SnapshotRequest("b", "map"));
  for (int i = 0; i < 2; ++i) {
    wire::Envelope reply;
    ASSERT_TRUE(raw.ReceiveReply(&reply, kTimeout));
    ASSERT_TRUE(reply.has_nack()) << reply.DebugString();
    EXPECT_EQ(reply.nack().reason(), wire::NACK_FORBIDDEN);
    EXPECT_NE(reply.nack().text().find("'limited'"), std::string::npos) << reply.nack().text();
  }
  RawSubscriber sub(*root, Client(limited_, root_.public_key));
  sub.Subscribe("");
  sub.Subscribe("b");
  sub.Subscribe(WireTopic("b"));
  sub.Subscribe(WireTopic("a1"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return root->counters().Value("zinc_subscriptions_refused_total") >= 3 &&
               limited->counters().Value("zinc_subscriptions_refused_total") == 0;
      },
      kTimeout));
  std::vector<std::string> topics;
  // Edits to both documents until one of a1 arrives: none of b's may have come before it.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(wb->EditJson("{\"set\":[\"more\",1]}").ok());
        EXPECT_TRUE(wa->EditJson("{\"set\":[\"more\",1]}").ok());
        for (std::string& t : sub.Drain()) topics.push_back(std::move(t));
        return Contains(topics, WireTopic("a1"));
      },
      kTimeout));
  ASSERT_TRUE(wb->WaitAcknowledged(kTimeout).ok());
  for (std::string& t : sub.Drain()) topics.push_back(std::move(t));
  for (const std::string& t : topics) EXPECT_EQ(t, WireTopic("a1"));
  limited->Stop();
  reader->Stop();
  writer->Stop();
  root->Stop();
}

TEST_F(SecurityTest, NoOneForgesAnOriginOrTakesPartInFailoverWithoutTheMemberRight) {
  auto root = Start(Host(root_));
  auto standby = Join(*root, relay_, root_.public_key, /*relay=*/true, /*priority=*/5);
  auto writer = Join(*root, writer_, root_.public_key);
  DocumentHandle* w = OpenMap(writer.get(), "doc");
  ASSERT_TRUE(w->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return root->roster().standby == standby->id(); }, kTimeout));
  const RosterInfo before = root->roster();

  // The reader's key with the writer's id: refused, whatever the channel.
  RawPeer forger(*root, writer->id(), Client(reader_, root_.public_key), /*probe=*/false);
  forger.Push(forger.Fragment("doc", "map", 1000, "{\"set\":[\"forged\",1]}"));
  // The limited key, authorized to write, with an id its key owns but another's origin inside.
  RawPeer limited(*root, NewIdForKey(limited_.public_key), Client(limited_, root_.public_key),
                  /*probe=*/true);
  wire::Envelope forged = limited.Fragment("doc", "map", 1, "{\"set\":[\"forged\",2]}");
  forged.set_origin(std::string(writer->id().bytes()));
  limited.Push(forged);
  // Failover's messages from a key that is not a member (limited writes a*, it is no member).
  wire::Envelope takeover = limited.Control();
  takeover.set_epoch(before.epoch + 1);
  takeover.mutable_takeover()->set_listen("tcp://127.0.0.1:1");
  limited.Push(takeover);
  wire::Envelope report = limited.Control();
  report.mutable_member_report()->set_listen("tcp://127.0.0.1:1");
  report.mutable_member_report()->set_priority(100);
  limited.Push(report);
  wire::Envelope lost = limited.Control();
  lost.set_epoch(before.epoch);
  lost.mutable_root_lost();
  limited.Push(lost);
  wire::Envelope tail = limited.Control("doc");
  tail.set_epoch(before.epoch + 1);
  wire::Envelope sequenced = limited.Fragment("doc", "map", 1, "{\"set\":[\"forged\",3]}");
  sequenced.set_origin(std::string(writer->id().bytes()));
  sequenced.set_seq(1);
  *tail.mutable_tail_offer()->add_fragments() = sequenced;
  limited.Push(tail);
  const uint64_t refusals = 5;  // all but the vote (anyone's, and one changes nothing)
  ASSERT_TRUE(WaitFor(
      [&] {
        return root->counters().Value("zinc_messages_refused_total{reason=\"NACK_FORBIDDEN\"}") >=
               refusals;
      },
      kTimeout));
  // The writer's own edits still count (its dedup was not moved by the forged origin_seq).
  ASSERT_TRUE(w->EditJson("{\"set\":[\"real\",1]}").ok());
  ASSERT_TRUE(w->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(w->seq(), 1u);
  EXPECT_EQ(w->ToJson().find("forged"), std::string::npos);
  EXPECT_TRUE(root->is_root());
  const RosterInfo after = root->roster();
  EXPECT_EQ(after.epoch, before.epoch);
  EXPECT_EQ(after.standby, standby->id());
  EXPECT_EQ(after.members.size(), before.members.size());
  EXPECT_EQ(root->counters().Value("zinc_takeovers_total"), 0u);
  EXPECT_FALSE(standby->is_root());
  writer->Stop();
  standby->Stop();
  root->Stop();
}

TEST_F(SecurityTest, ARemovedKeyLosesAccessAtOnce) {
  auto root = Start(Host(root_));
  auto writer = Join(*root, writer_, root_.public_key);
  auto reader = Join(*root, reader_, root_.public_key);
  DocumentHandle* w = OpenMap(writer.get(), "doc");
  DocumentHandle* r = OpenMap(reader.get(), "doc");
  ASSERT_TRUE(w->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(r->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(w->EditJson("{\"set\":[\"before\",1]}").ok());
  ASSERT_TRUE(w->WaitAcknowledged(kTimeout).ok());
  // A subscriber of the writer's key, to see that it reads nothing after.
  RawSubscriber sub(*root, Client(writer_, root_.public_key));
  sub.Subscribe(WireTopic("doc"));
  ASSERT_TRUE(WaitFor([&] { return r->seq() == 1; }, kTimeout));

  // A bad file changes nothing.
  { std::ofstream(file_) << "garbage line\n"; }
  Status bad = root->ReloadAuthorizedKeys();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find(":1:"), std::string::npos) << bad.ToString();
  WriteKeys(/*with_writer=*/false);
  ASSERT_TRUE(root->ReloadAuthorizedKeys().ok());
  sub.Drain();
  // The writer's edits are refused from now on, and it receives nothing more.
  ASSERT_TRUE(w->EditJson("{\"set\":[\"after\",1]}").ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        return root->counters().Value("zinc_messages_refused_total{reason=\"NACK_FORBIDDEN\"}") >=
               1;
      },
      kTimeout));
  RawPeer other(*root, NewIdForKey(limited_.public_key), Client(limited_, root_.public_key),
                /*probe=*/true);  // Still works: only the writer was removed.
  DocumentHandle* r2 = OpenMap(reader.get(), "doc");
  ASSERT_TRUE(r2->EditJson("{\"set\":[\"reader\",1]}").ok());  // Refused: read only.
  ASSERT_TRUE(
      WaitFor([&] { return reader->counters().Value("zinc_edits_refused_total") == 1; }, kTimeout));
  EXPECT_EQ(r->seq(), 1u);
  // Another writer (the root itself) edits; the removed key's replica stays where it was.
  DocumentHandle* h = OpenMap(root.get(), "doc");
  ASSERT_TRUE(h->EditJson("{\"set\":[\"host\",1]}").ok());
  ASSERT_TRUE(WaitFor([&] { return r->seq() == 2; }, kTimeout));
  EXPECT_EQ(w->seq(), 1u);
  EXPECT_TRUE(sub.Drain().empty());
  EXPECT_EQ(h->ToJson().find("after"), std::string::npos);
  reader->Stop();
  writer->Stop();
  root->Stop();
}

TEST_F(SecurityTest, RelaysRedirectsAndFailoverWorkWithKeys) {
  EndpointOptions ro = Host(root_);
  ro.max_children = 2;  // The third joiner is redirected to a relay.
  auto root = Start(ro);
  auto standby = Join(*root, relay_, root_.public_key, /*relay=*/true, /*priority=*/5);
  auto relay = Join(*root, relay_, root_.public_key, /*relay=*/true, /*priority=*/1);
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> maps;
  for (const CurveKeyPair* k : {&writer_, &limited_}) {
    clients.push_back(Join(*root, *k, root_.public_key));
    maps.push_back(OpenMap(clients.back().get(), "a"));
    ASSERT_TRUE(maps.back()->WaitSynced(kTimeout).ok());
  }
  for (auto& c : clients) {
    EXPECT_GE(c->position().depth, 2u);  // Below a relay: they were redirected with its key.
    ASSERT_TRUE(WaitFor([&] { return c->roster().standby == standby->id(); }, kTimeout));
  }
  auto edit = [&](int round) {
    for (size_t i = 0; i < maps.size(); ++i) {
      for (int k = 0; k < 20; ++k) {
        ASSERT_TRUE(maps[i]
                        ->EditJson("{\"set\":[\"c" + std::to_string(i) + "-" +
                                   std::to_string(round * 20 + k) + "\",1]}")
                        .ok());
      }
    }
  };
  edit(0);
  for (DocumentHandle* m : maps) ASSERT_TRUE(m->WaitAcknowledged(kTimeout).ok());
  root->Stop();
  edit(1);
  for (DocumentHandle* m : maps) ASSERT_TRUE(m->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return standby->is_root(); }, kTimeout));
  EXPECT_EQ(standby->roster().epoch, 2u);
  DocumentHandle* s = OpenMap(standby.get(), "a");
  ASSERT_TRUE(WaitFor([&] { return s->seq() == 80; }, kTimeout)) << s->seq();
  for (DocumentHandle* m : maps) {
    ASSERT_TRUE(WaitFor([&] { return m->seq() == s->seq(); }, kTimeout));
    EXPECT_EQ(Entries(m), Entries(s));
  }
  for (auto& c : clients) c->Stop();
  relay->Stop();
  standby->Stop();
}

}  // namespace
}  // namespace zinc

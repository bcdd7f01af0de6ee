#include "examples/canvas/bridge.h"

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace canvas {
namespace {

using Json = nlohmann::json;
using testing::StartHost;
using testing::WaitFor;

class FakeTab final : public Tab {
 public:
  void Send(std::string frame) override { frames.push_back(std::move(frame)); }
  void Close(int code, std::string reason) override {
    close_code = code;
    close_reason = std::move(reason);
  }
  // The frames of type t received so far, parsed.
  std::vector<Json> Of(const std::string& t) const {
    std::vector<Json> out;
    for (const std::string& f : frames) {
      Json j = Json::parse(f);
      if (j["t"] == t) out.push_back(j);
    }
    return out;
  }

  std::vector<std::string> frames;
  int close_code = 0;
  std::string close_reason;
};

// A bridge on a real document (hosted by a root endpoint), its changes pumped into the bridge
// on the test's thread, as the gateway posts them to its I/O thread.
class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = StartHost();
    OpenOptions open;
    open.type = "canvas";
    doc_ = *host_->Open("canvas", open);
    doc_->OnChange([this](const DocumentChange& c) {
      std::lock_guard<std::mutex> l(mu_);
      changes_.push_back(c);
    });
    bridge_ = std::make_unique<CanvasBridge>(doc_, "gw1", limits_);
  }
  // The document's listener writes into this fixture: stop it first.
  void TearDown() override { host_->Stop(); }

  // Hands every change delivered so far to the bridge; waits until there are at least n in all.
  void Pump(size_t n) {
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard<std::mutex> l(mu_);
      return pumped_ + changes_.size() >= n;
    }));
    std::deque<DocumentChange> got;
    {
      std::lock_guard<std::mutex> l(mu_);
      got.swap(changes_);
    }
    pumped_ += got.size();
    for (const DocumentChange& c : got) bridge_->OnChange(c);
  }

  CanvasBridge::TabId Join(FakeTab* tab, const std::string& name = "Ada",
                           const std::string& token = "") {
    CanvasBridge::TabId id = bridge_->Connect(tab, token);
    bridge_->Receive(id, R"({"t":"hello","name":")" + name + R"(","color":"#e91e63"})", now_);
    return id;
  }

  BridgeLimits limits_;
  std::unique_ptr<Endpoint> host_;
  DocumentHandle* doc_ = nullptr;
  std::unique_ptr<CanvasBridge> bridge_;
  std::mutex mu_;
  std::deque<DocumentChange> changes_;
  size_t pumped_ = 0;
  CanvasBridge::TimePoint now_ = std::chrono::steady_clock::now();
};

TEST_F(BridgeTest, HelloGetsAWelcomeWithTheStateAndAParticipantId) {
  FakeTab a;
  Join(&a);
  auto welcome = a.Of("welcome");
  ASSERT_EQ(welcome.size(), 1u);
  EXPECT_EQ(welcome[0]["id"], "gw1-1");
  EXPECT_EQ(welcome[0]["canvas"], Json::parse(R"({"shapes":[]})"));
}

TEST_F(BridgeTest, AnEditReachesEveryTabAndAcknowledgesItsAuthorInStreamOrder) {
  FakeTab a, b;
  CanvasBridge::TabId ida = Join(&a);
  Join(&b, "Bob");
  bridge_->Receive(
      ida, R"({"t":"edit","n":1,"edit":{"add":{"id":"s1","kind":"stroke","points":[[1,2]]}}})",
      now_);
  bridge_->Receive(ida, R"({"t":"edit","n":2,"edit":{"append":{"id":"s1","points":[[3,4]]}}})",
                   now_);
  Pump(2);
  auto at_a = a.Of("change");
  auto at_b = b.Of("change");
  ASSERT_EQ(at_a.size(), 2u);
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_a[0]["n"], 1);
  EXPECT_EQ(at_a[1]["n"], 2);
  EXPECT_FALSE(at_b[0].contains("n"));
  EXPECT_EQ(at_a[0]["edit"], at_b[0]["edit"]);
  EXPECT_EQ(at_b[1]["edit"]["append"]["points"], Json::parse("[[3,4]]"));
  // A late joiner's welcome is the document as the others were told it.
  FakeTab c;
  Join(&c, "Cy");
  auto welcome = c.Of("welcome");
  ASSERT_EQ(welcome.size(), 1u);
  std::string state;
  doc_->Read([&](const Document& d) { state = d.ToJson(); });
  EXPECT_EQ(welcome[0]["canvas"], Json::parse(state));
  EXPECT_EQ(welcome[0]["canvas"]["shapes"][0]["points"], Json::parse("[[1,2],[3,4]]"));
}

TEST_F(BridgeTest, ARefusedEditGetsAnErrorWithItsNumberAndChangesNothing) {
  FakeTab a;
  CanvasBridge::TabId id = Join(&a);
  bridge_->Receive(id, R"({"t":"edit","n":7,"edit":{"add":{"id":"x","kind":"blob"}}})", now_);
  bridge_->Receive(id, R"({"t":"edit","n":8,"edit":{"add":{"id":"x","kind":"rect","x":1e300}}})",
                   now_);
  bridge_->Receive(id, R"({"t":"edit","edit":{"delete":"x"}})", now_);
  auto errors = a.Of("error");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0]["n"], 7);
  EXPECT_EQ(errors[1]["n"], 8);
  EXPECT_FALSE(errors[2].contains("n"));
  EXPECT_EQ(doc_->seq(), 0u);
  EXPECT_EQ(bridge_->stats().edits_refused, 2u);
}

TEST(GatewayTokensTest, ParsesTheRightsAndRefusesABadLineWithItsNumber) {
  Result<GatewayTokens> t = GatewayTokens::Parse(
      "# tokens\n\nwriter-0123456789abcdef ada read:* write:canvas\n"
      "reader-0123456789abcdef bob read:canvas\n",
      "tokens");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->size(), 2u);
  ASSERT_NE(t->Find("writer-0123456789abcdef"), nullptr);
  EXPECT_TRUE(t->Find("writer-0123456789abcdef")->CanWrite("canvas"));
  EXPECT_FALSE(t->Find("reader-0123456789abcdef")->CanWrite("canvas"));
  EXPECT_EQ(t->Find("reader-0123456789abcdef0"), nullptr);
  EXPECT_EQ(t->Find(""), nullptr);
  for (const auto& [text, error] : std::vector<std::pair<std::string, std::string>>{
           {"short bob read:*\n", "tokens:1: 'short' is not a token"},
           {"ok-0123456789abcdef bob read:*\nbad/0123456789abcdef x read:*\n", "tokens:2:"},
           {"ok-0123456789abcdef bob member\n", "tokens:1: 'member' is not a right"},
           {"ok-0123456789abcdef bob\n", "tokens:1: a token needs a name"},
           {"ok-0123456789abcdef a read:*\nok-0123456789abcdef b read:*\n",
            "tokens:2: the token of 'b' is listed again"}}) {
    Result<GatewayTokens> bad = GatewayTokens::Parse(text, "tokens");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(error), std::string::npos) << bad.status().message();
  }
}

TEST_F(BridgeTest, WithTokensATabGetsOnlyItsRightsAndLosesThemOnReload) {
  auto tokens = std::make_shared<GatewayTokens>(*GatewayTokens::Parse(
      "writer-0123456789abcdef ada write:canvas\nreader-0123456789abcdef bob read:c*\n"
      "other-0123456789abcdef cy read:other write:other\n",
      "tokens"));
  bridge_->SetTokens(tokens);
  FakeTab none, unknown, other;
  EXPECT_EQ(bridge_->Connect(&none), 0u);
  EXPECT_EQ(none.close_code, kCloseNoToken);
  EXPECT_NE(none.close_reason.find("token"), std::string::npos);
  EXPECT_EQ(bridge_->Connect(&unknown, "writer-0123456789abcdeF"), 0u);
  EXPECT_EQ(unknown.close_code, kCloseNoToken);
  EXPECT_EQ(bridge_->Connect(&other, "other-0123456789abcdef"), 0u);
  EXPECT_EQ(other.close_code, kCloseForbidden);
  EXPECT_EQ(other.close_reason, "token 'cy' may not read 'canvas'");
  EXPECT_TRUE(none.frames.empty() && unknown.frames.empty() && other.frames.empty());
  EXPECT_EQ(bridge_->tabs(), 0u);

  FakeTab writer, reader;
  CanvasBridge::TabId w = Join(&writer, "Ada", "writer-0123456789abcdef");
  CanvasBridge::TabId r = Join(&reader, "Bob", "reader-0123456789abcdef");
  ASSERT_EQ(writer.Of("welcome").size(), 1u);
  ASSERT_EQ(reader.Of("welcome").size(), 1u);
  EXPECT_FALSE(writer.Of("welcome")[0].contains("readonly"));
  EXPECT_EQ(reader.Of("welcome")[0]["readonly"], true);
  // The reader's edits are refused, as often as it tries, and never close it.
  for (uint64_t n = 1; n <= 150; ++n) {
    bridge_->Receive(r,
                     R"({"t":"edit","n":)" + std::to_string(n) + R"(,"edit":{"add":{"id":"r)" +
                         std::to_string(n) + R"(","kind":"rect","x":1,"y":1,"w":1,"h":1}}})",
                     now_ + std::chrono::seconds(n));
  }
  ASSERT_EQ(reader.Of("error").size(), 150u);
  EXPECT_EQ(reader.Of("error")[0]["text"], "forbidden: token 'bob' may not write 'canvas'");
  EXPECT_EQ(reader.close_code, 0);
  EXPECT_EQ(bridge_->stats().edits_forbidden, 150u);
  bridge_->Receive(
      w, R"({"t":"edit","n":1,"edit":{"add":{"id":"s1","kind":"stroke","points":[[1,2]]}}})", now_);
  Pump(1);
  EXPECT_EQ(writer.Of("change").size(), 1u);
  EXPECT_EQ(reader.Of("change").size(), 1u);  // it reads
  EXPECT_EQ(doc_->seq(), 1u);

  // Reloaded without the reader, and the writer read-only: the reader is closed at once.
  bridge_->SetTokens(std::make_shared<GatewayTokens>(
      *GatewayTokens::Parse("writer-0123456789abcdef ada read:*\n", "tokens")));
  EXPECT_EQ(reader.close_code, kCloseNoToken);
  EXPECT_EQ(writer.close_code, 0);
  EXPECT_EQ(bridge_->tabs(), 1u);
  bridge_->Receive(w, R"({"t":"edit","n":2,"edit":{"delete":"s1"}})", now_);
  ASSERT_EQ(writer.Of("error").size(), 1u);
  EXPECT_EQ(writer.Of("error")[0]["n"], 2);
  EXPECT_EQ(doc_->seq(), 1u);
  // No tokens: open again.
  bridge_->SetTokens(nullptr);
  FakeTab anyone;
  Join(&anyone, "Dee");
  EXPECT_EQ(anyone.close_code, 0);
  EXPECT_EQ(anyone.Of("welcome").size(), 1u);
}

TEST_F(BridgeTest, BadFramesAreRefusedOneByOneAndTooManyCloseTheConnection) {
  FakeTab a, b;
  CanvasBridge::TabId id = bridge_->Connect(&a);
  bridge_->Receive(id, R"({"t":"edit","n":1,"edit":{"delete":"x"}})", now_);  // Before hello.
  bridge_->Receive(id, "not json", now_);
  bridge_->Receive(id, std::string(100000, '[') + std::string(100000, ']'), now_);
  bridge_->Receive(id, R"({"t":"hello","name":"","color":"red"})", now_);
  EXPECT_EQ(a.Of("error").size(), 4u);
  EXPECT_EQ(a.close_code, 0);
  Join(&b, "Bob");
  for (int i = 0; i < 200; ++i) bridge_->Receive(id, R"({"t":42})", now_);
  EXPECT_EQ(a.close_code, 1008);
  EXPECT_EQ(bridge_->tabs(), 1u);  // Only Bob is left, and he saw nothing of it.
  EXPECT_TRUE(b.Of("error").empty());
  FakeTab c;
  CanvasBridge::TabId idc = Join(&c, "Cy");
  bridge_->Receive(idc, std::string(limits_.max_frame_bytes + 1, ' '), now_);
  EXPECT_EQ(c.close_code, 1009);
}

TEST_F(BridgeTest, AFloodIsRefusedBeyondTheRateAndCursorsAreDroppedSilently) {
  FakeTab a;
  CanvasBridge::TabId id = Join(&a);
  for (int i = 0; i < limits_.max_frames_per_second + 10; ++i) {
    bridge_->Receive(id, R"({"t":"cursor","x":1,"y":2})", now_);
  }
  EXPECT_TRUE(a.Of("error").empty());
  bridge_->Receive(id, R"({"t":"edit","n":1,"edit":{"delete":"x"}})", now_);
  auto errors = a.Of("error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["n"], 1);
  // A second later the tab may send again.
  bridge_->Receive(id, R"({"t":"edit","n":2,"edit":{"add":{"id":"f1","kind":"rect"}}})",
                   now_ + std::chrono::seconds(1));
  Pump(1);
  EXPECT_EQ(a.Of("change").back()["n"], 2);
}

TEST_F(BridgeTest, PresenceGoesToTheOtherTabsAndToOtherGateways) {
  FakeTab a, b;
  CanvasBridge::TabId ida = Join(&a);
  Join(&b, "Bob");
  bridge_->Receive(ida, R"({"t":"cursor","x":10,"y":20})", now_);
  bridge_->Tick(now_ + std::chrono::milliseconds(100));
  auto at_b = b.Of("presence");
  ASSERT_FALSE(at_b.empty());
  const Json& peers = at_b.back()["peers"];
  ASSERT_EQ(peers.size(), 1u);  // Ada, not Bob himself.
  EXPECT_EQ(peers[0]["name"], "Ada");
  EXPECT_EQ(peers[0]["x"], 10);
  // Another gateway's tabs, heard through zinc, until it falls silent.
  EndpointId other = EndpointId::Random();
  bridge_->OnPresence(other,
                      R"({"peers":[{"id":"gw2-1","name":"Eve","color":"#00ff00","x":1,"y":1}]})",
                      now_ + std::chrono::milliseconds(200));
  bridge_->Tick(now_ + std::chrono::milliseconds(300));
  EXPECT_EQ(a.Of("presence").back()["peers"].size(), 2u);  // Bob and Eve.
  bridge_->OnPresence(other, "garbage", now_);             // Ignored.
  bridge_->Tick(now_ + std::chrono::seconds(4));
  EXPECT_EQ(a.Of("presence").back()["peers"].size(), 1u);  // Eve expired.
}

TEST_F(BridgeTest, AResetReplacesTheStateEveryTabHas) {
  FakeTab a;
  Join(&a);
  CanvasDocument other;
  ASSERT_TRUE(other
                  .Apply(CanvasType()
                             .FragmentFromJson(R"({"add":{"id":"r1","kind":"rect","w":5,"h":5}})")
                             .value())
                  .ok());
  DocumentChange reset;
  reset.reset = true;
  reset.seq = 9;
  reset.payload = other.Snapshot();
  bridge_->OnChange(reset);
  auto resets = a.Of("reset");
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0]["seq"], 9);
  EXPECT_EQ(resets[0]["canvas"]["shapes"][0]["id"], "r1");
}

}  // namespace
}  // namespace canvas
}  // namespace zinc

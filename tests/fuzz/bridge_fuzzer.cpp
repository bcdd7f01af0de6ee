// fuzz_bridge: the canvas gateway's side of its WebSocket (examples/canvas/bridge.h), driven as
// the gateway drives it, on a document handle kept in memory (no Endpoint, no sockets: the bridge
// only needs a DocumentHandle). The input is one event per line, its first byte saying what:
//
//   c TOKEN        a tab connects, presenting TOKEN (nothing: none)
//   r K FRAME      tab K (a byte, modulo the tabs so far) sends the text frame FRAME
//   d K            tab K disconnects
//   e EDIT         a remote participant's canvas JSON edit, applied and delivered as a change
//   s EDIT         a resync: the document as it is plus EDIT, delivered as a reset
//   p O STATE      the presence STATE of the remote gateway O (a byte)
//   t MS           MS milliseconds pass (decimal; 50 when empty), then the bridge's Tick
//   k TOKENS       the tokens file TOKENS (';' between lines) comes in force; "K": none
//
// Invariants: every frame a tab gets is a JSON object of a known type; nothing is sent to a tab
// after it was closed, and only with a close code the gateway documents; a tab is acknowledged
// only edit numbers it sent; the presence the bridge publishes is JSON; and at the end a new tab
// is welcomed with exactly the document's state and seq (the bridge's mirror follows the
// document through every change and reset).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "documents/canvas_document.h"
#include "examples/canvas/bridge.h"
#include "tests/fuzz/fuzz_util.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace fuzz {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxEvents = 64;
constexpr size_t kMaxPresenceBytes = 64 << 10;  // CodecLimits::max_presence_bytes

// A document handle over a CanvasDocument in memory: an edit applies at once, and its change is
// queued to reach the bridge after the call, as the real handle posts it to the gateway's
// thread. Owner thread only.
class MemoryHandle final : public DocumentHandle {
 public:
  const std::string& name() const override { return name_; }
  const DocumentType* type() const override { return &type_; }
  Status Edit(std::string payload) override {
    ZINC_RETURN_IF_ERROR(doc_.Apply(payload));
    DocumentChange c;
    c.local = true;
    c.payload = std::move(payload);
    changes_.push_back(std::move(c));
    return Status::Ok();
  }
  Status EditJson(std::string_view json) override {
    Result<std::string> payload = type_.FragmentFromJson(json);
    if (!payload.ok()) return payload.status();
    return Edit(std::move(payload).value());
  }
  Status EditWith(const std::function<Result<std::string>(const Document&)>& make) override {
    Result<std::string> payload = make(doc_);
    if (!payload.ok()) return payload.status();
    return Edit(std::move(payload).value());
  }
  Status WaitSynced(std::chrono::milliseconds) override { return Status::Ok(); }
  Status WaitAcknowledged(std::chrono::milliseconds) override { return Status::Ok(); }
  Status WaitPendingAtMost(size_t, std::chrono::milliseconds) override { return Status::Ok(); }
  uint64_t seq() const override { return seq_; }
  size_t pending() const override { return 0; }
  std::string ToJson() const override { return doc_.ToJson(); }
  void Read(const std::function<void(const Document&)>& fn) const override { fn(doc_); }
  void OnChange(std::function<void(const DocumentChange&)>) override {}
  Status SetPresence(std::string state) override {
    if (state.size() > kMaxPresenceBytes)
      return Status(StatusCode::kResourceExhausted, "presence state over 64 KiB");
    if (!state.empty()) {
      const Json j = Json::parse(state, nullptr, /*allow_exceptions=*/false);
      Expect(j.is_object() && j.contains("peers") && j["peers"].is_array(),
             "the bridge publishes a presence that is not {\"peers\":[...]}");
    }
    return Status::Ok();
  }
  void OnPresence(std::function<void(const EndpointId&, const std::string&)>) override {}
  void OnAcknowledged(std::function<void(uint64_t, uint64_t)>) override {}

  // A remote participant's edit (JSON), applied here as the replica would: returns whether it
  // applied, and then the change to deliver in *out.
  bool Remote(std::string_view json, DocumentChange* out) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    if (!payload.ok() || !doc_.Apply(*payload).ok()) return false;
    out->seq = ++seq_;
    out->payload = std::move(payload).value();
    return true;
  }
  // A resync: the state is replaced by a snapshot, here the state plus the edit json (if it
  // parses and applies), and *out is the reset to deliver.
  void Reset(std::string_view json, DocumentChange* out) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    if (payload.ok()) (void)doc_.Apply(*payload);
    out->seq = ++seq_;
    out->reset = true;
    out->payload = doc_.Snapshot();
  }
  std::deque<DocumentChange>* changes() { return &changes_; }
  const CanvasDocument& doc() const { return doc_; }

 private:
  const std::string name_ = "canvas";
  const CanvasType type_{};
  CanvasDocument doc_;
  uint64_t seq_ = 0;
  std::deque<DocumentChange> changes_;
};

const std::set<std::string>& FrameTypes() {
  static const std::set<std::string> types = {"welcome", "change", "reset", "error", "presence"};
  return types;
}

// One browser tab: checks each frame the bridge sends it. Owner thread only.
class CheckedTab final : public canvas::Tab {
 public:
  void Send(std::string frame) override {
    Expect(!closed_, "a frame sent to a closed tab");
    const Json j = Json::parse(frame, nullptr, /*allow_exceptions=*/false);
    Expect(j.is_object() && j.contains("t") && j["t"].is_string() &&
               FrameTypes().count(j["t"].get<std::string>()) > 0,
           "a frame to a tab that is not a JSON object of a known type");
    const std::string t = j["t"].get<std::string>();
    if (t == "change" && j.contains("n")) {
      Expect(j["n"].is_number_unsigned() && sent_.count(j["n"].get<uint64_t>()) > 0,
             "a tab acknowledged an edit number it never sent");
    }
    if (t == "error") Expect(j.contains("text") && j["text"].is_string(), "an error without text");
    if (t == "welcome") last_welcome_ = j;
  }
  void Close(int code, std::string) override {
    Expect(!closed_, "a tab closed twice");
    Expect(code == 1008 || code == 1009 || code == canvas::kCloseNoToken ||
               code == canvas::kCloseForbidden,
           "a tab closed with a code the gateway does not document");
    closed_ = true;
  }
  // Notes the edit number of a frame this tab sends.
  void Sending(std::string_view frame) {
    const Json j = Json::parse(frame, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("n") && j["n"].is_number_unsigned()) {
      sent_.insert(j["n"].get<uint64_t>());
    }
  }
  bool closed() const { return closed_; }
  const Json& last_welcome() const { return last_welcome_; }

 private:
  bool closed_ = false;
  std::set<uint64_t> sent_;
  Json last_welcome_;
};

struct TabSlot {
  std::unique_ptr<CheckedTab> tab;
  canvas::CanvasBridge::TabId id = 0;
};

void Deliver(MemoryHandle* handle, canvas::CanvasBridge* bridge) {
  while (!handle->changes()->empty()) {
    const DocumentChange c = std::move(handle->changes()->front());
    handle->changes()->pop_front();
    bridge->OnChange(c);
  }
}

void FuzzBridge(std::string_view input) {
  MemoryHandle handle;
  canvas::BridgeLimits limits;
  limits.max_frame_bytes = 2048;
  limits.max_frames_per_second = 20;
  limits.max_errors = 8;
  canvas::CanvasBridge bridge(&handle, "gw1", limits);
  auto now = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  uint64_t last_seq = 0;
  std::vector<TabSlot> tabs;
  size_t events = 0;
  while (!input.empty() && events++ < kMaxEvents) {
    const size_t end = std::min(input.find('\n'), input.size());
    std::string_view line = input.substr(0, end);
    input.remove_prefix(std::min(end + 1, input.size()));
    if (line.empty()) continue;
    const char op = line[0];
    std::string_view arg = line.substr(1);
    if (op == 'c') {
      TabSlot slot;
      slot.tab = std::make_unique<CheckedTab>();
      slot.id = bridge.Connect(slot.tab.get(), arg);
      Expect((slot.id == 0) == slot.tab->closed(), "a tab both refused and connected");
      tabs.push_back(std::move(slot));
    } else if ((op == 'r' || op == 'd') && !arg.empty() && !tabs.empty()) {
      TabSlot& slot = tabs[static_cast<uint8_t>(arg[0]) % tabs.size()];
      if (op == 'r') {
        slot.tab->Sending(arg.substr(1));
        bridge.Receive(slot.id, arg.substr(1), now);
      } else {
        bridge.Disconnect(slot.id);
      }
    } else if (op == 'e' || op == 's') {
      DocumentChange c;
      if (op == 's') handle.Reset(arg, &c);
      if (op == 's' || handle.Remote(arg, &c)) {
        last_seq = c.seq;
        bridge.OnChange(c);
      }
    } else if (op == 'p' && !arg.empty()) {
      EndpointId origin;
      (void)EndpointId::FromBytes(std::string(16, arg[0]), &origin);
      bridge.OnPresence(origin, std::string(arg.substr(1)), now);
    } else if (op == 't') {
      uint64_t ms = arg.empty() ? 50 : 0;
      for (char d : arg.substr(0, 5)) ms = ms * 10 + static_cast<uint8_t>(d) % 10;
      now += std::chrono::milliseconds(ms);
      bridge.Tick(now);
    } else if (op == 'k') {
      std::string text(arg);
      for (char& ch : text) ch = ch == ';' ? '\n' : ch;
      Result<canvas::GatewayTokens> tokens = canvas::GatewayTokens::Parse(text, "fuzz");
      if (tokens.ok()) {
        bridge.SetTokens(std::make_shared<const canvas::GatewayTokens>(*std::move(tokens)));
      }
    } else if (op == 'K') {
      bridge.SetTokens(nullptr);
    }
    Deliver(&handle, &bridge);
  }
  // A new tab sees the document as it is.
  bridge.SetTokens(nullptr);
  CheckedTab probe;
  const canvas::CanvasBridge::TabId id = bridge.Connect(&probe);
  bridge.Receive(id, R"({"t":"hello","name":"probe","color":"#123456"})",
                 now + std::chrono::hours(1));
  const Json& welcome = probe.last_welcome();
  Expect(welcome.is_object() && welcome.contains("seq") && welcome.contains("canvas"),
         "a hello without a welcome");
  Expect(welcome.at("seq") == last_seq, "a welcome with another seq than the document's");
  Expect(welcome.at("canvas") == Json::parse(handle.doc().ToJson()),
         "a welcome with another canvas than the document (the mirror diverged)");
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zinc::fuzz::FuzzBridge(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

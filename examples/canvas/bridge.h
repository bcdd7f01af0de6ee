#pragma once

// The JSON bridge between browser tabs and one zinc canvas document (docs/canvas.md): what the
// zinc-canvas gateway does with each WebSocket frame, each change of the document and each
// presence, without any networking, so that it can be tested on its own. Everything but the
// constructor runs on one thread (the gateway's I/O thread); zinc's callbacks are posted there.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/keys.h"
#include "core/status.h"
#include "documents/canvas_document.h"
#include "endpoints/endpoint.h"

namespace zinc {
namespace canvas {

// One browser tab as the bridge sees it. Implemented by the gateway's WebSocket session (and by
// tests).
class Tab {
 public:
  virtual ~Tab() = default;
  // Queues one text frame for the tab. Never blocks.
  virtual void Send(std::string frame) = 0;
  // Closes the connection with a WebSocket close code (1008 policy, 1009 too big) and reason.
  virtual void Close(int code, std::string reason) = 0;
};

// The gateway's tokens file (zinc-canvas --tokens FILE, docs/canvas.md): one line per token,
// `TOKEN NAME RIGHT...`, the rights those of the authorized-keys file (read:GLOB, write:GLOB;
// writing implies reading) over document names; blank lines and `#` comments allowed. A token
// is 16 to 256 characters of A-Z a-z 0-9 . _ ~ - (it travels unescaped in a URL and a
// WebSocket subprotocol). Value type; thread-compatible.
class GatewayTokens {
 public:
  // kInvalidArgument naming "where:LINE" for the first bad line.
  static Result<GatewayTokens> Parse(std::string_view text, const std::string& where);
  static Result<GatewayTokens> Load(const std::string& path);
  // The rights of token, or nullptr if it is not listed. Looked up by the token's SHA-256, so
  // the time taken says nothing about how much of a guess was right.
  const KeyRights* Find(std::string_view token) const;
  size_t size() const { return by_digest_.size(); }

 private:
  std::unordered_map<std::string, KeyRights> by_digest_;
};

// WebSocket close codes of a refused tab (docs/canvas.md): retrying with the same token cannot
// help, and the page stops.
constexpr int kCloseNoToken = 4401;    // no token, or not one the gateway knows
constexpr int kCloseForbidden = 4403;  // the token may not read this document

// Limits per tab connection.
struct BridgeLimits {
  // Largest frame accepted (the gateway also tells the WebSocket to refuse larger ones).
  size_t max_frame_bytes = 256 << 10;
  // Frames per second before the excess is refused (cursor frames are dropped silently).
  int max_frames_per_second = 500;
  // Errors before the connection is closed (1008).
  int max_errors = 100;
};

// Counters of what the bridge refused, for tests and the gateway's stats.
struct BridgeStats {
  uint64_t frames = 0;
  uint64_t edits = 0;
  uint64_t edits_refused = 0;
  uint64_t bad_frames = 0;
  uint64_t throttled = 0;
  uint64_t closed_for_errors = 0;
  uint64_t tabs_refused = 0;     // no token, unknown, or no read right
  uint64_t edits_forbidden = 0;  // edits of a read-only tab (counted in edits_refused too)
};

class CanvasBridge {
 public:
  using TabId = uint64_t;
  using TimePoint = std::chrono::steady_clock::time_point;

  // doc: the canvas document (opened with type "canvas"); tag: this gateway's part of the
  // participant ids (e.g. 8 hex digits of its endpoint id). doc must outlive the bridge.
  CanvasBridge(DocumentHandle* doc, std::string tag, BridgeLimits limits = BridgeLimits());

  // Tokens in force (SetTokens with a table): a tab must present one that may read the
  // document, and writes only if it may write it. Without (the default), every tab reads and
  // writes. Tabs already connected are checked again at once: those that lost read are closed
  // (kCloseForbidden or kCloseNoToken), the others get their new rights for their next edit.
  void SetTokens(std::shared_ptr<const GatewayTokens> tokens);

  // A new connection presenting token ("" for none); the bridge talks to it through tab until
  // Disconnect. tab must stay valid until then. A tab refused by the tokens is closed at once
  // (kCloseNoToken, kCloseForbidden) and 0 returned: the bridge does not know it.
  TabId Connect(Tab* tab, std::string_view token = {});
  // A text frame from the tab. now: for rate limits.
  void Receive(TabId id, std::string_view frame, TimePoint now);
  void Disconnect(TabId id);

  // From zinc, in order (DocumentHandle::OnChange, posted to the bridge's thread).
  void OnChange(const DocumentChange& change);
  // From zinc (DocumentHandle::OnPresence, posted to the bridge's thread).
  void OnPresence(const EndpointId& origin, const std::string& state, TimePoint now);
  // Every ~50 ms: sends presence lists that changed, this gateway's presence when it changed
  // (or every second), and forgets remote gateways silent for 3 seconds.
  void Tick(TimePoint now);

  const BridgeStats& stats() const { return stats_; }
  size_t tabs() const { return tabs_.size(); }

 private:
  struct Cursor {
    bool present = false;
    double x = 0, y = 0;
  };
  struct TabState {
    Tab* tab = nullptr;
    bool welcomed = false;
    std::string token;  // as presented
    bool may_write = true;
    std::string participant;  // "<tag>-<n>"
    std::string name, color;
    Cursor cursor;
    int errors = 0;
    TimePoint window_start{};
    int frames_in_window = 0;
  };
  struct RemoteGateway {
    std::string peers_json;  // the JSON array of its participants
    TimePoint last_seen{};
  };
  // An edit applied to the document whose change has not yet come back through OnChange.
  struct AwaitedEdit {
    TabId tab;
    uint64_t n;
  };

  void Error(TabId id, TabState* t, const std::string& text, const uint64_t* n);
  // What token gives: 0 and no *why for writing, kCloseNoToken or kCloseForbidden with *why
  // for nothing; *may_write says whether it writes.
  int Check(std::string_view token, bool* may_write, std::string* why) const;
  void HandleHello(TabId id, TabState* t, const void* json);
  void HandleEdit(TabId id, TabState* t, const void* json);
  void HandleCursor(TabState* t, const void* json);
  void Broadcast(const std::string& frame);
  std::string Welcome(const TabState& t) const;
  // The presence list a tab sees: every participant but itself.
  std::string PresenceFor(TabId id) const;
  // This gateway's presence state: {"peers":[...its tabs...]}.
  std::string OwnPresence() const;

  DocumentHandle* const doc_;
  const std::string tag_;
  const BridgeLimits limits_;
  std::shared_ptr<const GatewayTokens> tokens_;

  CanvasDocument mirror_;  // the document as the tabs have been told
  uint64_t seq_ = 0;
  std::map<TabId, TabState> tabs_;
  TabId next_tab_ = 1;
  uint64_t next_participant_ = 1;
  std::deque<AwaitedEdit> awaited_;
  std::map<std::string, RemoteGateway> remote_;  // by origin bytes
  bool presence_dirty_ = false;                  // a presence list changed
  bool own_presence_dirty_ = false;              // this gateway's tabs changed
  TimePoint last_own_presence_{};
  TimePoint last_presence_lists_{};
  BridgeStats stats_;
};

}  // namespace canvas
}  // namespace zinc

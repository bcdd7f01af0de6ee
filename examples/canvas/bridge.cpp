#include "examples/canvas/bridge.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/sha256.h"
#include "documents/json_internal.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace canvas {

namespace {

using Json = nlohmann::json;

constexpr int kMaxJsonDepth = 16;
// This gateway's presence goes out when its tabs' cursors change, at most this often, and at
// least every kPresenceRefresh so that others do not forget it; a gateway not heard from for
// kPresenceExpiry is gone.
constexpr auto kOwnPresenceMin = std::chrono::milliseconds(50);
constexpr auto kPresenceRefresh = std::chrono::seconds(1);
constexpr auto kPresenceExpiry = std::chrono::seconds(3);
// Presence lists go to the tabs at most this often.
constexpr auto kPresenceListMin = std::chrono::milliseconds(50);

const Json* AsJson(const void* p) { return static_cast<const Json*>(p); }

bool ValidColor(const std::string& c) {
  if (c.size() != 7 || c[0] != '#') return false;
  for (size_t i = 1; i < 7; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(c[i]))) return false;
  }
  return true;
}

// Code points in a UTF-8 string (the page limits names to 32 of them).
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// One participant as presence lists show it: {"id","name","color","x","y"}, x and y null while
// the pointer is away.
Json PeerJson(const std::string& id, const std::string& name, const std::string& color,
              bool present, double x, double y) {
  Json p = {{"id", id}, {"name", name}, {"color", color}};
  p["x"] = present ? Json(x) : Json(nullptr);
  p["y"] = present ? Json(y) : Json(nullptr);
  return p;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool ValidToken(std::string_view token) {
  if (token.size() < 16 || token.size() > 256) return false;
  for (unsigned char c : token) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '~' && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<GatewayTokens> GatewayTokens::Parse(std::string_view text, const std::string& where) {
  RightsFileFormat format;
  format.valid = ValidToken;
  format.credential = "a token (16 to 256 characters of A-Z a-z 0-9 . _ ~ -)";
  format.what = "token";
  Result<std::unordered_map<std::string, KeyRights>> tokens = ParseRightsFile(text, where, format);
  if (!tokens.ok()) return tokens.status();
  GatewayTokens out;
  for (auto& [token, rights] : *tokens) out.by_digest_.emplace(Sha256::Hex(token), rights);
  return out;
}

Result<GatewayTokens> GatewayTokens::Load(const std::string& path) {
  Result<std::string> text = ReadSmallFile(path, "tokens");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

const KeyRights* GatewayTokens::Find(std::string_view token) const {
  auto it = by_digest_.find(Sha256::Hex(token));
  return it == by_digest_.end() ? nullptr : &it->second;
}

CanvasBridge::CanvasBridge(DocumentHandle* doc, std::string tag, BridgeLimits limits)
    : doc_(doc), tag_(std::move(tag)), limits_(limits) {}

int CanvasBridge::Check(std::string_view token, bool* may_write, std::string* why) const {
  *may_write = true;
  if (!tokens_) return 0;
  *may_write = false;
  if (token.empty()) {
    *why = "this gateway needs a token: open the page as /#token=TOKEN";
    return kCloseNoToken;
  }
  const KeyRights* rights = tokens_->Find(token);
  if (!rights) {
    *why = "unknown token";
    return kCloseNoToken;
  }
  if (!rights->CanRead(doc_->name())) {
    *why = "token '" + rights->name + "' may not read '" + doc_->name() + "'";
    return kCloseForbidden;
  }
  *may_write = rights->CanWrite(doc_->name());
  return 0;
}

void CanvasBridge::SetTokens(std::shared_ptr<const GatewayTokens> tokens) {
  tokens_ = std::move(tokens);
  std::vector<TabId> refused;
  for (auto& [id, t] : tabs_) {
    std::string why;
    const int code = Check(t.token, &t.may_write, &why);
    if (code != 0) {
      ++stats_.tabs_refused;
      t.tab->Close(code, why);
      refused.push_back(id);
    }
  }
  for (TabId id : refused) Disconnect(id);
}

CanvasBridge::TabId CanvasBridge::Connect(Tab* tab, std::string_view token) {
  bool may_write = true;
  std::string why;
  const int code = Check(token, &may_write, &why);
  if (code != 0) {
    ++stats_.tabs_refused;
    tab->Close(code, why);
    return 0;
  }
  const TabId id = next_tab_++;
  TabState& t = tabs_[id];
  t.tab = tab;
  t.token = std::string(token);
  t.may_write = may_write;
  return id;
}

void CanvasBridge::Disconnect(TabId id) {
  auto it = tabs_.find(id);
  if (it == tabs_.end()) return;
  if (it->second.welcomed) {
    presence_dirty_ = true;
    own_presence_dirty_ = true;
  }
  // Its edits still in flight keep their place in awaited_; their changes go to everyone else.
  tabs_.erase(it);
}

void CanvasBridge::Error(TabId id, TabState* t, const std::string& text, const uint64_t* n) {
  Json j = {{"t", "error"}, {"text", text}};
  if (n) j["n"] = *n;
  t->tab->Send(Dump(j));
  if (++t->errors >= limits_.max_errors) {
    ++stats_.closed_for_errors;
    t->tab->Close(1008, "too many errors");
    Disconnect(id);
  }
}

void CanvasBridge::Receive(TabId id, std::string_view frame, TimePoint now) {
  auto it = tabs_.find(id);
  if (it == tabs_.end()) return;
  TabState* t = &it->second;
  ++stats_.frames;
  if (frame.size() > limits_.max_frame_bytes) {
    ++stats_.bad_frames;
    t->tab->Close(1009, "frame too large");
    Disconnect(id);
    return;
  }
  // A fixed one-second window per tab.
  if (now - t->window_start >= std::chrono::seconds(1)) {
    t->window_start = now;
    t->frames_in_window = 0;
  }
  const bool over_rate = ++t->frames_in_window > limits_.max_frames_per_second;
  if (internal::JsonNestsDeeperThan(frame, kMaxJsonDepth)) {
    ++stats_.bad_frames;
    Error(id, t, "JSON nested too deep", nullptr);
    return;
  }
  Json j = Json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("t") || !j["t"].is_string()) {
    ++stats_.bad_frames;
    Error(id, t, "not a JSON object with a string \"t\"", nullptr);
    return;
  }
  const std::string type = j["t"].get<std::string>();
  if (over_rate) {
    ++stats_.throttled;
    if (type == "cursor") return;  // Dropped silently: the next one will do.
    uint64_t n = 0;
    const bool has_n = j.contains("n") && j["n"].is_number_unsigned();
    if (has_n) n = j["n"].get<uint64_t>();
    Error(id, t,
          "too many frames: at most " + std::to_string(limits_.max_frames_per_second) + " a second",
          has_n ? &n : nullptr);
    return;
  }
  if (type == "hello") {
    HandleHello(id, t, &j);
  } else if (!t->welcomed) {
    ++stats_.bad_frames;
    Error(id, t, "the first frame must be a hello", nullptr);
  } else if (type == "edit") {
    HandleEdit(id, t, &j);
  } else if (type == "cursor") {
    HandleCursor(t, &j);
  } else {
    ++stats_.bad_frames;
    Error(id, t, "unknown frame type '" + type + "'", nullptr);
  }
}

void CanvasBridge::HandleHello(TabId id, TabState* t, const void* json) {
  const Json& j = *AsJson(json);
  if (t->welcomed) {
    ++stats_.bad_frames;
    Error(id, t, "hello twice", nullptr);
    return;
  }
  std::string name =
      j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : "";
  std::string color =
      j.contains("color") && j["color"].is_string() ? j["color"].get<std::string>() : "";
  if (name.empty() || CodePoints(name) > 32 || !ValidColor(color)) {
    ++stats_.bad_frames;
    Error(id, t, "hello needs a name of 1 to 32 characters and a color #rrggbb", nullptr);
    return;
  }
  t->name = std::move(name);
  t->color = std::move(color);
  t->participant = tag_ + "-" + std::to_string(next_participant_++);
  t->welcomed = true;
  t->tab->Send(Welcome(*t));
  presence_dirty_ = true;
  own_presence_dirty_ = true;
}

std::string CanvasBridge::Welcome(const TabState& t) const {
  return R"({"t":"welcome","id":)" + Dump(Json(t.participant)) + R"(,"seq":)" +
         std::to_string(seq_) + (t.may_write ? "" : R"(,"readonly":true)") + R"(,"canvas":)" +
         mirror_.ToJson() + "}";
}

void CanvasBridge::HandleEdit(TabId id, TabState* t, const void* json) {
  const Json& j = *AsJson(json);
  if (!j.contains("n") || !j["n"].is_number_unsigned() || j["n"].get<uint64_t>() == 0) {
    ++stats_.bad_frames;
    Error(id, t, "an edit needs a positive integer \"n\"", nullptr);
    return;
  }
  const uint64_t n = j["n"].get<uint64_t>();
  if (!t->may_write) {
    ++stats_.edits;
    ++stats_.edits_refused;
    ++stats_.edits_forbidden;
    // Not counted as an error of the tab: a read-only tab may draw as much as it likes.
    const KeyRights* rights = tokens_ ? tokens_->Find(t->token) : nullptr;
    t->tab->Send(
        Dump(Json{{"t", "error"},
                  {"n", n},
                  {"text", "forbidden: token '" + (rights ? rights->name : std::string("?")) +
                               "' may not write '" + doc_->name() + "'"}}));
    return;
  }
  if (!j.contains("edit")) {
    ++stats_.bad_frames;
    Error(id, t, "an edit needs an \"edit\"", &n);
    return;
  }
  ++stats_.edits;
  // The type checks the edit strictly (ids, kinds, numbers, limits); a refusal changes nothing.
  Status s = doc_->EditJson(Dump(j["edit"]));
  if (!s.ok()) {
    ++stats_.edits_refused;
    Error(id, t, s.message(), &n);
    return;
  }
  // Its change comes back through OnChange, in order with every other change.
  awaited_.push_back(AwaitedEdit{id, n});
}

void CanvasBridge::HandleCursor(TabState* t, const void* json) {
  const Json& j = *AsJson(json);
  Cursor c;
  if (j.contains("x") && j.contains("y") && j["x"].is_number() && j["y"].is_number()) {
    c.x = j["x"].get<double>();
    c.y = j["y"].get<double>();
    c.present =
        std::isfinite(c.x) && std::isfinite(c.y) && std::fabs(c.x) <= 1e7 && std::fabs(c.y) <= 1e7;
  }
  if (c.present == t->cursor.present && c.x == t->cursor.x && c.y == t->cursor.y) return;
  t->cursor = c;
  presence_dirty_ = true;
  own_presence_dirty_ = true;
}

void CanvasBridge::Broadcast(const std::string& frame) {
  for (auto& [id, t] : tabs_) {
    if (t.welcomed) t.tab->Send(frame);
  }
}

void CanvasBridge::OnChange(const DocumentChange& change) {
  if (change.reset) {
    // The replica was replaced by a snapshot (first sync or resync); pending local edits are
    // already in it.
    if (!mirror_.Restore(change.payload).ok()) return;
    seq_ = change.seq;
    Broadcast(R"({"t":"reset","seq":)" + std::to_string(seq_) + R"(,"canvas":)" + mirror_.ToJson() +
              "}");
    return;
  }
  if (!mirror_.Apply(change.payload).ok()) return;  // Cannot happen: the replica applied it.
  if (change.seq != 0) seq_ = change.seq;
  const std::string edit = doc_->type()->FragmentToJson(change.payload);
  const std::string common =
      R"({"t":"change","seq":)" + std::to_string(change.seq) + R"(,"edit":)" + edit;
  if (!change.local || awaited_.empty()) {
    Broadcast(common + "}");
    return;
  }
  // A local change is the oldest awaited edit of one of the tabs: that tab gets its n.
  const AwaitedEdit awaited = awaited_.front();
  awaited_.pop_front();
  const std::string plain = common + "}";
  const std::string acked = common + R"(,"n":)" + std::to_string(awaited.n) + "}";
  for (auto& [id, t] : tabs_) {
    if (t.welcomed) t.tab->Send(id == awaited.tab ? acked : plain);
  }
}

void CanvasBridge::OnPresence(const EndpointId& origin, const std::string& state, TimePoint now) {
  const std::string key(origin.bytes());
  if (state.empty()) {
    presence_dirty_ |= remote_.erase(key) > 0;
    return;
  }
  if (internal::JsonNestsDeeperThan(state, kMaxJsonDepth)) return;
  Json j = Json::parse(state, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("peers") || !j["peers"].is_array()) {
    return;
  }
  // Keep only well-formed peers, with the fields the page reads.
  Json peers = Json::array();
  for (const Json& p : j["peers"]) {
    if (!p.is_object() || !p.contains("id") || !p["id"].is_string() || !p.contains("name") ||
        !p["name"].is_string() || !p.contains("color") || !p["color"].is_string()) {
      continue;
    }
    Json q = {{"id", p["id"]},
              {"name", p["name"]},
              {"color", p["color"]},
              {"x", nullptr},
              {"y", nullptr}};
    if (p.contains("x") && p.contains("y") && p["x"].is_number() && p["y"].is_number()) {
      q["x"] = p["x"];
      q["y"] = p["y"];
    }
    peers.push_back(std::move(q));
    if (peers.size() >= 1000) break;
  }
  RemoteGateway& g = remote_[key];
  std::string dumped = Dump(peers);
  if (dumped != g.peers_json) {
    g.peers_json = std::move(dumped);
    presence_dirty_ = true;
  }
  g.last_seen = now;
}

std::string CanvasBridge::OwnPresence() const {
  Json peers = Json::array();
  for (const auto& [id, t] : tabs_) {
    if (!t.welcomed) continue;
    peers.push_back(
        PeerJson(t.participant, t.name, t.color, t.cursor.present, t.cursor.x, t.cursor.y));
  }
  return Dump(Json{{"peers", std::move(peers)}});
}

std::string CanvasBridge::PresenceFor(TabId self) const {
  Json peers = Json::array();
  for (const auto& [id, t] : tabs_) {
    if (!t.welcomed || id == self) continue;
    peers.push_back(
        PeerJson(t.participant, t.name, t.color, t.cursor.present, t.cursor.x, t.cursor.y));
  }
  for (const auto& [origin, g] : remote_) {
    Json list = Json::parse(g.peers_json, nullptr, false);
    if (!list.is_array()) continue;
    for (Json& p : list) peers.push_back(std::move(p));
  }
  return Dump(Json{{"t", "presence"}, {"peers", std::move(peers)}});
}

void CanvasBridge::Tick(TimePoint now) {
  for (auto it = remote_.begin(); it != remote_.end();) {
    if (now - it->second.last_seen > kPresenceExpiry) {
      it = remote_.erase(it);
      presence_dirty_ = true;
    } else {
      ++it;
    }
  }
  if ((own_presence_dirty_ && now - last_own_presence_ >= kOwnPresenceMin) ||
      now - last_own_presence_ >= kPresenceRefresh) {
    // With no tab left, an empty state tells the others at once that this gateway's are gone.
    const bool any = std::any_of(tabs_.begin(), tabs_.end(),
                                 [](const auto& entry) { return entry.second.welcomed; });
    if (any || own_presence_dirty_) (void)doc_->SetPresence(any ? OwnPresence() : "");
    own_presence_dirty_ = false;
    last_own_presence_ = now;
  }
  if (presence_dirty_ && now - last_presence_lists_ >= kPresenceListMin) {
    for (auto& [id, t] : tabs_) {
      if (t.welcomed) t.tab->Send(PresenceFor(id));
    }
    presence_dirty_ = false;
    last_presence_lists_ = now;
  }
}

}  // namespace canvas
}  // namespace zinc

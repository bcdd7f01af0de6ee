// make_corpus OUT_DIR: writes the seed corpus of every fuzz target (docs/fuzzing.md) into
// OUT_DIR/<target>/, each seed made by zinc's own encoders, so that the fuzzers start from
// valid envelopes, batches, fragments, snapshots and JSON edits. tests/fuzz/corpus is its
// output, checked in; run it again (./dev fuzz does not) after a change of an encoding:
//
//   build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "examples/log/log_document.h"
#include "tests/fuzz/fuzz_util.h"

namespace zinc {
namespace fuzz {
namespace {

std::string out_dir;

void MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "make_corpus: cannot create %s: %s\n", path.c_str(), std::strerror(errno));
    std::exit(1);
  }
}

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  MakeDir(out_dir + "/" + target);
  const std::string path = out_dir + "/" + target + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// A multi-part seed; no part may hold the separator, or the fuzzer would cut it elsewhere.
void WriteParts(const std::string& target, const std::string& name,
                const std::vector<std::string>& parts) {
  for (const std::string& p : parts) {
    if (p.find(kPartSeparator) != std::string::npos) {
      std::fprintf(stderr, "make_corpus: a part of %s/%s holds the separator\n", target.c_str(),
                   name.c_str());
      std::exit(1);
    }
  }
  Write(target, name, JoinParts(parts));
}

MapOp Set(const std::string& key, const std::string& value) {
  MapOp op;
  op.key = key;
  op.value = value;
  return op;
}

MapOp Del(const std::string& key) {
  MapOp op;
  op.kind = MapOp::Kind::kDelete;
  op.key = key;
  return op;
}

// ---- Envelopes ------------------------------------------------------------------------------

const std::string kOrigin = std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8) + "ABCDEFGH";
const std::string kOther = "0123456789abcdef";

wire::Envelope Header(const std::string& doc = "") {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(kOrigin);
  if (!doc.empty()) e.set_doc(doc);
  return e;
}

std::string MapFragment(uint64_t origin_seq, const std::string& key, const std::string& value) {
  MapOp op;
  op.key = key;
  op.value = value;
  FragmentFields f;
  f.origin = kOrigin;
  f.origin_seq = origin_seq;
  f.doc = "notes";
  f.type = "map";
  const std::string payload = EncodeMapOps({op});
  f.payload = payload;
  return EncodeFragment(f);
}

wire::Envelope Sequenced(uint64_t seq, const std::string& doc) {
  wire::Envelope e = Header(doc);
  e.set_origin_seq(seq);
  e.set_seq(seq);
  e.mutable_fragment()->set_type("text");
  e.mutable_fragment()->set_payload(EncodeTextOp(TextInsert(0, "x")));
  return e;
}

wire::SnapshotReply Snapshot() {
  wire::SnapshotReply r;
  r.set_found(true);
  r.set_type("map");
  MapDocument doc;
  (void)doc.Apply(EncodeMapOps({Set("title", "\"hello\""), Del("gone")}));
  r.set_state(doc.Snapshot());
  wire::OriginSeq* a = r.add_applied();
  a->set_origin(kOther);
  a->set_origin_seq(7);
  r.set_durable_seq(3);
  return r;
}

void Frames() {
  const std::string t = "frame";
  Write(t, "fragment", MapFragment(1, "title", "\"hello\""));
  {
    FragmentFields f;
    f.origin = kOrigin;
    f.origin_seq = 9;
    f.doc = "notes";
    f.seq = 12;
    f.base_seq = 11;
    f.epoch = 2;
    f.type = "text";
    const std::string payload = EncodeTextOp(TextSplice(3, 2, "hé"));
    f.payload = payload;
    Write(t, "fragment_sequenced", EncodeFragment(f));
  }
  {
    std::vector<std::string> elements = {MapFragment(1, "a", "1"), MapFragment(2, "b", "[1,2]"),
                                         MapFragment(3, "c", "{\"x\":null}")};
    Write(t, "batch", EncodeBatch(kOrigin, "notes", &elements));
    std::vector<std::string> one = {MapFragment(4, "d", "true")};
    Write(t, "batch_one", EncodeBatch(kOrigin, "notes", &one));
  }
  {
    wire::Envelope e = Header();
    e.mutable_heartbeat()->set_head_seq(41);
    e.set_epoch(3);
    Write(t, "heartbeat", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    e.mutable_snapshot_request()->set_type("map");
    e.mutable_snapshot_request()->set_create(true);
    e.mutable_snapshot_request()->set_min_epoch(1);
    Write(t, "snapshot_request", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    *e.mutable_snapshot_reply() = Snapshot();
    Write(t, "snapshot_reply", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    e.mutable_catchup_request()->set_from_seq(5);
    e.mutable_catchup_request()->set_to_seq(9);
    Write(t, "catchup_request", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    *e.mutable_catchup_reply()->add_fragments() = Sequenced(1, "notes");
    *e.mutable_catchup_reply()->add_fragments() = Sequenced(2, "notes");
    *e.mutable_catchup_reply()->mutable_snapshot() = Snapshot();
    Write(t, "catchup_reply", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    wire::Nack* n = e.mutable_nack();
    n->set_reason(wire::NACK_OUT_OF_ORDER);
    n->set_text("resend from 4");
    n->set_refused_origin_seq(6);
    n->set_expected_origin_seq(4);
    n->set_target(kOther);
    Write(t, "nack", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("canvas");
    e.mutable_presence()->set_state(R"({"peers":[{"id":"gw1-1","name":"Ada","color":"#e91e63"}]})");
    Write(t, "presence", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    wire::JoinRequest* j = e.mutable_join_request();
    j->set_listen("tcp://127.0.0.1:5565");
    j->set_max_children(8);
    j->set_hops(1);
    j->set_name("relay1");
    j->set_priority(2);
    Write(t, "join_request", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    wire::JoinReply* j = e.mutable_join_reply();
    j->set_accepted(true);
    j->set_depth(2);
    j->add_path(kOther);
    j->add_path(kOrigin);
    j->set_listen("tcp://127.0.0.1:5555");
    Write(t, "join_reply", EncodeEnvelope(e));
    wire::Envelope r = Header();
    r.mutable_join_reply()->set_redirect("tcp://127.0.0.1:5575");
    r.mutable_join_reply()->set_text("full");
    Write(t, "join_redirect", EncodeEnvelope(r));
  }
  {
    wire::Envelope e = Header();
    wire::MemberReport* m = e.mutable_member_report();
    m->set_parent(kOther);
    m->set_listen("tcp://127.0.0.1:5565");
    m->set_depth(1);
    m->set_max_children(8);
    m->set_children(2);
    m->set_name("relay1");
    Write(t, "member_report", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    e.mutable_roster_request();
    Write(t, "roster_request", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    wire::Roster* r = e.mutable_roster();
    r->set_root(kOther);
    r->set_standby(kOrigin);
    r->set_epoch(4);
    r->set_role("root");
    for (const std::string& id : {kOther, kOrigin}) {
      wire::Member* m = r->add_members();
      m->set_id(id);
      m->set_listen("tcp://127.0.0.1:5555");
      m->set_depth(id == kOther ? 0 : 1);
      if (id == kOrigin) m->set_parent(kOther);
      m->set_name(id == kOther ? "root" : "standby");
    }
    Write(t, "roster", EncodeEnvelope(e));
    // A reply to a RosterRequest also says what the member refused, by reason.
    r->set_role("relay");
    for (const auto& [reason, n] : {std::pair<const char*, uint64_t>{"NACK_RATE_LIMITED", 17},
                                    std::pair<const char*, uint64_t>{"vote", 2}}) {
      wire::Refusal* refusal = r->add_refused();
      refusal->set_reason(reason);
      refusal->set_count(n);
    }
    Write(t, "roster_refused", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    e.set_epoch(4);
    e.mutable_root_lost();
    Write(t, "root_lost", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    e.set_epoch(5);
    e.mutable_takeover()->set_listen("tcp://127.0.0.1:5556");
    e.mutable_takeover()->add_voters(kOther);
    Write(t, "takeover", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    *e.mutable_tail_offer()->add_fragments() = Sequenced(3, "notes");
    Write(t, "tail_offer", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    e.mutable_list_request()->set_after("a");
    e.mutable_list_request()->set_limit(100);
    Write(t, "list_request", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    wire::DocumentInfo* d = e.mutable_document_list()->add_documents();
    d->set_name("notes");
    d->set_type("map");
    d->set_seq(12);
    d->set_bytes(300);
    d->set_open(1);
    d->set_in_memory(true);
    e.mutable_document_list()->set_more(true);
    Write(t, "document_list", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header("notes");
    e.mutable_delete_request();
    Write(t, "delete_request", EncodeEnvelope(e));
    wire::Envelope d = Header("notes");
    d.mutable_deleted()->set_seq(13);
    Write(t, "deleted", EncodeEnvelope(d));
  }
  {
    wire::Envelope e = Header("notes");
    wire::Chunk* c = e.mutable_chunk();
    c->set_transfer(1);
    c->set_offset(0);
    c->set_total(10);
    c->set_data("0123");
    Write(t, "chunk", EncodeEnvelope(e));
    wire::Envelope r = Header("notes");
    r.mutable_chunk_request()->set_transfer(1);
    r.mutable_chunk_request()->set_offset(4);
    Write(t, "chunk_request", EncodeEnvelope(r));
  }
  {
    wire::Envelope e = Header("notes");
    e.set_seq(12);
    e.mutable_durable();
    Write(t, "durable", EncodeEnvelope(e));
  }
  {
    wire::Envelope e = Header();
    e.set_version(kProtocolVersion + 1);
    e.mutable_heartbeat();
    Write(t, "version_mismatch", EncodeEnvelope(e));
  }
}

// A reply in chunks of `piece` bytes, as ChunkSender cuts one (a smaller piece, so that a few KB
// make several).
std::vector<std::string> Chunked(const std::string& doc, uint64_t transfer,
                                 const std::string& reply, size_t piece) {
  std::vector<std::string> out;
  for (size_t offset = 0; offset < reply.size(); offset += piece) {
    wire::Envelope e = Header(doc);
    wire::Chunk* c = e.mutable_chunk();
    c->set_transfer(transfer);
    c->set_offset(offset);
    c->set_total(reply.size());
    c->set_data(reply.substr(offset, piece));
    out.push_back(EncodeEnvelope(e));
  }
  return out;
}

void Chunks() {
  const std::string t = "chunks";
  wire::Envelope reply = Header("big");
  *reply.mutable_snapshot_reply() = Snapshot();
  reply.mutable_snapshot_reply()->set_type("text");
  reply.mutable_snapshot_reply()->set_state(std::string(2500, 'x'));
  const std::string bytes = EncodeEnvelope(reply);
  std::vector<std::string> three = Chunked("big", 1, bytes, 1000);
  WriteParts(t, "three_chunks", three);
  WriteParts(t, "out_of_order", {three[0], three[2], three[1]});
  std::vector<std::string> other = Chunked("big", 2, bytes, 1300);
  WriteParts(t, "two_transfers", {three[0], other[0], three[1], other[1], three[2]});
  wire::Envelope catchup = Header("big");
  for (uint64_t seq = 1; seq <= 4; ++seq)
    *catchup.mutable_catchup_reply()->add_fragments() = Sequenced(seq, "big");
  WriteParts(t, "catchup", Chunked("big", 3, EncodeEnvelope(catchup), 60));
  std::vector<std::string> elements = {MapFragment(1, "a", "1")};
  WriteParts(t, "batch_inside", Chunked("notes", 4, EncodeBatch(kOrigin, "notes", &elements), 40));
}

// ---- Document types -------------------------------------------------------------------------

void Maps() {
  const std::string t = "map";
  MapDocument doc;
  (void)doc.Apply(EncodeMapOps({Set("title", "\"hello\""), Set("n", "1"), Set("list", "[1,2]")}));
  WriteParts(t, "empty_two_sets",
             {"", EncodeMapOps({Set("a", "1")}), EncodeMapOps({Set("b", "2")})});
  WriteParts(t, "same_key",
             {doc.Snapshot(), EncodeMapOps({Set("title", "\"a\"")}),
              EncodeMapOps({Set("title", "\"b\""), Del("n")})});
  WriteParts(t, "history",
             {doc.Snapshot(), EncodeMapOps({Del("list")}), EncodeMapOps({Set("x", "{\"y\":[]}")}),
              EncodeMapOps({Set("n", "2"), Set("m", "3")}), EncodeMapOps({Del("n")}),
              EncodeMapOps({Set("n", "not json"), Set("title", "null")})});
  WriteParts(t, "snapshot_only", {doc.Snapshot()});
}

void Texts() {
  const std::string t = "text";
  WriteParts(t, "insert_delete",
             {"hello world", EncodeTextOp(TextInsert(5, ",")), EncodeTextOp(TextDelete(0, 6))});
  WriteParts(t, "same_position",
             {"", EncodeTextOp(TextInsert(0, "abc")), EncodeTextOp(TextInsert(1, "x")),
              EncodeTextOp(TextInsert(1, "y"))});
  WriteParts(t, "unicode",
             {"héllo wörld 😀 ☃", EncodeTextOp(TextSplice(1, 4, "ey")),
              EncodeTextOp(TextSplice(3, 9, "ü")), EncodeTextOp(TextDelete(12, 2))});
  TextOp multi;
  multi.Retain(2).Insert("AB").Retain(3).Delete(2).Retain(1).Insert("🎉").Trim();
  TextOp overlap;
  overlap.Retain(1).Delete(6).Insert("zz").Trim();
  WriteParts(t, "multi_component", {"0123456789", EncodeTextOp(multi), EncodeTextOp(overlap)});
  std::string big;
  for (int i = 0; i < 60; ++i) big += "line " + std::to_string(i) + " of a longer text\n";
  WriteParts(t, "several_chunks",
             {big, EncodeTextOp(TextDelete(100, 900)), EncodeTextOp(TextInsert(500, "inserted")),
              EncodeTextOp(TextSplice(450, 100, "across"))});
}

std::vector<CanvasPoint> Points(int n, double start) {
  std::vector<CanvasPoint> out;
  for (int i = 0; i < n; ++i) out.push_back({start + i, start - 2 * i});
  return out;
}

std::string Ops(const std::vector<CanvasOp>& ops) { return EncodeCanvasOps(ops); }

void Canvases() {
  const std::string t = "canvas";
  CanvasDocument doc;
  (void)doc.Apply(Ops(
      {CanvasOp::Add(
           "s1", CanvasKind::kStroke,
           {CanvasString(CanvasProp::kColor, "#ff0000"), CanvasNumber(CanvasProp::kWidth, 3)},
           Points(4, 0)),
       CanvasOp::Add("r1", CanvasKind::kRect,
                     {CanvasNumber(CanvasProp::kX, 10), CanvasNumber(CanvasProp::kY, 10),
                      CanvasNumber(CanvasProp::kW, 100), CanvasNumber(CanvasProp::kH, 50),
                      CanvasString(CanvasProp::kFill, "#eeeeee")}),
       CanvasOp::Add("t1", CanvasKind::kText,
                     {CanvasString(CanvasProp::kText, "hello"), CanvasNumber(CanvasProp::kZ, 2)}),
       CanvasOp::Add("d1", CanvasKind::kEllipse)}));
  (void)doc.Apply(Ops({CanvasOp::Delete("d1")}));
  const std::string snap = doc.Snapshot();
  WriteParts(t, "two_adds",
             {"", Ops({CanvasOp::Add("a-1", CanvasKind::kStroke, {}, Points(2, 1))}),
              Ops({CanvasOp::Add("b-1", CanvasKind::kRect, {CanvasNumber(CanvasProp::kX, 1.5)})})});
  WriteParts(t, "two_appends",
             {snap, Ops({CanvasOp::Append("s1", Points(2, 10))}),
              Ops({CanvasOp::Append("s1", Points(3, 20))})});
  WriteParts(t, "delete_update",
             {snap, Ops({CanvasOp::Delete("r1")}),
              Ops({CanvasOp::Update("r1", {CanvasNumber(CanvasProp::kX, 42)})})});
  WriteParts(t, "same_props",
             {snap,
              Ops({CanvasOp::Update("s1", {CanvasNumber(CanvasProp::kX, 5),
                                           CanvasString(CanvasProp::kColor, "#00ff00")})}),
              Ops({CanvasOp::Update("s1", {CanvasNumber(CanvasProp::kWidth, 7),
                                           CanvasString(CanvasProp::kColor, "#0000ff")})})});
  WriteParts(t, "history",
             {snap, Ops({CanvasOp::Append("s1", Points(1, 5), 2)}),
              Ops({CanvasOp::Update("t1", {CanvasString(CanvasProp::kText, "héllo"),
                                           CanvasNumber(CanvasProp::kZ, -1e15)})}),
              Ops({CanvasOp::Add("s2", CanvasKind::kStroke, {}, Points(2, 0)),
                   CanvasOp::Append("s2", Points(2, 3)), CanvasOp::Delete("t1")}),
              Ops({CanvasOp::Append("s1", Points(2, 7)), CanvasOp::Append("s2", Points(1, 9))}),
              Ops({CanvasOp::Append("s2", Points(1, 8), 1), CanvasOp::Delete("s1")})});
  CanvasDocument collected;
  (void)collected.Restore(snap);
  (void)collected.Apply(Ops({CanvasOp::Delete("t1")}));
  (void)collected.Apply(Ops({CanvasOp::Collect(3, {"d1"})}));
  WriteParts(
      t, "collect",
      {collected.Snapshot(), Ops({CanvasOp::Collect(9, {"t1"})}),
       Ops({CanvasOp::Add("d1", CanvasKind::kRect)}),
       Ops({CanvasOp::Delete("d1"), CanvasOp::Delete("r1")}),
       Ops({CanvasOp::Collect(12, {"d1", "r1"})}), Ops({CanvasOp::Add("t1", CanvasKind::kRect)})});
}

std::string Log(uint64_t before_last, const std::string& entry) {
  // EncodeLogAppend writes before_last 0; a transformed append carries more.
  std::string out;
  for (uint64_t v = before_last;; v >>= 7) {
    out.push_back(static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
    if (v < 0x80) break;
  }
  return out + entry;
}

void Logs() {
  const std::string t = "log";
  examples::LogDocument doc(8);
  for (const char* e : {"one", "two", "three"}) (void)doc.Apply(examples::EncodeLogAppend(e));
  WriteParts(t, "two_appends",
             {"", examples::EncodeLogAppend("a"), examples::EncodeLogAppend("b")});
  WriteParts(t, "snapshot",
             {doc.Snapshot(), examples::EncodeLogAppend("four"), examples::EncodeLogAppend("five"),
              examples::EncodeLogAppend("six")});
  std::vector<std::string> full = {""};
  for (int i = 0; i < 10; ++i) full.push_back(examples::EncodeLogAppend("e" + std::to_string(i)));
  full.push_back(Log(3, "inserted"));
  full.push_back(examples::EncodeLogAppend("x"));
  full.push_back(examples::EncodeLogAppend("y"));
  WriteParts(t, "past_capacity", full);
}

// ---- JSON, the gateway, keys ----------------------------------------------------------------

void Json() {
  const std::string t = "json";
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"map_set", R"({"set":["title","hello"]})"},
      {"map_set_object", R"({"set":["k",{"a":[1,2.5,null,true],"b":"x"}]})"},
      {"map_del", R"({"del":"title"})"},
      {"map_array", R"([{"set":["a",1]},{"del":"b"},{"set":["c",[]]}])"},
      {"text_insert", R"({"insert":[0,"hello"]})"},
      {"text_delete", R"({"delete":[2,3]})"},
      {"text_ops",
       R"({"ops":[{"retain":2},{"insert":"é😀"},{"delete":1},{"retain":3},{"delete":2}]})"},
      {"canvas_stroke",
       R"({"add":{"id":"s1","kind":"stroke","points":[[0,0],[5,5]],"color":"#ff0000","width":3}})"},
      {"canvas_rect",
       R"({"add":{"id":"r1","kind":"rect","x":10,"y":10,"w":100,"h":50,"fill":"#eeeeee","z":2}})"},
      {"canvas_text", R"({"add":{"id":"t1","kind":"text","x":0,"y":0,"text":"hello"}})"},
      {"canvas_ellipse", R"({"add":{"id":"e1","kind":"ellipse","x":-3.25,"y":1e6}})"},
      {"canvas_update", R"({"update":{"id":"s1","x":10,"color":"#00ff00"}})"},
      {"canvas_append", R"({"append":{"id":"s1","points":[[6,6],[7,8]],"before_last":1}})"},
      {"canvas_delete", R"({"delete":"s1"})"},
      {"canvas_front", R"({"front":"s1","z":3})"},
      {"canvas_back", R"({"back":"s1","z":-1})"},
      {"canvas_array", R"([{"add":{"id":"a","kind":"rect"}},{"update":{"id":"a","w":4}}])"},
      {"log_append", R"({"append":"an entry"})"},
  };
  for (const auto& [name, json] : edits) Write(t, name, json);
}

void Bridge() {
  const std::string t = "bridge";
  // Tab numbers are bytes taken modulo the tabs connected so far: '0' is the first of up to four.
  const std::string hello = R"({"t":"hello","name":"Ada","color":"#e91e63"})";
  Write(
      t, "session",
      "c\n"
      "r0" +
          hello + "\n" +
          R"(r0{"t":"edit","n":1,"edit":{"add":{"id":"gw1-1-1","kind":"stroke","points":[[0,0],[1,1]]}}})"
          "\n"
          R"(r0{"t":"edit","n":2,"edit":{"append":{"id":"gw1-1-1","points":[[2,2]]}}})"
          "\n"
          R"(r0{"t":"cursor","x":12.5,"y":40})"
          "\n"
          "t\n"
          R"(e{"add":{"id":"other-1","kind":"rect","x":5,"y":5,"w":10,"h":10}})"
          "\n"
          R"(e{"update":{"id":"gw1-1-1","color":"#00ff00"}})"
          "\n"
          R"(pB{"peers":[{"id":"gw2-1","name":"Bo","color":"#123456","x":1,"y":2}]})"
          "\n"
          "t60\n"
          R"(s{"delete":"other-1"})"
          "\n"
          R"(r0{"t":"cursor","x":null,"y":null})"
          "\n"
          "t1000\n"
          "d0\n"
          "t\n");
  Write(
      t, "two_tabs",
      "c\nc\n"
      "r0" +
          hello + "\n" + R"(r1{"t":"hello","name":"Bo","color":"#00aa00"})" + "\n" +
          R"(r1{"t":"edit","n":1,"edit":[{"add":{"id":"b1","kind":"text","text":"hi"}},{"front":"b1","z":1}]})"
          "\n"
          R"(r0{"t":"edit","n":1,"edit":{"delete":"b1"}})"
          "\n"
          "t\n");
  Write(
      t, "tokens",
      "kwriter-token-0123456789 alice read:* write:canvas;reader-token-0123456789 bob read:canv*\n"
      "cwriter-token-0123456789\n"
      "creader-token-0123456789\n"
      "cunknown-token-0123456789\n"
      "c\n"
      "r0" +
          hello + "\n" + R"(r1{"t":"hello","name":"Bob","color":"#abcdef"})" + "\n" +
          R"(r1{"t":"edit","n":1,"edit":{"add":{"id":"x","kind":"rect"}}})"
          "\n"
          "kreader-token-0123456789 bob read:other\n"
          "K\n");
  Write(t, "errors",
        "c\n"
        R"(r0{"t":"edit","n":1,"edit":{}})"
        "\n"
        "r0not json\n"
        "r0" +
            hello + "\n" + "r0" + hello + "\n" + R"(r0{"t":"edit","n":0})" + "\n" +
            R"(r0{"t":"edit","n":3,"edit":{"update":{"id":"nope","x":1}}})"
            "\n"
            R"(r0{"t":"what"})"
            "\n"
            R"(r0[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]])"
            "\n");
}

void Keys() {
  const std::string t = "keys";
  // The public keys of RFC 26's (CurveZMQ) examples, and a third Z85 key.
  Write(t, "authorized_keys",
        "# KEY                                      NAME    RIGHTS\n"
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   root    member\n"
        "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID   alice   read:* write:notes/*\n"
        "\n"
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\tbob read:notes/[a-m]* write:b?b\r\n");
  Write(t, "tokens",
        "# TOKEN                       NAME   RIGHTS\n"
        "writer-token-0123456789        alice  read:* write:canvas\n"
        "reader.token_~-0123456789      bob    read:canv*\n");
  Write(t, "bad_right", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 root rd:*\n");
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  zinc::fuzz::out_dir = argv[1];
  zinc::fuzz::MakeDir(zinc::fuzz::out_dir);
  zinc::fuzz::Frames();
  zinc::fuzz::Chunks();
  zinc::fuzz::Maps();
  zinc::fuzz::Texts();
  zinc::fuzz::Canvases();
  zinc::fuzz::Logs();
  zinc::fuzz::Json();
  zinc::fuzz::Bridge();
  zinc::fuzz::Keys();
  return 0;
}

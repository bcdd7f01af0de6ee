// What hostile peers cost a root (issue 16): each attack of docs/security.md's list against a
// real `zincctl host` process at its default limits, from hand-made frames over tcp loopback
// (no keys, so an origin is the sender's word and one socket can claim many). For each, the
// root's resident set before and after (VmRSS), the CPU it spent during the attack, its idle
// CPU afterwards, and what the attack achieved. A benchmark, not a test: the bounds it checks
// against are docs/security.md's, and it prints `bound NAME ... ok|over` lines.
//
//   hostile_bench --zincctl PATH [--only NAME]
//
// Output, one line per attack:
//   hostile NAME rss_mb_before=.. rss_mb_after=.. cpu_s=.. idle_cpu_pct=.. KEY=VALUE...
//   bound NAME WHAT limit=.. got=.. ok|over

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/channel.h"
#include "core/codec.h"
#include "core/ids.h"
#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "endpoints/address.h"

namespace {

using namespace zinc;  // NOLINT: a benchmark's main file
using Clock = std::chrono::steady_clock;

bool ok_all = true;

// The root under attack: a zincctl host process on an ephemeral port.
class Root {
 public:
  Root(const std::string& zincctl, const std::vector<std::string>& extra) {
    int out[2];
    if (pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::vector<std::string> args = {zincctl,       "host", "--listen", "tcp://127.0.0.1:0",
                                       "--log-level", "error"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    // {"listen":"tcp://127.0.0.1:PORT","id":...}
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    const size_t at = line.find("tcp://");
    if (at == std::string::npos) {
      std::fprintf(stderr, "hostile_bench: zincctl host did not start: %s\n", line.c_str());
      std::exit(1);
    }
    listen_ = line.substr(at, line.find('"', at) - at);
  }
  ~Root() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& listen() const { return listen_; }

  double RssMb() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (f >> key) {
      if (key == "VmRSS:") {
        double kb;
        f >> kb;
        return kb / 1024;
      }
      f.ignore(1 << 20, '\n');
    }
    return -1;
  }
  // utime + stime, in seconds.
  double CpuSeconds() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  // Waits until it spends less than 2% of a core over 200 ms (at most 60 s): done with what it
  // was sent.
  void Quiesce() const {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      const double before = CpuSeconds();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a measurement window
      if (CpuSeconds() - before < 0.004) return;
    }
  }
  // Its CPU over the next two seconds, in percent of one core.
  double IdleCpuPercent() const {
    const double before = CpuSeconds();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // a measurement window, not a wait
    return (CpuSeconds() - before) * 50;
  }

 private:
  pid_t pid_ = -1;
  std::string listen_;
};

// Hand-made frames: a PUSH to the root's inbound channel and a DEALER to its sync channel.
class Peer {
 public:
  explicit Peer(const Root& root, int rcvhwm = 10000, int rcvbuf = 0) {
    ChannelAddresses a = DeriveChannelAddresses(ParseBaseAddress(root.listen()).value());
    ChannelOptions push_options;
    push_options.sndhwm = 1000000;
    ChannelOptions dealer_options;
    dealer_options.routing_id = "Z" + std::string(id_.bytes());
    dealer_options.rcvhwm = rcvhwm;
    dealer_options.rcvbuf = rcvbuf;
    dealer_options.sndhwm = 1000000;
    push_ = std::move(Channel::Create(&context_, SocketType::kPush, push_options)).value();
    dealer_ = std::move(Channel::Create(&context_, SocketType::kDealer, dealer_options)).value();
    if (!push_->Connect(a.inbound).ok() || !dealer_->Connect(a.sync).ok()) std::abort();
  }
  const EndpointId& id() const { return id_; }

  wire::Envelope Envelope(const std::string& doc, const EndpointId& origin) const {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_origin(std::string(origin.bytes()));
    e.set_doc(doc);
    return e;
  }
  wire::Envelope Fragment(const std::string& doc, const EndpointId& origin, uint64_t origin_seq,
                          uint64_t base_seq, const std::string& type, std::string payload) const {
    wire::Envelope e = Envelope(doc, origin);
    e.set_origin_seq(origin_seq);
    e.set_base_seq(base_seq);
    e.mutable_fragment()->set_type(type);
    e.mutable_fragment()->set_payload(std::move(payload));
    return e;
  }
  void Push(const wire::Envelope& e) { Send(push_.get(), EncodeEnvelope(e)); }
  void Request(const wire::Envelope& e) { Send(dealer_.get(), EncodeEnvelope(e)); }
  void SnapshotRequest(const std::string& doc, const std::string& type = "", bool create = false) {
    wire::Envelope e = Envelope(doc, id_);
    e.mutable_snapshot_request()->set_type(type);
    e.mutable_snapshot_request()->set_create(create);
    Request(e);
  }
  // The next reply on the DEALER, or false after timeout.
  bool Reply(wire::Envelope* out, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = Clock::now() + timeout;
    std::vector<std::string> parts;
    while (Clock::now() < deadline) {
      Result<bool> got = dealer_->Receive(&parts);
      if (got.ok() && *got && !parts.empty()) {
        return DecodeEnvelope(parts.back(), size_t{1} << 30, CodecLimits(), out).ok();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling a socket
    }
    return false;
  }
  // The document's head (a catch-up from beyond it: an empty reply with the head), once it is
  // at least min_seq; 0 if it never got there within a minute.
  uint64_t Seq(const std::string& doc, uint64_t min_seq = 0) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      wire::Envelope e = Envelope(doc, id_);
      e.mutable_catchup_request()->set_from_seq(uint64_t{1} << 40);
      e.mutable_catchup_request()->set_to_seq(uint64_t{1} << 40);
      Request(e);
      wire::Envelope r;
      while (Reply(&r, std::chrono::seconds(5))) {
        if (!r.has_catchup_reply()) continue;
        if (r.seq() >= min_seq) return r.seq();
        break;
      }
    }
    return 0;
  }
  // The size of the document's snapshot reply (over 256 KiB it comes in chunks: the first tells
  // the whole size).
  size_t SnapshotBytes(const std::string& doc) {
    SnapshotRequest(doc);
    wire::Envelope r;
    while (Reply(&r)) {
      if (r.has_chunk()) return r.chunk().total();
      if (r.has_snapshot_reply()) return r.ByteSizeLong();
    }
    return 0;
  }

 private:
  static void Send(Channel* c, const std::string& bytes) {
    std::string_view part(bytes);
    while (true) {
      Status s = c->Send(&part, 1);
      if (s.ok()) return;
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // backpressure
    }
  }

  EndpointId id_ = EndpointId::Random();
  ChannelContext context_;
  std::unique_ptr<Channel> push_;
  std::unique_ptr<Channel> dealer_;
};

void Bound(const std::string& attack, const std::string& what, double limit, double got) {
  const bool ok = got <= limit;
  ok_all = ok_all && ok;
  std::printf("bound %s %s limit=%.1f got=%.1f %s\n", attack.c_str(), what.c_str(), limit, got,
              ok ? "ok" : "over");
}

struct Measure {
  const Root& root;
  std::string name;
  double rss_before, cpu_before;
  Measure(const Root& r, std::string n)
      : root(r), name(std::move(n)), rss_before(r.RssMb()), cpu_before(r.CpuSeconds()) {}
  // Prints the line; returns the growth of the resident set in MB.
  double Done(const std::string& extra) {
    root.Quiesce();
    const double cpu = root.CpuSeconds() - cpu_before;
    const double rss = root.RssMb();
    const double idle = root.IdleCpuPercent();
    std::printf("hostile %s rss_mb_before=%.1f rss_mb_after=%.1f cpu_s=%.2f idle_cpu_pct=%.1f %s\n",
                name.c_str(), rss_before, rss, cpu, idle, extra.c_str());
    std::fflush(stdout);
    Bound(name, "idle_cpu_pct", 5, idle);
    return rss - rss_before;
  }
};

std::string MapSet(const std::string& key, const std::string& value) {
  return EncodeMapOps({MapOp{MapOp::Kind::kSet, key, value}});
}

// 20,000 snapshot requests that create a document each (the attack once cost an idle root
// 107% CPU and +57 MB): they stop at max_documents, and an idle root stays idle.
void JunkDocuments(const std::string& zincctl) {
  Root root(zincctl, {"--max-documents", "10000"});
  Peer peer(root);
  peer.Seq("probe");
  Measure m(root, "junk_documents");
  for (int i = 0; i < 20000; ++i) peer.SnapshotRequest("junk-" + std::to_string(i), "map", true);
  int replies = 0;
  wire::Envelope r;
  while (replies < 20000 && peer.Reply(&r, std::chrono::seconds(10))) ++replies;
  const double grew =
      m.Done("requests=20000 replies=" + std::to_string(replies) + " max_documents=10000");
  Bound("junk_documents", "rss_mb_per_1000_documents", 10, grew / 10);
}

// 200,000 fake origins writing one map document (100,000 once made a snapshot of 2 MB and 3.3
// million one nobody could open): the dedup table stops at max_authors (100,000, the default),
// so the snapshot stays bounded.
void FakeOrigins(const std::string& zincctl) {
  Root root(zincctl, {});
  Peer peer(root);
  peer.Seq("probe");
  Measure m(root, "fake_origins");
  const std::string payload = MapSet("k", "v");
  for (int i = 0; i < 200000; ++i) {
    peer.Push(peer.Fragment("victim", EndpointId::Random(), 1, 0, "map", payload));
    if (i % 20000 == 19999) peer.Seq("victim");  // paced by the root
  }
  const uint64_t seq = peer.Seq("victim", 100000);
  const double grew = m.Done("origins=200000 sequenced=" + std::to_string(seq));
  const size_t bytes = peer.SnapshotBytes("victim");
  std::printf("hostile fake_origins snapshot_bytes=%zu\n", bytes);
  Bound("fake_origins", "sequenced", 100000, static_cast<double>(seq));
  // 100,000 entries of (16-byte origin, varint) and the state.
  Bound("fake_origins", "snapshot_mb", 4, static_cast<double>(bytes) / (1 << 20));
  Bound("fake_origins", "rss_mb_growth", 150, grew);
}

// Text fragments whose base alternates between 0 and 1 on a 3,000-fragment history (each once
// cost 4.75 ms of CPU and 3 MB): chains are rationed per author, so 200 of them cost little.
void AlternatingBases(const std::string& zincctl) {
  Root root(zincctl, {});
  Peer peer(root);
  const EndpointId writer = EndpointId::Random();
  for (uint64_t i = 1; i <= 3000; ++i) {
    peer.Push(peer.Fragment("t", writer, i, i - 1, "text", EncodeTextOp(TextInsert(0, "x"))));
  }
  peer.Seq("t", 3000);
  Measure m(root, "alternating_bases");
  const EndpointId attacker = EndpointId::Random();
  for (uint64_t k = 1; k <= 200; ++k) {
    peer.Push(peer.Fragment("t", attacker, k, k % 2, "text", EncodeTextOp(TextInsert(0, "y"))));
  }
  const uint64_t seq = peer.Seq("t");
  root.Quiesce();
  const double cpu = root.CpuSeconds() - m.cpu_before;
  const double grew =
      m.Done("fragments=200 history=3000 sequenced_of_them=" + std::to_string(seq - 3000));
  Bound("alternating_bases", "rss_mb_growth", 50, grew);
  Bound("alternating_bases", "cpu_ms_per_fragment", 1, cpu * 1000 / 200);
}

// A peer that asks 40 times for the snapshot of an 8 MB document and never reads (once +139 MB):
// replies it does not read are bounded per peer (docs/security.md).
void UnreadSnapshots(const std::string& zincctl) {
  Root root(zincctl, {});
  Peer writer(root);
  const EndpointId origin = EndpointId::Random();
  for (uint64_t i = 1; i <= 8; ++i) {
    writer.Push(writer.Fragment("big", origin, i, i - 1, "map",
                                MapSet("k" + std::to_string(i), std::string(1 << 20, 'v'))));
  }
  writer.Seq("big", 8);
  Measure m(root, "unread_snapshots");
  Peer greedy(root, /*rcvhwm=*/1, /*rcvbuf=*/4096);
  greedy.Seq("probe");  // connected
  for (int i = 0; i < 40; ++i) greedy.SnapshotRequest("big");
  const double grew = m.Done("requests=40 document_mb=8");
  // The socket's 16 MiB and the 4 MiB held for the peer, plus the encoded replies in flight.
  Bound("unread_snapshots", "rss_mb_growth", 64, grew);
}

// 100 snapshot requests of a canvas of 100,000 shapes (a state that costs an encode): while the
// state stays as it is, each costs a copy of the encoded state, not an encode.
void RepeatedSnapshots(const std::string& zincctl) {
  Root root(zincctl, {});
  Peer peer(root);
  const EndpointId origin = EndpointId::Random();
  for (int f = 0; f < 20; ++f) {
    std::vector<CanvasOp> ops;
    for (int i = 0; i < 5000; ++i) {
      ops.push_back(
          CanvasOp::Add(std::to_string(f) + "-" + std::to_string(i), CanvasKind::kRect,
                        {CanvasNumber(CanvasProp::kX, i), CanvasNumber(CanvasProp::kY, f)}));
    }
    peer.Push(peer.Fragment("c", origin, f + 1, f, "canvas", EncodeCanvasOps(ops)));
    peer.Seq("c", f + 1);
  }
  const size_t bytes = peer.SnapshotBytes("c");
  root.Quiesce();
  Measure m(root, "repeated_snapshots");
  Peer reader(root);
  reader.Seq("c");
  for (int i = 0; i < 100; ++i) reader.SnapshotRequest("c");
  int replies = 0;
  wire::Envelope r;
  while (replies < 100 && reader.Reply(&r, std::chrono::seconds(10))) ++replies;
  root.Quiesce();
  const double cpu = root.CpuSeconds() - m.cpu_before;
  m.Done("requests=100 replies=" + std::to_string(replies) +
         " shapes=100000 snapshot_bytes=" + std::to_string(bytes));
  Bound("repeated_snapshots", "cpu_ms_per_request", 20, cpu * 1000 / 100);
}

// Adding and deleting 500,000 canvas shapes (once exhausted the ids for good): tombstones are
// collected within two collect intervals (1 s here).
void CanvasTombstones(const std::string& zincctl) {
  Root root(zincctl, {"--collect-interval-ms", "1000"});
  Peer peer(root);
  const EndpointId origin = EndpointId::Random();
  Measure m(root, "canvas_tombstones");
  uint64_t origin_seq = 0;
  for (int f = 0; f < 200; ++f) {
    std::vector<CanvasOp> ops;
    for (int i = 0; i < 2500; ++i) {
      const std::string id = std::to_string(f) + "-" + std::to_string(i);
      ops.push_back(CanvasOp::Add(id, CanvasKind::kRect));
      ops.push_back(CanvasOp::Delete(id));
    }
    // On the head, so that no collect's horizon makes it stale.
    const uint64_t head = peer.Seq("c");
    peer.Push(peer.Fragment("c", origin, ++origin_seq, head, "canvas", EncodeCanvasOps(ops)));
    peer.Seq("c", head + 1);
  }
  const auto deleted = Clock::now();
  const size_t full = peer.SnapshotBytes("c");
  size_t bytes = full;
  while (bytes > 4096 && Clock::now() - deleted < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the root
    bytes = peer.SnapshotBytes("c");
  }
  const double gone_s = std::chrono::duration<double>(Clock::now() - deleted).count();
  const double grew =
      m.Done("ids=500000 fragments=200 snapshot_bytes_full=" + std::to_string(full) +
             " snapshot_bytes_after=" + std::to_string(bytes));
  (void)grew;
  Bound("canvas_tombstones", "seconds_until_tombstones_gone", 3, gone_s);
}

}  // namespace

int main(int argc, char** argv) {
  std::string zincctl, only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--zincctl") == 0) zincctl = argv[i + 1];
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  if (zincctl.empty()) {
    std::fprintf(stderr, "usage: hostile_bench --zincctl PATH [--only NAME]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> attacks = {
      {"junk_documents", JunkDocuments},         {"fake_origins", FakeOrigins},
      {"alternating_bases", AlternatingBases},   {"unread_snapshots", UnreadSnapshots},
      {"repeated_snapshots", RepeatedSnapshots}, {"canvas_tombstones", CanvasTombstones},
  };
  for (const auto& [name, run] : attacks) {
    if (only.empty() || only == name) run(zincctl);
  }
  return ok_all ? 0 : 1;
}

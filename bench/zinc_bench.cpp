// The benchmark suite's measuring program: zinc beside raw ZeroMQ, in the same run, over tcp
// loopback, with the relay (raw) or the root host (zinc) in a separate process. bench/run drives
// it; see docs/benchmarks.md for the method.
//
//   zinc_bench blast  --size B --counts C1,C2,... --rounds R [--window W]
//   zinc_bench rtt    --size B --count N --rounds R
//   zinc_bench fanout --subs S --size B --count N --rounds R [--window W] [--levels L]
//   zinc_bench text   --count N --rounds R [--window W]
//   zinc_bench tree-latency --levels L --size B --count N --rounds R
//   zinc_bench failover --rounds R
//   zinc_bench store  --count D --size B --subs S --window SECONDS
//
// Scenarios:
//   blast   one producer sends C messages of B bytes as fast as it may, one consumer receives
//           them through the relay/host: sender and receiver rate, and the latency (receive time
//           minus send time) of every message: mean, p50, p99, max. Raw: PUSH -> PULL->PUB relay
//           -> SUB, no processing, unbounded high-water marks (lossless, unbounded memory).
//           zinc: a client's fragments of a `log` document (opaque payload of B bytes) through
//           the root host to a second client; the producer keeps at most W unacknowledged.
//   rtt     one message in flight: raw PUSH -> relay -> SUB back to the sender; zinc Edit ->
//           echo (WaitAcknowledged).
//   fanout  one writer, S subscribers, B-byte messages; deliveries/s over all subscribers.
//           With --levels L (zinc), the subscribers are leaves below L levels of relays (2, 4,
//           8, ... relays, each a process like the root), spread evenly over the deepest ones;
//           the writer is a direct child of the root. Scenario fanout_S, or fanout_treeL_S.
//   tree-latency  one message in flight from a writer under the root to one leaf at each depth
//           1 .. L+1 (the leaf at depth d is below a chain of d-1 relays): the latency at each
//           depth (p50, p99), and what each level of relays adds (the deepest leaf's minus the
//           shallowest's, over L). zinc only: raw ZeroMQ has no trees.
//   text    one-character inserts from one client, received by another (zinc only).
//   failover  a root and its standby (each a process) and a client that edits every
//           millisecond; the root is SIGKILLed: the time from the kill to the first edit the
//           new root acknowledges (made after the kill), per run; p50, max and min over R runs,
//           default heartbeat (100 ms x 3). zinc only.
//   store   a store of D documents of one B-byte value each, written as a root would have (LMDB,
//           sync full), and a root host restarted on it: the time from its start to its first
//           snapshot served, then its idle CPU (percent of a core) and resident memory over
//           SECONDS with S of the documents open by a client (the others idle in the store).
//           zinc only. Scenario store_D. ZINC_BENCH_DROP_CACHES=1 (as root) empties the page
//           cache before the restart: a cold one.
//
// ZINC_BENCH_CURVE=1 runs any scenario with keys on every endpoint (CurveZMQ on every channel).
//
// Output: CSV rows on stdout, no header (bench/run adds it):
//   scenario,system,size,count,metric,value,unit,lost,rounds
// values are medians over rounds; lost sums the messages lost over rounds, and a figure with
// any loss has an empty value (it is not a speed). Progress goes to stderr.
//
// Internal roles (the separate server process): zinc_bench serve-raw | serve-zinc. They print
// "ready ADDR..." and run until their stdin closes, then print "peak_rss_kb=N".

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/channel.h"
#include "core/keys.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "documents/type_registry.h"
#include "endpoints/endpoint.h"
#include "examples/log/log_document.h"
#include "store/lmdb_store.h"

extern char** environ;

namespace {

using SteadyClock = std::chrono::steady_clock;

// CLOCK_MONOTONIC is system-wide, so a timestamp taken in one process can be compared in another.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// Every message starts with its send time and index; the rest is filler.
constexpr size_t kStampBytes = 12;

void Stamp(char* p, int64_t ns, uint32_t index) {
  std::memcpy(p, &ns, 8);
  std::memcpy(p + 8, &index, 4);
}

void Unstamp(const char* p, int64_t* ns, uint32_t* index) {
  std::memcpy(ns, p, 8);
  std::memcpy(index, p + 8, 4);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// What one consumer saw: every message's latency by index, and when the last one arrived.
class Receipts {
 public:
  explicit Receipts(size_t count) : latency_ns_(count, -1) {}

  // Records message index, sent at sent_ns; ignores duplicates and strangers.
  void Add(uint32_t index, int64_t sent_ns) {
    const int64_t now = NowNs();
    if (index >= latency_ns_.size() || latency_ns_[index] >= 0) return;
    latency_ns_[index] = now - sent_ns;
    last_ns_.store(now, std::memory_order_relaxed);
    received_.fetch_add(1, std::memory_order_release);
  }
  size_t received() const { return received_.load(std::memory_order_acquire); }
  int64_t last_ns() const { return last_ns_.load(std::memory_order_relaxed); }
  // Waits until all arrived or nothing arrived for stall; returns whether all did.
  bool Wait(std::chrono::seconds stall) const {
    size_t seen = received();
    auto progress = SteadyClock::now();
    while (seen < latency_ns_.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const size_t now = received();
      if (now != seen) {
        seen = now;
        progress = SteadyClock::now();
      } else if (SteadyClock::now() - progress > stall) {
        return false;
      }
    }
    return true;
  }
  // Sorted latencies in microseconds of the messages that arrived.
  std::vector<double> LatenciesMicros() const {
    std::vector<double> v;
    v.reserve(latency_ns_.size());
    for (int64_t ns : latency_ns_) {
      if (ns >= 0) v.push_back(ns / 1000.0);
    }
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::vector<int64_t> latency_ns_;  // Written by the one receiving thread.
  std::atomic<size_t> received_{0};
  std::atomic<int64_t> last_ns_{0};
};

struct LatencyStats {
  double mean = 0, p50 = 0, p99 = 0, max = 0;
};

LatencyStats Stats(const std::vector<double>& sorted) {
  LatencyStats s;
  if (sorted.empty()) return s;
  double sum = 0;
  for (double v : sorted) sum += v;
  s.mean = sum / sorted.size();
  s.p50 = sorted[sorted.size() / 2];
  s.p99 = sorted[std::min(sorted.size() - 1, sorted.size() * 99 / 100)];
  s.max = sorted.back();
  return s;
}

// ---------------------------------------------------------------------------------------------
// The server process.

// A relay or host in a child process of this program.
class Server {
 public:
  // role: "serve-raw", "serve-zinc" or "serve-relay" (arg: the parent's address). Returns
  // nullptr (and says why) on failure.
  static std::unique_ptr<Server> Spawn(const char* role, const std::string& arg = "") {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return nullptr;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char exe[] = "/proc/self/exe";
    std::string r = role;
    std::string a = arg;
    char* argv[] = {exe, r.data(), a.empty() ? nullptr : a.data(), nullptr};
    pid_t pid;
    const int rc = posix_spawn(&pid, exe, &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
      close(in[1]);
      close(out[0]);
      std::fprintf(stderr, "zinc_bench: cannot spawn %s\n", role);
      return nullptr;
    }
    auto s = std::unique_ptr<Server>(new Server(pid, in[1], fdopen(out[0], "r")));
    char line[512];
    if (!std::fgets(line, sizeof(line), s->out_) || std::strncmp(line, "ready ", 6) != 0) {
      std::fprintf(stderr, "zinc_bench: %s did not start\n", role);
      return nullptr;
    }
    std::istringstream words(line + 6);
    std::string w;
    while (words >> w) s->addresses_.push_back(w);
    return s;
  }

  ~Server() { Finish(); }

  const std::vector<std::string>& addresses() const { return addresses_; }
  pid_t pid() const { return pid_; }

  // SIGKILL: the process dies on the spot (Finish still reaps it).
  void Kill() {
    if (pid_ > 0) kill(pid_, SIGKILL);
  }

  // Stops the server; returns its peak RSS in kB (0 if unknown).
  long Finish() {
    if (pid_ < 0) return peak_rss_kb_;
    close(in_);
    char line[512];
    while (std::fgets(line, sizeof(line), out_)) {
      std::sscanf(line, "peak_rss_kb=%ld", &peak_rss_kb_);
    }
    std::fclose(out_);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return peak_rss_kb_;
  }

 private:
  Server(pid_t pid, int in, FILE* out) : pid_(pid), in_(in), out_(out) {}

  pid_t pid_;
  int in_;
  FILE* out_;
  long peak_rss_kb_ = 0;
  std::vector<std::string> addresses_;
};

// CPU time (user + system) of this process and its waited-for children, in microseconds.
double CpuMicros() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u;
    getrusage(who, &u);
    total +=
        u.ru_utime.tv_sec * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_sec * 1e6 + u.ru_stime.tv_usec;
  }
  return total;
}

// This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
// from the parent's address space through posix_spawn's exec, so it would report the parent's.
long PeakRssKb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

bool StdinClosed(int timeout_ms) {
  pollfd p{0, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[64];
  return read(0, buf, sizeof(buf)) <= 0;
}

// PULL -> PUB with no processing and no limits: each message goes out under the topic "bench",
// moved, not copied.
int ServeRaw() {
  zmq::context_t ctx;
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  zmq::socket_t pub(ctx, zmq::socket_type::pub);
  pull.set(zmq::sockopt::rcvhwm, 0);
  pub.set(zmq::sockopt::sndhwm, 0);
  pull.bind("tcp://127.0.0.1:*");
  pub.bind("tcp://127.0.0.1:*");
  std::printf("ready %s %s\n", pull.get(zmq::sockopt::last_endpoint).c_str(),
              pub.get(zmq::sockopt::last_endpoint).c_str());
  std::fflush(stdout);
  zmq::pollitem_t items[] = {{pull.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, 0, ZMQ_POLLIN, 0}};
  zmq::message_t msg;
  while (true) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[0].revents & ZMQ_POLLIN) {
      while (pull.recv(msg, zmq::recv_flags::dontwait)) {
        pub.send(zmq::str_buffer("bench"), zmq::send_flags::sndmore);
        pub.send(msg, zmq::send_flags::none);
      }
    }
    // A closed pipe reports POLLHUP, which zmq_poll passes on as ZMQ_POLLERR.
    if ((items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) && StdinClosed(0)) break;
  }
  std::printf("peak_rss_kb=%ld\n", PeakRssKb());
  return 0;
}

const zinc::TypeRegistry* BenchTypes() {
  static zinc::TypeRegistry* types = [] {
    auto t = zinc::TypeRegistry::WithBuiltins();
    (void)t->Register(std::make_unique<zinc::examples::LogType>());
    return t.release();
  }();
  return types;
}

// The one ZeroMQ context of this process's joining endpoints (a fan-out runs fifty): one I/O
// thread for all, as an application with several endpoints would do.
zinc::ChannelContext* BenchContext() {
  static zinc::ChannelContext* context = new zinc::ChannelContext();
  return context;
}

// ZINC_BENCH_CURVE=1: every endpoint has keys (docs/security.md), so every channel is CurveZMQ.
// The first process makes a key for the hosts (root, relays) and one for the clients, and an
// authorized-keys file; it hands them to the processes it spawns through the environment.
bool BenchCurve() { return getenv("ZINC_BENCH_CURVE") != nullptr; }

bool SetUpBenchKeys() {
  if (!BenchCurve() || getenv("ZINC_BENCH_HOST_SECRET")) return true;
  zinc::Result<zinc::CurveKeyPair> host = zinc::GenerateCurveKeyPair();
  zinc::Result<zinc::CurveKeyPair> client = zinc::GenerateCurveKeyPair();
  if (!host.ok() || !client.ok()) {
    std::fprintf(stderr, "zinc_bench: no CURVE in this libzmq\n");
    return false;
  }
  const std::string file = "/tmp/zinc-bench-keys-" + std::to_string(getpid());
  FILE* f = std::fopen(file.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "%s hosts member\n%s clients read:* write:*\n", host->public_key.c_str(),
               client->public_key.c_str());
  std::fclose(f);
  static std::string keys_file = file;
  std::atexit([] { std::remove(keys_file.c_str()); });
  setenv("ZINC_BENCH_HOST_SECRET", host->secret_key.c_str(), 1);
  setenv("ZINC_BENCH_HOST_PUBLIC", host->public_key.c_str(), 1);
  setenv("ZINC_BENCH_CLIENT_SECRET", client->secret_key.c_str(), 1);
  setenv("ZINC_BENCH_AUTHORIZED", file.c_str(), 1);
  return true;
}

// Keys for an endpoint: a host's (with listen) or a client's.
void ApplyBenchKeys(zinc::EndpointOptions* o) {
  if (!BenchCurve()) return;
  const bool host = !o->listen.empty();
  o->secret_key = getenv(host ? "ZINC_BENCH_HOST_SECRET" : "ZINC_BENCH_CLIENT_SECRET");
  if (host) o->authorized_keys = getenv("ZINC_BENCH_AUTHORIZED");
  if (!o->join.empty()) o->server_key = getenv("ZINC_BENCH_HOST_PUBLIC");
}

// ZINC_BENCH_LOG=info (debug, ...) shows the endpoints' logs.
zinc::LogLevel BenchLogLevel() {
  const char* level = getenv("ZINC_BENCH_LOG");
  return level ? zinc::ParseLogLevel(level) : zinc::LogLevel::kWarn;
}

// The root host, or with parent a relay joined to it.
int ServeZinc(const std::string& parent = "") {
  zinc::EndpointOptions o;
  o.log_level = BenchLogLevel();
  o.listen = "tcp://127.0.0.1:0";
  o.join = parent;
  o.types = BenchTypes();
  // ZINC_BENCH_DATA=DIR: the host keeps its documents in DIR/<pid> (docs/durability.md), with
  // ZINC_BENCH_SYNC (full, normal, off; default full).
  if (const char* store = getenv("ZINC_BENCH_STORE")) {
    o.data_dir = store;  // exactly this directory (the store scenario)
  } else if (const char* data = getenv("ZINC_BENCH_DATA")) {
    o.data_dir = std::string(data) + "/" + std::to_string(getpid());
    if (const char* sync = getenv("ZINC_BENCH_SYNC")) {
      zinc::Result<zinc::SyncMode> mode = zinc::ParseSyncMode(sync);
      if (!mode.ok()) {
        std::fprintf(stderr, "zinc_bench: %s\n", mode.status().ToString().c_str());
        return 1;
      }
      o.sync = *mode;
    }
  }
  // ZINC_BENCH_ACK_AFTER=standby: --ack-after standby (with ZINC_BENCH_STANDBY, the scenarios
  // start a standby beside the root).
  if (const char* a = getenv("ZINC_BENCH_ACK_AFTER"); a && std::string(a) == "standby") {
    o.ack_after = zinc::EndpointOptions::AckAfter::kStandby;
  }
  ApplyBenchKeys(&o);
  auto host = zinc::Endpoint::Start(o);
  if (!host.ok()) {
    std::fprintf(stderr, "zinc_bench: host: %s\n", host.status().ToString().c_str());
    return 1;
  }
  if (!parent.empty() && !(*host)->WaitJoined(std::chrono::seconds(20)).ok()) {
    std::fprintf(stderr, "zinc_bench: relay: not accepted by %s\n", parent.c_str());
    return 1;
  }
  std::printf("ready %s\n", (*host)->listen_address().c_str());
  std::fflush(stdout);
  while (!StdinClosed(-1)) {
  }
  (*host)->Stop();
  if (getenv("ZINC_BENCH_COUNTERS")) {
    std::fprintf(stderr, "%s", (*host)->counters().RenderPrometheus().c_str());
  }
  std::printf("peak_rss_kb=%ld\n", PeakRssKb());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Raw ZeroMQ clients.

// Connects a SUB to out and a PUSH to in, and waits until the subscription is through (probes
// of one byte, which receivers ignore, until one comes back).
struct RawClient {
  zmq::context_t ctx;
  zmq::socket_t push{ctx, zmq::socket_type::push};
  std::vector<std::unique_ptr<zmq::socket_t>> subs;

  RawClient(const Server& server, size_t subscribers) {
    push.set(zmq::sockopt::sndhwm, 0);
    push.connect(server.addresses()[0]);
    for (size_t i = 0; i < subscribers; ++i) {
      auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
      s->set(zmq::sockopt::rcvhwm, 0);
      s->set(zmq::sockopt::subscribe, "");
      s->connect(server.addresses()[1]);
      subs.push_back(std::move(s));
    }
    std::vector<bool> through(subscribers, false);
    size_t left = subscribers;
    zmq::message_t m;
    while (left > 0) {
      push.send(zmq::str_buffer("p"), zmq::send_flags::none);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      for (size_t i = 0; i < subscribers; ++i) {
        while (subs[i]->recv(m, zmq::recv_flags::dontwait)) {
          if (!through[i]) {
            through[i] = true;
            --left;
          }
        }
      }
    }
  }
};

// Sends count stamped messages of size bytes through the relay as fast as PUSH takes them.
void SendRaw(RawClient* client, size_t size, size_t count) {
  std::string msg(size, 'm');
  for (size_t i = 0; i < count; ++i) {
    Stamp(msg.data(), NowNs(), static_cast<uint32_t>(i));
    client->push.send(zmq::buffer(msg), zmq::send_flags::none);
  }
}

// Waits for every consumer; returns when the last message arrived (at least start) and sets
// *lost to the messages that never did.
int64_t WaitAll(const std::vector<std::unique_ptr<Receipts>>& receipts, size_t count, int64_t start,
                size_t* lost) {
  int64_t last = start;
  *lost = 0;
  for (const auto& r : receipts) {
    if (!r->Wait(std::chrono::seconds(15))) *lost += count - r->received();
    last = std::max(last, r->last_ns());
  }
  return last;
}

// Receives on every sub until each has all count messages of size bytes or stop is set.
void RawReceive(std::vector<std::unique_ptr<zmq::socket_t>>* subs, size_t size,
                std::vector<std::unique_ptr<Receipts>>* receipts, const std::atomic<bool>* stop) {
  std::vector<zmq::pollitem_t> items;
  for (auto& s : *subs) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
  zmq::message_t topic, body;
  while (!stop->load(std::memory_order_relaxed)) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      for (int burst = 0; burst < 1024 && (*subs)[i]->recv(topic, zmq::recv_flags::dontwait);
           ++burst) {
        if (!topic.more()) continue;
        (void)(*subs)[i]->recv(body, zmq::recv_flags::none);
        if (body.size() != size) continue;
        int64_t ns;
        uint32_t index;
        Unstamp(static_cast<const char*>(body.data()), &ns, &index);
        (*receipts)[i]->Add(index, ns);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// zinc clients.

std::unique_ptr<zinc::Endpoint> Join(const Server& server) {
  zinc::EndpointOptions o;
  o.join = server.addresses()[0];
  o.types = BenchTypes();
  o.context = BenchContext();
  ApplyBenchKeys(&o);
  auto e = zinc::Endpoint::Start(o);
  if (!e.ok()) {
    std::fprintf(stderr, "zinc_bench: join: %s\n", e.status().ToString().c_str());
    return nullptr;
  }
  return std::move(e).value();
}

// Joins the member at address (following redirects); a relay also hosts, on free ports.
std::unique_ptr<zinc::Endpoint> JoinAt(const std::string& address, bool relay) {
  zinc::EndpointOptions o;
  o.log_level = BenchLogLevel();
  o.join = address;
  if (relay) o.listen = "tcp://127.0.0.1:*";
  o.types = BenchTypes();
  o.context = BenchContext();
  ApplyBenchKeys(&o);
  auto e = zinc::Endpoint::Start(o);
  if (!e.ok() || !(*e)->WaitJoined(std::chrono::seconds(20)).ok()) {
    std::fprintf(stderr, "zinc_bench: join %s: %s\n", address.c_str(),
                 e.ok() ? "not accepted" : e.status().ToString().c_str());
    return nullptr;
  }
  return std::move(e).value();
}

zinc::DocumentHandle* OpenSynced(zinc::Endpoint* e, const std::string& name,
                                 const std::string& type) {
  zinc::OpenOptions open;
  open.type = type;
  auto doc = e->Open(name, open);
  if (!doc.ok() || !(*doc)->WaitSynced(std::chrono::seconds(20)).ok()) {
    std::fprintf(stderr, "zinc_bench: cannot open %s\n", name.c_str());
    return nullptr;
  }
  return *doc;
}

// A log append's entry: the payload is [varint before_last][entry].
const char* LogEntry(const std::string& payload) {
  size_t i = 0;
  while (i < payload.size() && (static_cast<uint8_t>(payload[i]) & 0x80)) ++i;
  ++i;
  return payload.size() >= i + kStampBytes ? payload.data() + i : nullptr;
}

// Feeds every remote, non-snapshot change of doc into receipts.
void ListenLog(zinc::DocumentHandle* doc, Receipts* receipts, std::atomic<int>* resets) {
  doc->OnChange([receipts, resets](const zinc::DocumentChange& c) {
    if (c.reset) {
      if (c.seq > 0) resets->fetch_add(1);
      return;
    }
    if (c.local) return;
    const char* e = LogEntry(c.payload);
    if (!e) return;
    int64_t ns;
    uint32_t index;
    Unstamp(e, &ns, &index);
    receipts->Add(index, ns);
  });
}

// Sends count appends of size bytes; keeps at most window unacknowledged.
bool SendLog(zinc::DocumentHandle* doc, size_t size, size_t count, size_t window) {
  std::string entry(size - 1, 'm');  // The varint before_last (0) takes one byte.
  for (size_t i = 0; i < count; ++i) {
    if ((i & 63) == 0 && doc->pending() > window &&
        !doc->WaitPendingAtMost(window / 2, std::chrono::seconds(60)).ok()) {
      std::fprintf(stderr, "zinc_bench: acknowledgements stalled\n");
      return false;
    }
    Stamp(entry.data(), NowNs(), static_cast<uint32_t>(i));
    if (!doc->Edit(zinc::examples::EncodeLogAppend(entry)).ok()) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

struct Options {
  size_t size = 1024;
  std::vector<size_t> counts = {100000};
  size_t rounds = 3;
  size_t subs = 10;
  size_t window = 4096;
  // fanout: levels of relays between the root and the subscribers; tree-latency: relays in the
  // chain.
  size_t levels = 0;
  // "raw", "zinc" or both (empty): for profiling one side.
  std::string only;
};

bool Runs(const Options& o, const char* system) { return o.only.empty() || o.only == system; }

// One figure's samples over rounds.
struct Figure {
  std::vector<double> samples;
  size_t lost = 0;
};

// Rows in insertion order: (scenario, system, size, count, metric, unit) -> figure.
class Table {
 public:
  Figure& At(const std::string& scenario, const std::string& system, size_t size, size_t count,
             const std::string& metric, const std::string& unit) {
    std::ostringstream key;
    key << scenario << ',' << system << ',' << size << ',' << count << ',' << metric << ',' << unit;
    auto it = index_.find(key.str());
    if (it != index_.end()) return rows_[it->second].second;
    index_[key.str()] = rows_.size();
    rows_.push_back({key.str(), Figure()});
    return rows_.back().second;
  }
  void Print(size_t rounds) const {
    for (const auto& [key, f] : rows_) {
      const size_t comma = key.rfind(',');
      std::string value;
      if (f.lost == 0 && !f.samples.empty()) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.1f", Median(f.samples));
        value = buf;
      }
      std::printf("%s,%s,%s,%zu,%zu\n", key.substr(0, comma).c_str(), value.c_str(),
                  key.substr(comma + 1).c_str(), f.lost, rounds);
    }
    std::fflush(stdout);
  }

 private:
  std::vector<std::pair<std::string, Figure>> rows_;
  std::map<std::string, size_t> index_;
};

// What one blast measured.
struct BlastResult {
  bool ok = false;
  double sender_rate = 0, receiver_rate = 0;
  LatencyStats latency;
  size_t lost = 0;
  long server_rss_kb = 0;
  // CPU time of every process and thread involved, per message: the cost of a message
  // whatever else the machine is doing.
  double cpu_us_per_msg = 0;
};

BlastResult BlastRaw(size_t size, size_t count) {
  BlastResult r;
  const double cpu0 = CpuMicros();
  auto server = Server::Spawn("serve-raw");
  if (!server) return r;
  RawClient client(*server, 1);
  std::vector<std::unique_ptr<Receipts>> receipts;
  receipts.push_back(std::make_unique<Receipts>(count));
  std::atomic<bool> stop{false};
  std::thread receiver(RawReceive, &client.subs, size, &receipts, &stop);
  const int64_t start = NowNs();
  SendRaw(&client, size, count);
  const int64_t sent = NowNs();
  const bool all = receipts[0]->Wait(std::chrono::seconds(15));
  stop = true;
  receiver.join();
  r.ok = true;
  r.lost = all ? 0 : count - receipts[0]->received();
  r.sender_rate = count / ((sent - start) / 1e9);
  r.receiver_rate = count / ((receipts[0]->last_ns() - start) / 1e9);
  r.latency = Stats(receipts[0]->LatenciesMicros());
  r.server_rss_kb = server->Finish();
  r.cpu_us_per_msg = (CpuMicros() - cpu0) / count;
  return r;
}

// ZINC_BENCH_STANDBY=1: a standby relay (a process) beside root, named in the roster that
// client sees before the run starts; nullptr without it. *ok is false if it failed.
std::unique_ptr<Server> MaybeStandby(Server& root, zinc::Endpoint& client, bool* ok) {
  *ok = true;
  if (!getenv("ZINC_BENCH_STANDBY")) return nullptr;
  auto standby = Server::Spawn("serve-relay", root.addresses()[0]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (standby && client.roster().standby.is_nil()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "zinc_bench: no standby named\n");
      *ok = false;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the roster
  }
  *ok = standby != nullptr;
  return standby;
}

BlastResult BlastZinc(size_t size, size_t count, size_t window) {
  BlastResult r;
  const double cpu0 = CpuMicros();
  auto server = Server::Spawn("serve-zinc");
  if (!server) return r;
  auto producer = Join(*server);
  auto consumer = Join(*server);
  if (!producer || !consumer) return r;
  bool standby_ok;
  auto standby = MaybeStandby(*server, *producer, &standby_ok);
  if (!standby_ok) return r;
  const std::string name = "blast";
  zinc::DocumentHandle* out = OpenSynced(producer.get(), name, "log");
  zinc::DocumentHandle* in = out ? OpenSynced(consumer.get(), name, "log") : nullptr;
  if (!in) return r;
  Receipts receipts(count);
  std::atomic<int> resets{0};
  ListenLog(in, &receipts, &resets);
  const int64_t start = NowNs();
  if (!SendLog(out, size, count, window)) return r;
  const int64_t sent = NowNs();
  const bool all = receipts.Wait(std::chrono::seconds(15));
  r.ok = out->WaitAcknowledged(std::chrono::seconds(30)).ok();
  r.lost = all ? 0 : count - receipts.received();
  if (resets.load() > 0)
    std::fprintf(stderr, "zinc_bench: consumer resynced %d times\n", resets.load());
  r.sender_rate = count / ((sent - start) / 1e9);
  r.receiver_rate = count / ((receipts.last_ns() - start) / 1e9);
  r.latency = Stats(receipts.LatenciesMicros());
  consumer->Stop();
  producer->Stop();
  if (standby) standby->Finish();
  r.server_rss_kb = server->Finish();
  r.cpu_us_per_msg = (CpuMicros() - cpu0) / count;
  return r;
}

int Blast(const Options& o) {
  if (o.size < kStampBytes + 1) {
    std::fprintf(stderr, "zinc_bench: --size must be at least %zu\n", kStampBytes + 1);
    return 2;
  }
  Table table;
  for (size_t count : o.counts) {
    for (size_t round = 0; round < o.rounds; ++round) {
      for (const char* system : {"raw", "zinc"}) {
        if (!Runs(o, system)) continue;
        const bool raw = std::strcmp(system, "raw") == 0;
        BlastResult r = raw ? BlastRaw(o.size, count) : BlastZinc(o.size, count, o.window);
        if (!r.ok) {
          std::fprintf(stderr, "zinc_bench: blast %s failed\n", system);
          return 1;
        }
        std::fprintf(
            stderr,
            "blast %s size=%zu count=%zu round=%zu: sender %.0f/s receiver %.0f/s "
            "latency mean %.0f p99 %.0f us, lost %zu, server rss %ld kB, cpu %.2f us/msg\n",
            system, o.size, count, round + 1, r.sender_rate, r.receiver_rate, r.latency.mean,
            r.latency.p99, r.lost, r.server_rss_kb, r.cpu_us_per_msg);
        auto add = [&](const char* metric, const char* unit, double v, bool speed) {
          Figure& f = table.At("blast", system, o.size, count, metric, unit);
          f.samples.push_back(v);
          if (speed) f.lost += r.lost;
        };
        add("sender_rate", "msgs/s", r.sender_rate, true);
        add("receiver_rate", "msgs/s", r.receiver_rate, true);
        add("latency_mean_us", "us", r.latency.mean, true);
        add("latency_p50_us", "us", r.latency.p50, true);
        add("latency_p99_us", "us", r.latency.p99, true);
        add("latency_max_us", "us", r.latency.max, true);
        add("server_peak_rss_kb", "kB", static_cast<double>(r.server_rss_kb), false);
        add("cpu_us_per_msg", "us", r.cpu_us_per_msg, false);
      }
    }
  }
  table.Print(o.rounds);
  return 0;
}

// Round trips with one message in flight; returns sorted microseconds, empty on failure.
std::vector<double> RttRaw(size_t size, size_t count) {
  auto server = Server::Spawn("serve-raw");
  if (!server) return {};
  RawClient client(*server, 1);
  std::string msg(size, 'm');
  zmq::message_t topic, body;
  std::vector<double> v;
  const size_t warmup = std::min<size_t>(100, count);
  for (size_t i = 0; i < count + warmup; ++i) {
    const int64_t t0 = NowNs();
    Stamp(msg.data(), t0, static_cast<uint32_t>(i));
    client.push.send(zmq::buffer(msg), zmq::send_flags::none);
    while (true) {
      (void)client.subs[0]->recv(topic, zmq::recv_flags::none);
      (void)client.subs[0]->recv(body, zmq::recv_flags::none);
      if (body.size() == size) break;
    }
    if (i >= warmup) v.push_back((NowNs() - t0) / 1000.0);
  }
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<double> RttZinc(size_t size, size_t count) {
  auto server = Server::Spawn("serve-zinc");
  if (!server) return {};
  auto client = Join(*server);
  if (!client) return {};
  bool standby_ok;
  auto standby = MaybeStandby(*server, *client, &standby_ok);
  if (!standby_ok) return {};
  zinc::DocumentHandle* doc = OpenSynced(client.get(), "rtt", "log");
  if (!doc) return {};
  std::string entry(size - 1, 'm');
  std::vector<double> v;
  const size_t warmup = std::min<size_t>(100, count);
  for (size_t i = 0; i < count + warmup; ++i) {
    const int64_t t0 = NowNs();
    Stamp(entry.data(), t0, static_cast<uint32_t>(i));
    if (!doc->Edit(zinc::examples::EncodeLogAppend(entry)).ok() ||
        !doc->WaitAcknowledged(std::chrono::seconds(10)).ok()) {
      return {};
    }
    if (i >= warmup) v.push_back((NowNs() - t0) / 1000.0);
  }
  std::sort(v.begin(), v.end());
  return v;
}

int Rtt(const Options& o) {
  Table table;
  const size_t count = o.counts[0];
  for (size_t round = 0; round < o.rounds; ++round) {
    for (const char* system : {"raw", "zinc"}) {
      if (!Runs(o, system)) continue;
      const bool raw = std::strcmp(system, "raw") == 0;
      std::vector<double> v = raw ? RttRaw(o.size, count) : RttZinc(o.size, count);
      if (v.empty()) {
        std::fprintf(stderr, "zinc_bench: rtt %s failed\n", system);
        return 1;
      }
      LatencyStats s = Stats(v);
      std::fprintf(stderr, "rtt %s size=%zu round=%zu: p50 %.0f p99 %.0f us\n", system, o.size,
                   round + 1, s.p50, s.p99);
      table.At("rtt", system, o.size, count, "rtt_p50_us", "us").samples.push_back(s.p50);
      table.At("rtt", system, o.size, count, "rtt_p99_us", "us").samples.push_back(s.p99);
      table.At("rtt", system, o.size, count, "rtt_mean_us", "us").samples.push_back(s.mean);
      table.At("rtt", system, o.size, count, "rtt_max_us", "us").samples.push_back(s.max);
    }
  }
  table.Print(o.rounds);
  return 0;
}

// Deliveries/s to subs subscribers, or -1 on failure; *lost gets the deliveries missing.
double FanoutRaw(size_t subs, size_t size, size_t count, size_t* lost) {
  auto server = Server::Spawn("serve-raw");
  if (!server) return -1;
  RawClient client(*server, subs);
  std::vector<std::unique_ptr<Receipts>> receipts;
  for (size_t i = 0; i < subs; ++i) receipts.push_back(std::make_unique<Receipts>(count));
  std::atomic<bool> stop{false};
  std::thread receiver(RawReceive, &client.subs, size, &receipts, &stop);
  const int64_t start = NowNs();
  SendRaw(&client, size, count);
  const int64_t last = WaitAll(receipts, count, start, lost);
  stop = true;
  receiver.join();
  return subs * count / ((last - start) / 1e9);
}

double FanoutZinc(size_t subs, size_t size, size_t count, size_t window, size_t levels,
                  size_t* lost) {
  auto server = Server::Spawn("serve-zinc");
  if (!server) return -1;
  auto writer = Join(*server);
  if (!writer) return -1;
  zinc::DocumentHandle* out = OpenSynced(writer.get(), "fanout", "log");
  if (!out) return -1;
  // The relays, each a process as the root is, two below each member of the level above;
  // leaves go under the deepest.
  std::vector<std::unique_ptr<Server>> relays;
  std::vector<std::string> parents = {server->addresses()[0]};
  for (size_t level = 0; level < levels; ++level) {
    std::vector<std::string> next;
    for (const std::string& parent : parents) {
      for (int i = 0; i < 2; ++i) {
        relays.push_back(Server::Spawn("serve-relay", parent));
        if (!relays.back()) return -1;
        next.push_back(relays.back()->addresses()[0]);
      }
    }
    parents = next;
  }
  std::vector<std::unique_ptr<zinc::Endpoint>> readers;
  std::vector<std::unique_ptr<Receipts>> receipts;
  std::atomic<int> resets{0};
  for (size_t i = 0; i < subs; ++i) {
    readers.push_back(JoinAt(parents[i % parents.size()], /*relay=*/false));
    if (!readers.back()) return -1;
    zinc::DocumentHandle* in = OpenSynced(readers.back().get(), "fanout", "log");
    if (!in) return -1;
    receipts.push_back(std::make_unique<Receipts>(count));
    ListenLog(in, receipts.back().get(), &resets);
  }
  const int64_t start = NowNs();
  if (!SendLog(out, size, count, window)) return -1;
  const int64_t last = WaitAll(receipts, count, start, lost);
  if (resets.load() > 0)
    std::fprintf(stderr, "zinc_bench: readers resynced %d times\n", resets.load());
  for (auto& r : readers) r->Stop();
  writer->Stop();
  return subs * count / ((last - start) / 1e9);
}

int Fanout(const Options& o) {
  Table table;
  const size_t count = o.counts[0];
  const std::string scenario =
      (o.levels == 0 ? "fanout_" : "fanout_tree" + std::to_string(o.levels) + "_") +
      std::to_string(o.subs);
  for (size_t round = 0; round < o.rounds; ++round) {
    for (const char* system : {"raw", "zinc"}) {
      if (!Runs(o, system)) continue;
      const bool raw = std::strcmp(system, "raw") == 0;
      size_t lost = 0;
      double rate = raw ? FanoutRaw(o.subs, o.size, count, &lost)
                        : FanoutZinc(o.subs, o.size, count, o.window, o.levels, &lost);
      if (rate < 0) {
        std::fprintf(stderr, "zinc_bench: fanout %s failed\n", system);
        return 1;
      }
      std::fprintf(stderr, "%s %s size=%zu count=%zu round=%zu: %.0f deliveries/s, lost %zu\n",
                   scenario.c_str(), system, o.size, count, round + 1, rate, lost);
      Figure& f = table.At(scenario, system, o.size, count, "deliveries_rate", "deliveries/s");
      f.samples.push_back(rate);
      f.lost += lost;
    }
  }
  table.Print(o.rounds);
  return 0;
}

// One message in flight from a writer under the root to a leaf at each depth 1 .. levels + 1;
// fills latencies[d - 1] with the sorted microseconds at depth d. False on failure.
bool TreeLatencyZinc(size_t levels, size_t size, size_t count,
                     std::vector<std::vector<double>>* latencies) {
  // Before the endpoints, so that their callbacks never outlive it.
  std::mutex mu;
  std::condition_variable cv;
  size_t arrived = 0;
  auto server = Server::Spawn("serve-zinc");
  if (!server) return false;
  auto writer = Join(*server);
  if (!writer) return false;
  zinc::DocumentHandle* out = OpenSynced(writer.get(), "latency", "log");
  if (!out) return false;
  std::vector<std::unique_ptr<Server>> relays;  // each a process, as the root is
  std::vector<std::unique_ptr<zinc::Endpoint>> leaves;
  std::string parent = server->addresses()[0];
  for (size_t depth = 1; depth <= levels + 1; ++depth) {
    leaves.push_back(JoinAt(parent, /*relay=*/false));
    if (!leaves.back()) return false;
    if (depth <= levels) {
      relays.push_back(Server::Spawn("serve-relay", parent));
      if (!relays.back()) return false;
      parent = relays.back()->addresses()[0];
    }
  }
  latencies->assign(levels + 1, {});
  for (size_t d = 0; d < leaves.size(); ++d) {
    zinc::DocumentHandle* in = OpenSynced(leaves[d].get(), "latency", "log");
    if (!in) return false;
    in->OnChange([&, d](const zinc::DocumentChange& c) {
      if (c.reset || c.local) return;
      const char* e = LogEntry(c.payload);
      if (!e) return;
      int64_t ns;
      uint32_t index;
      Unstamp(e, &ns, &index);
      const double us = (NowNs() - ns) / 1000.0;
      std::lock_guard<std::mutex> l(mu);
      (*latencies)[d].push_back(us);
      ++arrived;
      cv.notify_all();
    });
  }
  std::string entry(size - 1, 'm');
  const size_t warmup = std::min<size_t>(100, count);
  for (size_t i = 0; i < count + warmup; ++i) {
    Stamp(entry.data(), NowNs(), static_cast<uint32_t>(i));
    if (!out->Edit(zinc::examples::EncodeLogAppend(entry)).ok()) return false;
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(10), [&] { return arrived == leaves.size(); })) {
      std::fprintf(stderr, "zinc_bench: tree-latency: message %zu did not arrive\n", i);
      return false;
    }
    arrived = 0;
    if (i < warmup) {
      for (auto& v : *latencies) v.clear();
    }
  }
  for (auto& l : leaves) l->Stop();
  writer->Stop();
  for (auto& v : *latencies) std::sort(v.begin(), v.end());
  return true;
}

int TreeLatency(const Options& o) {
  Table table;
  const size_t count = o.counts[0];
  const size_t levels = std::max<size_t>(1, o.levels);
  for (size_t round = 0; round < o.rounds; ++round) {
    std::vector<std::vector<double>> v;
    if (!TreeLatencyZinc(levels, o.size, count, &v)) {
      std::fprintf(stderr, "zinc_bench: tree-latency failed\n");
      return 1;
    }
    std::vector<LatencyStats> s;
    for (const auto& d : v) s.push_back(Stats(d));
    for (size_t d = 0; d < s.size(); ++d) {
      std::fprintf(stderr, "tree_latency depth %zu round=%zu: p50 %.0f p99 %.0f us\n", d + 1,
                   round + 1, s[d].p50, s[d].p99);
      const std::string depth = "depth" + std::to_string(d + 1);
      table.At("tree_latency", "zinc", o.size, count, depth + "_p50_us", "us")
          .samples.push_back(s[d].p50);
      table.At("tree_latency", "zinc", o.size, count, depth + "_p99_us", "us")
          .samples.push_back(s[d].p99);
    }
    const double per_p50 = (s.back().p50 - s.front().p50) / levels;
    const double per_p99 = (s.back().p99 - s.front().p99) / levels;
    std::fprintf(stderr, "tree_latency round=%zu: per level p50 %.0f p99 %.0f us\n", round + 1,
                 per_p50, per_p99);
    table.At("tree_latency", "zinc", o.size, count, "per_level_p50_us", "us")
        .samples.push_back(per_p50);
    table.At("tree_latency", "zinc", o.size, count, "per_level_p99_us", "us")
        .samples.push_back(per_p99);
  }
  table.Print(o.rounds);
  return 0;
}

// One-character inserts at the end of a text, from one client to another; edits/s received.
double TextZinc(size_t count, size_t window, size_t* lost) {
  auto server = Server::Spawn("serve-zinc");
  if (!server) return -1;
  auto writer = Join(*server);
  auto reader = Join(*server);
  if (!writer || !reader) return -1;
  bool standby_ok;
  auto standby = MaybeStandby(*server, *writer, &standby_ok);
  if (!standby_ok) return -1;
  zinc::DocumentHandle* out = OpenSynced(writer.get(), "text", "text");
  zinc::DocumentHandle* in = out ? OpenSynced(reader.get(), "text", "text") : nullptr;
  if (!in) return -1;
  std::atomic<size_t> received{0};
  std::atomic<int64_t> last{0};
  in->OnChange([&](const zinc::DocumentChange& c) {
    if (c.local || c.reset) return;
    last.store(NowNs(), std::memory_order_relaxed);
    received.fetch_add(1, std::memory_order_release);
  });
  const int64_t start = NowNs();
  for (size_t i = 0; i < count; ++i) {
    if ((i & 63) == 0 && out->pending() > window &&
        !out->WaitPendingAtMost(window / 2, std::chrono::seconds(60)).ok()) {
      return -1;
    }
    if (!out->Edit(zinc::EncodeTextOp(zinc::TextSplice(i, 0, "x"))).ok()) return -1;
  }
  size_t seen = 0;
  auto progress = SteadyClock::now();
  while (received.load() < count && SteadyClock::now() - progress < std::chrono::seconds(15)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (received.load() != seen) {
      seen = received.load();
      progress = SteadyClock::now();
    }
  }
  *lost = count - received.load();
  // Every edit must have landed, in order: the reader's text is count x's.
  bool same = false;
  in->Read([&](const zinc::Document& d) { same = d.Snapshot() == std::string(count, 'x'); });
  if (!same && *lost == 0) *lost = 1;
  reader->Stop();
  writer->Stop();
  return count / ((last.load() - start) / 1e9);
}

int Text(const Options& o) {
  Table table;
  const size_t count = o.counts[0];
  for (size_t round = 0; round < o.rounds; ++round) {
    size_t lost = 0;
    double rate = TextZinc(count, o.window, &lost);
    if (rate < 0) {
      std::fprintf(stderr, "zinc_bench: text failed\n");
      return 1;
    }
    std::fprintf(stderr, "text_edits zinc count=%zu round=%zu: %.0f edits/s, lost %zu\n", count,
                 round + 1, rate, lost);
    Figure& f = table.At("text_edits", "zinc", 1, count, "edits_rate", "edits/s");
    f.samples.push_back(rate);
    f.lost += lost;
  }
  table.Print(o.rounds);
  return 0;
}

std::vector<size_t> ParseCounts(const std::string& s) {
  std::vector<size_t> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) v.push_back(std::strtoull(item.c_str(), nullptr, 10));
  return v;
}

// One failover: the time from the root's SIGKILL to the first acknowledgement of an edit made
// after it, in ms; < 0 on failure.
double FailoverOnce() {
  auto root = Server::Spawn("serve-zinc");
  if (!root) return -1;
  auto standby = Server::Spawn("serve-relay", root->addresses()[0]);
  if (!standby) return -1;
  auto client = JoinAt(root->addresses()[0], /*relay=*/false);
  if (!client) return -1;
  zinc::DocumentHandle* doc = OpenSynced(client.get(), "failover", "log");
  if (!doc) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (client->roster().standby.is_nil()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "zinc_bench: failover: no standby named\n");
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::mutex mu;
  std::condition_variable cv;
  uint64_t first_after = UINT64_MAX;  // origin_seq of the first edit made after the kill
  int64_t acked_ns = 0;
  doc->OnAcknowledged([&](uint64_t origin_seq, uint64_t) {
    std::lock_guard<std::mutex> l(mu);
    if (acked_ns == 0 && origin_seq >= first_after) {
      acked_ns = NowNs();
      cv.notify_all();
    }
  });
  const std::string entry = zinc::examples::EncodeLogAppend("edit");
  uint64_t made = 0;
  auto edit = [&] {
    if (doc->Edit(entry).ok()) ++made;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  for (int i = 0; i < 200; ++i) edit();  // 0.2 s of editing with the root alive.
  const int64_t killed_ns = NowNs();
  root->Kill();
  {
    std::lock_guard<std::mutex> l(mu);
    first_after = made + 1;
  }
  double ms = -1;
  while (NowNs() - killed_ns < 10'000'000'000LL) {
    edit();
    std::lock_guard<std::mutex> l(mu);
    if (acked_ns != 0) {
      ms = (acked_ns - killed_ns) / 1e6;
      break;
    }
  }
  if (ms < 0) std::fprintf(stderr, "zinc_bench: failover: nothing acknowledged within 10 s\n");
  client->Stop();
  standby->Finish();
  root->Finish();
  return ms;
}

int Failover(const Options& o) {
  Table table;
  std::vector<double> ms;
  for (size_t run = 0; run < o.rounds; ++run) {
    const double t = FailoverOnce();
    if (t < 0) return 1;
    std::fprintf(stderr, "failover run=%zu: %.0f ms\n", run + 1, t);
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  table.At("failover", "zinc", 0, o.rounds, "failover_p50_ms", "ms")
      .samples.push_back(ms[(ms.size() - 1) / 2]);
  table.At("failover", "zinc", 0, o.rounds, "failover_max_ms", "ms").samples.push_back(ms.back());
  table.At("failover", "zinc", 0, o.rounds, "failover_min_ms", "ms").samples.push_back(ms.front());
  table.Print(o.rounds);
  return 0;
}

// CPU seconds (user + system) of process pid so far, and its resident set in kB.
double ProcessCpuSeconds(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
      2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long ProcessRssKb(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

std::string StoreDocName(size_t i) {
  char name[24];
  std::snprintf(name, sizeof(name), "doc%07zu", i);
  return name;
}

int StoreBench(const Options& o) {
  const size_t docs = o.counts[0];
  const size_t open = std::min(o.subs, docs);
  const double window_s = static_cast<double>(std::max<size_t>(1, o.window));
  char tmpl[] = "/var/tmp/zinc-bench-store-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::fprintf(stderr, "zinc_bench: mkdtemp: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string dir = std::string(tmpl) + "/data";
  // Written as a root would have: one sequenced map fragment per document.
  const auto written = std::chrono::steady_clock::now();
  {
    auto store = zinc::OpenLmdbStore(dir);
    if (!store.ok()) {
      std::fprintf(stderr, "zinc_bench: %s\n", store.status().ToString().c_str());
      return 1;
    }
    const zinc::EndpointId author = zinc::EndpointId::Random();
    const std::string value = "\"" + std::string(o.size, 'v') + "\"";
    zinc::WriteBatch b;
    for (size_t i = 0; i < docs; ++i) {
      const std::string name = StoreDocName(i);
      zinc::wire::Envelope e;
      e.set_version(zinc::kProtocolVersion);
      e.set_origin(std::string(author.bytes()));
      e.set_origin_seq(1);
      e.set_doc(name);
      e.set_seq(1);
      e.set_epoch(1);
      e.mutable_fragment()->set_type("map");
      e.mutable_fragment()->set_payload(
          zinc::EncodeMapOps({zinc::MapOp{zinc::MapOp::Kind::kSet, "v", value}}));
      b.Create(name, "map");
      b.Append(name, 1, zinc::EncodeEnvelope(e));
      if (b.bytes() >= (64u << 20) || b.size() >= 20000 || i + 1 == docs) {
        zinc::Status s = (*store)->Commit(b);
        if (!s.ok()) {
          std::fprintf(stderr, "zinc_bench: %s\n", s.ToString().c_str());
          return 1;
        }
        b.Clear();
      }
    }
  }
  struct stat st;
  const double store_mb = stat((dir + "/data.mdb").c_str(), &st) == 0 ? st.st_size / 1048576.0 : 0;
  std::fprintf(stderr, "store: %zu documents, %.0f MB written in %.1f s\n", docs, store_mb,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - written).count());
  if (getenv("ZINC_BENCH_DROP_CACHES")) {
    // A cold restart: the page cache forgets the store (root only; best effort).
    sync();
    if (FILE* f = std::fopen("/proc/sys/vm/drop_caches", "w")) {
      std::fputs("3\n", f);
      std::fclose(f);
    }
  }
  setenv("ZINC_BENCH_STORE", dir.c_str(), 1);
  const auto started = std::chrono::steady_clock::now();
  auto host = Server::Spawn("serve-zinc");
  unsetenv("ZINC_BENCH_STORE");
  if (!host) return 1;
  const double ready_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  auto client = Join(*host);
  if (!client) return 1;
  if (!OpenSynced(client.get(), StoreDocName(docs / 2), "map")) return 1;
  const double first_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  for (size_t i = 0; i < open; ++i) {
    if (!OpenSynced(client.get(), StoreDocName(i * docs / open), "map")) return 1;
  }
  // Idle: S documents open, nothing edited.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double cpu0 = ProcessCpuSeconds(host->pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
  const double cpu1 = ProcessCpuSeconds(host->pid());
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long rss_kb = ProcessRssKb(host->pid());
  client.reset();
  const long peak_kb = host->Finish();
  std::fprintf(stderr,
               "store_%zu: ready %.0f ms, first snapshot %.0f ms, idle cpu %.2f%%, rss %ld kB "
               "(peak %ld kB)\n",
               docs, ready_ms, first_ms, 100 * (cpu1 - cpu0) / elapsed, rss_kb, peak_kb);
  Table table;
  const std::string scenario = "store_" + std::to_string(docs);
  table.At(scenario, "zinc", o.size, docs, "store_mb", "MB").samples.push_back(store_mb);
  table.At(scenario, "zinc", o.size, docs, "restart_ready_ms", "ms").samples.push_back(ready_ms);
  table.At(scenario, "zinc", o.size, docs, "restart_first_snapshot_ms", "ms")
      .samples.push_back(first_ms);
  table.At(scenario, "zinc", o.size, docs, "idle_cpu_percent", "%")
      .samples.push_back(100 * (cpu1 - cpu0) / elapsed);
  table.At(scenario, "zinc", o.size, docs, "idle_rss_kb", "kB").samples.push_back(rss_kb);
  table.Print(1);
  std::string rm = std::string("rm -rf ") + tmpl;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: zinc_bench blast|rtt|fanout|text|tree-latency|failover|store [--size B] "
               "[--counts C1,C2,...|--count N] [--rounds R] [--subs S] [--window W] "
               "[--levels L]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  if (!SetUpBenchKeys()) return 1;
  const std::string cmd = argv[1];
  if (cmd == "serve-raw") return ServeRaw();
  if (cmd == "serve-zinc") return ServeZinc();
  if (cmd == "serve-relay" && argc == 3) return ServeZinc(argv[2]);
  Options o;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--size") {
      o.size = std::strtoull(v.c_str(), nullptr, 10);
    } else if (f == "--counts" || f == "--count") {
      o.counts = ParseCounts(v);
    } else if (f == "--rounds") {
      o.rounds = std::strtoull(v.c_str(), nullptr, 10);
    } else if (f == "--subs") {
      o.subs = std::strtoull(v.c_str(), nullptr, 10);
    } else if (f == "--only") {
      o.only = v;
    } else if (f == "--window") {
      o.window = std::strtoull(v.c_str(), nullptr, 10);
    } else if (f == "--levels") {
      o.levels = std::strtoull(v.c_str(), nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (o.counts.empty() || o.rounds == 0 || o.size < kStampBytes + 1 || o.subs == 0) return Usage();
  if (cmd == "blast") return Blast(o);
  if (cmd == "rtt") return Rtt(o);
  if (cmd == "fanout") return Fanout(o);
  if (cmd == "text") return Text(o);
  if (cmd == "tree-latency") return TreeLatency(o);
  if (cmd == "failover") return Failover(o);
  if (cmd == "store") return StoreBench(o);
  return Usage();
}

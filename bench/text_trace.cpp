// Text trace throughput, per trace of ../shared/traces/sequential:
//   (a) local: every patch applied to a local TextDocument (payloads encoded beforehand);
//   (b) replay: every patch sent as one fragment through a root host over tcp loopback and
//       acknowledged (as zincctl replay does), measured from the first patch to the last ack.
// Both check the final text against the trace's endContent.
//
//   text_trace [--local-rounds R] [--replay-rounds R] FILE.json.gz...
//
// One line per trace:
//   trace=NAME patches=N local_patches_per_s=X replay_patches_per_s=Y ok=1

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "documents/text_document.h"
#include "endpoints/endpoint.h"
#include "tools/trace.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Patches/s applying payloads to a local document; sets *ok if the text matches.
double Local(const std::vector<std::string>& payloads, const std::string& want, bool* ok) {
  zinc::TextDocument doc;
  const auto start = Clock::now();
  for (const std::string& p : payloads) {
    if (!doc.Apply(p).ok()) {
      *ok = false;
      return 0;
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  *ok = doc.Snapshot() == want;
  return payloads.size() / s;
}

// Patches/s through a host over tcp, every patch acknowledged.
double Replay(const std::vector<std::string>& payloads, const std::string& want, bool* ok) {
  *ok = false;
  zinc::EndpointOptions host_options;
  host_options.listen = "tcp://127.0.0.1:0";
  if (const char* t = std::getenv("ZINC_BENCH_THREADS"))
    host_options.handler_threads = std::atoi(t);
  auto host = zinc::Endpoint::Start(host_options);
  if (!host.ok()) return 0;
  zinc::EndpointOptions client_options;
  client_options.join = (*host)->listen_address();
  client_options.handler_threads = host_options.handler_threads;
  auto client = zinc::Endpoint::Start(client_options);
  if (!client.ok()) return 0;
  zinc::OpenOptions open;
  open.type = "text";
  zinc::DocumentHandle* doc = *(*client)->Open("trace", open);
  const auto timeout = std::chrono::seconds(300);
  if (!doc->WaitSynced(timeout).ok()) return 0;
  const auto start = Clock::now();
  size_t n = 0;
  for (const std::string& p : payloads) {
    if (!doc->Edit(p).ok()) return 0;
    if (++n % 256 == 0 && !doc->WaitPendingAtMost(4096, timeout).ok()) return 0;
  }
  if (!doc->WaitAcknowledged(timeout).ok()) return 0;
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  std::string text;
  doc->Read([&](const zinc::Document& d) { text = d.Snapshot(); });
  *ok = text == want && doc->seq() == payloads.size();
  return payloads.size() / s;
}

}  // namespace

int main(int argc, char** argv) {
  int local_rounds = 5, replay_rounds = 3;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--local-rounds" && i + 1 < argc) {
      local_rounds = std::atoi(argv[++i]);
    } else if (a == "--replay-rounds" && i + 1 < argc) {
      replay_rounds = std::atoi(argv[++i]);
    } else {
      files.push_back(a);
    }
  }
  int failures = 0;
  for (const std::string& file : files) {
    zinc::Result<zinc::Trace> trace = zinc::ReadTrace(file);
    if (!trace.ok()) {
      std::fprintf(stderr, "%s\n", trace.status().ToString().c_str());
      return 1;
    }
    std::vector<std::string> payloads;
    payloads.reserve(trace->patches.size());
    for (const zinc::TracePatch& p : trace->patches) {
      payloads.push_back(zinc::EncodeTextOp(zinc::TextSplice(p.pos, p.del, p.ins)));
    }
    bool ok = true, round_ok = true;
    std::vector<double> local, replay;
    for (int r = 0; r < local_rounds; ++r) {
      local.push_back(Local(payloads, trace->end_content, &round_ok));
      ok = ok && round_ok;
    }
    for (int r = 0; r < replay_rounds; ++r) {
      replay.push_back(Replay(payloads, trace->end_content, &round_ok));
      ok = ok && round_ok;
    }
    std::string name = std::filesystem::path(file).filename().string();
    name = name.substr(0, name.find(".json"));
    std::printf("trace=%s patches=%zu local_patches_per_s=%.0f replay_patches_per_s=%.0f ok=%d\n",
                name.c_str(), payloads.size(), Median(local), Median(replay), ok ? 1 : 0);
    std::fflush(stdout);
    failures += ok ? 0 : 1;
  }
  return failures == 0 ? 0 : 1;
}

// Text documents through a host over tcp: every real editing trace replays to its exact final
// text, and concurrent writers converge.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "documents/text_document.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"
#include "tools/trace.h"

namespace zinc {
namespace {

using testing::OpenText;
using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(120);

// ../shared/traces/sequential, set by CMake (ZINC_TRACES_DIR); may be overridden by the
// environment variable of the same name.
std::string TracesDir() {
  if (const char* env = std::getenv("ZINC_TRACES_DIR")) return env;
  return ZINC_TRACES_DIR;
}

std::vector<std::string> TraceFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(TracesDir(), ec)) {
    if (e.path().extension() == ".gz") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Text(DocumentHandle* doc) {
  std::string text;
  doc->Read([&](const Document& d) { text = d.Snapshot(); });
  return text;
}

// Sends every patch as one fragment, at most `window` unacknowledged.
void Replay(DocumentHandle* doc, const std::vector<TracePatch>& patches, size_t window) {
  size_t n = 0;
  for (const TracePatch& p : patches) {
    ASSERT_TRUE(doc->Edit(EncodeTextOp(TextSplice(p.pos, p.del, p.ins))).ok()) << n;
    if (++n % 256 == 0) {
      ASSERT_TRUE(doc->WaitPendingAtMost(window, kTimeout).ok());
    }
  }
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
}

class TraceReplayTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceReplayTest, ReplayThroughAHostEndsWithTheTracesFinalText) {
  Result<Trace> trace = ReadTrace(GetParam());
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  auto host = StartHost();
  auto writer = StartClient(*host);
  auto reader = StartClient(*host);
  DocumentHandle* doc = OpenText(writer.get(), "trace");
  DocumentHandle* watched = OpenText(reader.get(), "trace");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(watched->WaitSynced(kTimeout).ok());
  Replay(doc, trace->patches, 4096);
  OpenOptions existing;
  DocumentHandle* at_host = *host->Open("trace", existing);
  EXPECT_EQ(at_host->seq(), trace->patches.size());
  ASSERT_TRUE(WaitFor([&] { return watched->seq() == at_host->seq(); }, kTimeout));
  // Byte-identical everywhere (compared by digest to keep failure output short).
  const std::string want = Sha256::Hex(trace->end_content);
  EXPECT_EQ(Sha256::Hex(Text(doc)), want);
  EXPECT_EQ(Sha256::Hex(Text(at_host)), want);
  EXPECT_EQ(Sha256::Hex(Text(watched)), want);
}

INSTANTIATE_TEST_SUITE_P(SharedTraces, TraceReplayTest, ::testing::ValuesIn(TraceFiles()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name =
                               std::filesystem::path(param.param).stem().stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TraceReplayTest);

TEST(TextSyncTest, TracesAreThere) {
  if (TraceFiles().empty()) GTEST_SKIP() << "no traces in " << TracesDir();
  EXPECT_EQ(TraceFiles().size(), 8u);
}

// Six writers each replay a disjoint slice of a trace into one document at the same time
// (positions clamped to the writer's current text), so every fragment is concurrent with
// others': every replica, and a late joiner, must end identical. client_options: the writers'.
// slow_host: the host's application stalls now and then (its listener runs on the document's
// strand), so that acknowledgements come late.
void SixConcurrentWriters(const EndpointOptions& client_options, bool slow_host,
                          size_t max_patches) {
  std::vector<TracePatch> patches;
  const std::vector<std::string> files = TraceFiles();
  if (!files.empty()) {
    Result<Trace> trace = ReadTrace(files.back());  // sveltecomponent
    ASSERT_TRUE(trace.ok());
    patches = trace->patches;
  } else {
    std::mt19937 rng(5);  // No traces here: synthetic typing.
    for (int i = 0; i < 6000; ++i) {
      patches.push_back(TracePatch{rng() % 1000, rng() % 3 == 0 ? 1u : 0u, "abc\xC3\xA9"});
    }
  }
  patches.resize(std::min<size_t>(patches.size(), max_patches));
  constexpr int kWriters = 6;
  std::atomic<int> host_changes{0};  // Before the host: its listener counts here until it stops.
  auto host = StartHost();
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> docs;
  for (int i = 0; i < kWriters; ++i) {
    clients.push_back(StartClient(*host, client_options));
    docs.push_back(OpenText(clients.back().get(), "shared"));
    ASSERT_TRUE(docs.back()->WaitSynced(kTimeout).ok());
  }
  const size_t slice = patches.size() / kWriters;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (size_t i = w * slice; i < (w + 1) * slice; ++i) {
        const TracePatch& p = patches[i];
        // Clamp to the text as this writer sees it now (it lacks the others' slices), under
        // the document's lock: a remote delete may land at any moment.
        Status s = docs[w]->EditWith([&](const Document& d) -> Result<std::string> {
          const size_t len = static_cast<const TextDocument&>(d).text().size();
          const size_t pos = std::min<size_t>(p.pos, len);
          const size_t del = std::min<size_t>(p.del, len - pos);
          return EncodeTextOp(TextSplice(pos, del, del == 0 && p.ins.empty() ? "x" : p.ins));
        });
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (i % 16 == 0) {
          ASSERT_TRUE(docs[w]->WaitPendingAtMost(64, kTimeout).ok());
        }
      }
    });
  }
  // Join half way through.
  OpenOptions existing;
  DocumentHandle* at_host = *host->Open("shared", existing);
  if (slow_host) {
    at_host->OnChange([&](const DocumentChange&) {
      if (++host_changes % 400 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(60));
    });
  }
  // EXPECT, not ASSERT: the writers' threads must be joined whatever happens.
  EXPECT_TRUE(WaitFor([&] { return at_host->seq() > slice * kWriters / 2; }, kTimeout));
  auto late = StartClient(*host);
  DocumentHandle* late_doc = OpenText(late.get(), "shared");
  for (auto& t : writers) t.join();
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitAcknowledged(kTimeout).ok());
  const uint64_t head = at_host->seq();
  docs.push_back(late_doc);
  for (DocumentHandle* d : docs) {
    ASSERT_TRUE(WaitFor([&] { return d->seq() == head; }, kTimeout)) << d->seq() << " " << head;
  }
  EXPECT_EQ(head, slice * kWriters);  // Every edit sequenced exactly once.
  const std::string want = Text(at_host);
  clients.push_back(std::move(late));
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(Text(docs[i]), want)
        << "replica " << i << " (" << kWriters
        << " is the late joiner): " << clients[i]->counters().RenderPrometheus();
  }
}

TEST(TextSyncTest, SixConcurrentWritersAndALateJoinerConverge) {
  SixConcurrentWriters(EndpointOptions(), /*slow_host=*/false, /*max_patches=*/12000);
}

// The same with writers that take an edit for lost after a few milliseconds without its
// acknowledgement, and a host that answers late, so that writers resend edits whose originals
// are still on their way, over and over: the host must sequence each once, in the right
// context.
TEST(TextSyncTest, SixImpatientWritersConverge) {
  EndpointOptions impatient;
  impatient.retry = std::chrono::milliseconds(10);  // A stall after 40 ms: each host pause.
  // Fewer patches: resends multiply the work, and the test must also finish under TSan, which
  // slows it about tenfold and, beside the browser test on two cores, to over two minutes.
#if defined(__SANITIZE_THREAD__)
  constexpr size_t kPatches = 1500;
#else
  constexpr size_t kPatches = 4000;
#endif
  SixConcurrentWriters(impatient, /*slow_host=*/true, kPatches);
}

// The root host edits too, through its own handle, while clients do: its edits are sequenced
// the moment they are made, and the clients' are transformed past them.
void HostAndClientsEditing(bool relays, int n = 3, int edits = 400) {
  auto host = StartHost();
  DocumentHandle* at_host = OpenText(host.get(), "shared");
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> docs;
  for (int i = 0; i < n; ++i) {
    EndpointOptions o;
    o.handler_threads = 1;
    if (relays) o.listen = "tcp://127.0.0.1:*";
    clients.push_back(StartClient(*host, o));
    docs.push_back(OpenText(clients.back().get(), "shared"));
    ASSERT_TRUE(docs.back()->WaitSynced(kTimeout).ok());
  }
  std::vector<DocumentHandle*> writers_docs = docs;
  writers_docs.push_back(at_host);
  const int kEdits = edits;
  std::vector<std::thread> writers;
  for (size_t w = 0; w < writers_docs.size(); ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(static_cast<uint32_t>(w) + 11);
      for (int i = 0; i < kEdits; ++i) {
        Status s = writers_docs[w]->EditWith([&](const Document& d) -> Result<std::string> {
          const size_t len = static_cast<const TextDocument&>(d).text().size();
          const size_t pos = len == 0 ? 0 : rng() % (len + 1);
          const size_t del = pos < len && rng() % 4 == 0 ? 1 : 0;
          return EncodeTextOp(TextSplice(pos, del, std::string(1, static_cast<char>('!' + w))));
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  for (auto& t : writers) t.join();
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitAcknowledged(kTimeout).ok());
  const uint64_t head = at_host->seq();
  EXPECT_EQ(head, static_cast<uint64_t>(kEdits) * writers_docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    ASSERT_TRUE(WaitFor([&] { return docs[i]->seq() == head; }, kTimeout));
    EXPECT_EQ(Text(docs[i]), Text(at_host))
        << "replica " << i << ": " << clients[i]->counters().RenderPrometheus();
  }
}

TEST(TextSyncTest, HostAndClientsEditingAtOnceConverge) { HostAndClientsEditing(false); }
TEST(TextSyncTest, HostAndRelaysEditingAtOnceConverge) { HostAndClientsEditing(true); }
TEST(TextSyncTest, HostAndManyClientsEditingAtOnceConverge) {
  HostAndClientsEditing(false, 46, 25);
}

}  // namespace
}  // namespace zinc

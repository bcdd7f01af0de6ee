// zincctl: run a host or a client, edit and watch documents from a shell (JSON lines in and
// out). The commands, flags and output formats are a contract: extend them, never break them.
// docs/zincctl.md describes them.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/keys.h"
#include "core/sha256.h"
#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "endpoints/endpoint.h"
#include "examples/log/log_document.h"
#include "tools/trace.h"
#include <nlohmann/json.hpp>

namespace {

constexpr const char* kUsage = R"(usage:
  zincctl host   --listen ADDR [--data DIR] [--sync MODE] [--max-children N] [options]
  zincctl relay  --listen ADDR --join ADDR [--data DIR] [--sync MODE] [--max-children N]
                 [--priority N] [options]
  zincctl client --join ADDR --doc NAME --type TYPE [--acks FILE] [options]
                                                               (JSON edits on stdin)
  zincctl cat    --join ADDR --doc NAME [options]
  zincctl replay --join ADDR --doc NAME FILE.json.gz [--window N] [options]
  zincctl stat   --join ADDR [options]                          (the cluster's roster as JSON)
  zincctl dump   --data DIR [--doc NAME]        (a store read offline: what cat prints, per document)
  zincctl ls     --join ADDR [options]          (the host's documents, one JSON line each)
  zincctl rm     --join ADDR --doc NAME [options]   (deletes a document from the cluster)
  zincctl keygen NAME          (a CurveZMQ key pair: NAME.pub, and NAME.secret with mode 0600)

ADDR is tcp://HOST:PORT (PORT, PORT+1 and PORT+2 are used; PORT 0 picks free ports),
ipc://PATH or inproc://NAME. A --join ADDR may be any member's (the root or a relay): a
member without room redirects to the shallowest one with room. TYPE is map, text, canvas or log.

options:
  --timeout-ms N     how long to wait for the host (sync, acknowledgements); default 10000
  --max-children N   children a host or relay accepts before redirecting; default 0: no limit
  --name NAME        the name the roster and logs show
  --heartbeat-ms N   heartbeat and retry tick; default 100
  --heartbeat-misses N  heartbeats missed before a parent or child counts as dead; default 3
  --priority N       a relay's standby preference (the root's direct child with the highest
                     takes over if the root dies); default 1; 0: never the standby
  --data DIR         host, relay: keep the documents in DIR (created if need be); a root
                     restarted on it serves them again; a relay that takes over as the root
                     keeps them there from then on (docs/durability.md)
  --sync MODE        with --data: full (default; fsync before anything is published), normal
                     (a power loss can lose the newest edits) or off (docs/durability.md)
  --ack-after WHO    host, relay: root (default: an edit is acknowledged once the root has it
                     on disk, with --data) or standby (also on the standby's disk: semi-
                     synchronous; the root's own disk while no standby is named)
  --snapshot-fragments N, --snapshot-bytes N  with --data: a document's snapshot every N
                     fragments (10000) or N bytes of records (16 MiB), whichever comes first
  --retention-fragments N  with --data: records kept behind a snapshot for catch-up; 100000
  --history-fragments N  host, relay: sequenced fragments kept in memory per document for
                     catch-up and for transforming late text edits; default 100000 (with --data
                     the log behind covers what memory no longer holds)
  --unload-after-ms N  with --data: a document idle this long leaves memory (loaded again on
                     demand); default 30000
  --collect-interval-ms N  host, relay: how often the root collects what a document type lets
                     go (the canvas's old tombstones); default 5000; 0: never
  --max-document-bytes N  the largest state a document may grow to (edits past it are refused);
                     default 33554432 (32 MiB); 0: no limit
  --max-documents N  documents the root hosts in all (memory and store); default 100000
  --max-documents-per-key N  with keys: documents one key may create; default 10000
  --max-authors N    authors one document keeps in its dedup table; default 100000
  --max-fragments-per-second N  per origin (per key with keys); the excess is sent again
                     later; default 0 (no limit)
  --max-presence-bytes-per-second N  per author and document; default 65536
  --key FILE         this command's own CurveZMQ secret key (NAME.secret from keygen): every
                     channel is encrypted and authenticated (docs/security.md)
  --server-key K     with --key, joining: the public key of the member at --join (Z85, or a
                     NAME.pub file); the other members' keys come with the roster
  --authorized-keys FILE  host, relay with --key: who may connect and what each key may do
                     (`Z85KEY NAME RIGHT...`, RIGHT read:GLOB, write:GLOB or member); read again
                     on SIGHUP
  --insecure         host, relay: listen on an address the network reaches although there are
                     no keys (anyone reaching it can read and write every document); without
                     it only loopback, ipc:// and inproc:// are allowed (docs/security.md)
  --acks FILE        client: append "ORIGIN_SEQ SEQ" to FILE for every edit acknowledged
  --subscribe-rcvbuf BYTES  kernel receive buffer of the socket that receives from the parent;
                     default 0: the OS's (autotuned)
  --threads N        handler threads; default 0: half the hardware threads, at least 1
  --log-level L      debug, info, warn (default), error or off

exit status: 0 ok; 1 error (bad arguments, host unreachable, unknown document);
2 some input lines were bad (the others went through); 3 the host refused some edits (a key
without the right to write the document, among others).
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
};

bool ParseArgs(int argc, char** argv, Args* args, std::string* error) {
  if (argc < 2) {
    *error = "missing command";
    return false;
  }
  args->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      args->positional.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    if (a == "--insecure") {
      args->flags["insecure"] = "1";  // a switch: takes no value
    } else if (eq != std::string::npos) {
      args->flags[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      args->flags[a.substr(2)] = argv[++i];
    } else {
      *error = "flag " + a + " needs a value";
      return false;
    }
  }
  return true;
}

int Fail(const std::string& message) {
  std::cerr << "zincctl: " << message << "\n";
  return 1;
}

bool IntFlag(const Args& args, const std::string& name, long def, long min, long max, long* out,
             std::string* error) {
  auto it = args.flags.find(name);
  if (it == args.flags.end()) {
    *out = def;
    return true;
  }
  char* end = nullptr;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < min || v > max) {
    *error = "--" + name + " must be an integer from " + std::to_string(min) + " to " +
             std::to_string(max);
    return false;
  }
  *out = v;
  return true;
}

std::string Flag(const Args& args, const std::string& name) {
  auto it = args.flags.find(name);
  return it == args.flags.end() ? "" : it->second;
}

// Blocks SIGINT and SIGTERM in every thread (call before starting any), so that the main thread
// can wait for them with sigwait.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Serves until SIGINT or SIGTERM; on SIGHUP, a host with keys reads its authorized-keys file
// again (a bad file keeps the keys in force, and says why).
void ServeUntilStopped(zinc::Endpoint* endpoint, const sigset_t& signals) {
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) return;
    zinc::Status s = endpoint->ReloadAuthorizedKeys();
    if (!s.ok()) std::cerr << "zincctl: SIGHUP: " << s.message() << std::endl;
  }
}

class Tool {
 public:
  int Run(const Args& args) {
    static const std::map<std::string, std::vector<std::string>> kAllowed = {
        {"host",
         {"listen",
          "insecure",
          "key",
          "authorized-keys",
          "data",
          "sync",
          "ack-after",
          "snapshot-fragments",
          "snapshot-bytes",
          "retention-fragments",
          "history-fragments",
          "unload-after-ms",
          "collect-interval-ms",
          "max-document-bytes",
          "max-documents",
          "max-documents-per-key",
          "max-authors",
          "max-fragments-per-second",
          "max-presence-bytes-per-second",
          "max-children",
          "name",
          "timeout-ms",
          "heartbeat-ms",
          "heartbeat-misses",
          "threads",
          "log-level"}},
        {"relay",
         {"listen",
          "join",
          "key",
          "server-key",
          "authorized-keys",
          "data",
          "sync",
          "ack-after",
          "snapshot-fragments",
          "snapshot-bytes",
          "retention-fragments",
          "history-fragments",
          "unload-after-ms",
          "collect-interval-ms",
          "max-document-bytes",
          "max-documents",
          "max-documents-per-key",
          "max-authors",
          "max-fragments-per-second",
          "max-presence-bytes-per-second",
          "max-children",
          "priority",
          "subscribe-rcvbuf",
          "name",
          "timeout-ms",
          "heartbeat-ms",
          "heartbeat-misses",
          "threads",
          "log-level"}},
        {"client",
         {"join", "key", "server-key", "doc", "type", "acks", "subscribe-rcvbuf", "name",
          "timeout-ms", "heartbeat-ms", "heartbeat-misses", "threads", "log-level"}},
        {"cat",
         {"join", "key", "server-key", "doc", "name", "timeout-ms", "heartbeat-ms",
          "heartbeat-misses", "threads", "log-level"}},
        {"replay",
         {"join", "key", "server-key", "doc", "window", "name", "timeout-ms", "heartbeat-ms",
          "heartbeat-misses", "threads", "log-level"}},
        {"stat", {"join", "key", "server-key", "timeout-ms", "log-level"}},
        {"dump", {"data", "doc", "log-level"}},
        {"ls", {"join", "key", "server-key", "timeout-ms", "log-level"}},
        {"rm", {"join", "key", "server-key", "doc", "timeout-ms", "log-level"}},
        {"keygen", {"log-level"}},
    };
    auto allowed = kAllowed.find(args.command);
    if (allowed == kAllowed.end()) return Fail("unknown command '" + args.command + "'\n" + kUsage);
    for (const auto& [name, value] : args.flags) {
      bool ok = false;
      for (const std::string& a : allowed->second) ok = ok || a == name;
      if (!ok) return Fail("unknown option --" + name + " for " + args.command);
    }
    std::string error;
    long heartbeat_ms, heartbeat_misses, threads, max_children, priority, rcvbuf;
    long snapshot_fragments, snapshot_bytes, retention, history, unload_after_ms, collect_ms;
    long max_document_bytes, max_documents, max_documents_per_key, max_authors;
    long max_fragments_per_second, max_presence_rate;
    if (!IntFlag(args, "timeout-ms", 10000, 1, 86400000, &timeout_ms_, &error) ||
        !IntFlag(args, "heartbeat-ms", 100, 1, 60000, &heartbeat_ms, &error) ||
        !IntFlag(args, "heartbeat-misses", 3, 1, 1000, &heartbeat_misses, &error) ||
        !IntFlag(args, "threads", 0, 0, 256, &threads, &error) ||
        !IntFlag(args, "max-children", 0, 0, 1000000, &max_children, &error) ||
        !IntFlag(args, "priority", 1, 0, 1000000, &priority, &error) ||
        !IntFlag(args, "subscribe-rcvbuf", 0, 0, 1 << 30, &rcvbuf, &error) ||
        !IntFlag(args, "snapshot-fragments", 10000, 1, 1L << 40, &snapshot_fragments, &error) ||
        !IntFlag(args, "snapshot-bytes", 16L << 20, 1, 1L << 40, &snapshot_bytes, &error) ||
        !IntFlag(args, "retention-fragments", 100000, 0, 1L << 40, &retention, &error) ||
        !IntFlag(args, "history-fragments", 100000, 1, 1L << 40, &history, &error) ||
        !IntFlag(args, "unload-after-ms", 30000, 1, 1L << 40, &unload_after_ms, &error) ||
        !IntFlag(args, "collect-interval-ms", 5000, 0, 1L << 40, &collect_ms, &error) ||
        !IntFlag(args, "max-document-bytes", 32L << 20, 0, 1L << 40, &max_document_bytes, &error) ||
        !IntFlag(args, "max-documents", 100000, 1, 1L << 40, &max_documents, &error) ||
        !IntFlag(args, "max-documents-per-key", 10000, 1, 1L << 40, &max_documents_per_key,
                 &error) ||
        !IntFlag(args, "max-authors", 100000, 1, 1L << 40, &max_authors, &error) ||
        !IntFlag(args, "max-fragments-per-second", 0, 0, 1L << 40, &max_fragments_per_second,
                 &error) ||
        !IntFlag(args, "max-presence-bytes-per-second", 64L << 10, 1, 1L << 40, &max_presence_rate,
                 &error)) {
      return Fail(error);
    }
    types_.Register(std::make_unique<zinc::MapType>()).ok();
    types_.Register(std::make_unique<zinc::TextType>()).ok();
    types_.Register(std::make_unique<zinc::CanvasType>()).ok();
    types_.Register(std::make_unique<zinc::examples::LogType>()).ok();
    options_.types = &types_;
    options_.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    options_.heartbeat_misses = static_cast<int>(heartbeat_misses);
    options_.retry = std::chrono::milliseconds(std::max(5 * heartbeat_ms, 50L));
    options_.handler_threads = static_cast<size_t>(threads);
    options_.log_level = zinc::ParseLogLevel(Flag(args, "log-level"));
    options_.max_children = static_cast<size_t>(max_children);
    options_.priority = static_cast<uint32_t>(priority);
    options_.subscribe_rcvbuf = static_cast<int>(rcvbuf);
    options_.name = Flag(args, "name");
    options_.max_documents = static_cast<size_t>(max_documents);
    options_.max_documents_per_key = static_cast<size_t>(max_documents_per_key);
    options_.max_authors_per_document = static_cast<size_t>(max_authors);
    options_.max_fragments_per_second = static_cast<double>(max_fragments_per_second);
    options_.max_presence_bytes_per_second = static_cast<double>(max_presence_rate);
    options_.insecure = args.flags.count("insecure") > 0;
    options_.data_dir = Flag(args, "data");
    options_.snapshot_fragments = static_cast<size_t>(snapshot_fragments);
    options_.snapshot_bytes = static_cast<size_t>(snapshot_bytes);
    options_.retention_fragments = static_cast<size_t>(retention);
    options_.history_fragments = static_cast<size_t>(history);
    options_.unload_after = std::chrono::milliseconds(unload_after_ms);
    options_.collect_interval = std::chrono::milliseconds(collect_ms);
    options_.max_document_bytes = static_cast<size_t>(max_document_bytes);
    if (args.flags.count("sync")) {
      if (options_.data_dir.empty()) return Fail("--sync needs --data DIR");
      zinc::Result<zinc::SyncMode> sync = zinc::ParseSyncMode(Flag(args, "sync"));
      if (!sync.ok()) return Fail(sync.status().message());
      options_.sync = *sync;
    }
    if (args.flags.count("ack-after")) {
      const std::string a = Flag(args, "ack-after");
      if (a == "standby") {
        options_.ack_after = zinc::EndpointOptions::AckAfter::kStandby;
      } else if (a != "root") {
        return Fail("--ack-after must be root or standby, not '" + a + "'");
      }
    }
    if (args.flags.count("key")) {
      zinc::Result<std::string> secret = zinc::ReadKeyFile(Flag(args, "key"));
      if (!secret.ok()) return Fail("--key: " + secret.status().message());
      options_.secret_key = *secret;
      zinc::Result<std::string> pub = zinc::CurvePublicKey(*secret);
      if (!pub.ok()) return Fail("--key: " + pub.status().message());
      keys_.public_key = *pub;
      keys_.secret_key = *secret;
    }
    if (args.flags.count("server-key")) {
      if (!args.flags.count("key")) return Fail("--server-key needs --key NAME.secret");
      zinc::Result<std::string> server = zinc::KeyFromArgument(Flag(args, "server-key"));
      if (!server.ok()) return Fail("--server-key: " + server.status().message());
      options_.server_key = *server;
      keys_.server_key = *server;
    }
    options_.authorized_keys = Flag(args, "authorized-keys");
    const bool named = args.command == "replay" || args.command == "keygen";
    const size_t want_positional = named ? 1 : 0;
    if (args.positional.size() != want_positional) {
      return Fail(args.positional.size() > want_positional
                      ? "unexpected argument '" + args.positional.back() + "'"
                  : args.command == "replay" ? "replay needs a trace file"
                                             : "keygen needs a NAME (it writes NAME.pub and "
                                               "NAME.secret)");
    }
    if (args.command == "host") return Host(args);
    if (args.command == "relay") return Relay(args);
    if (args.command == "stat") return Stat(args);
    if (args.command == "dump") return Dump(args);
    if (args.command == "keygen") return Keygen(args.positional[0]);
    if (args.command == "ls") return List(args);
    if (args.command == "rm") return Remove(args);
    if (args.command == "client") return Client(args);
    if (args.command == "replay") return Replay(args);
    return Cat(args);
  }

 private:
  int Host(const Args& args) {
    options_.listen = Flag(args, "listen");
    if (options_.listen.empty()) return Fail("host needs --listen ADDR");
    sigset_t stop = BlockStopSignals();
    auto endpoint = zinc::Endpoint::Start(options_);
    if (!endpoint.ok())
      return Fail("cannot host on " + options_.listen + ": " + endpoint.status().ToString());
    std::cout << "{\"listen\":\"" << (*endpoint)->listen_address() << "\",\"id\":\""
              << (*endpoint)->id().ToString() << "\"}" << std::endl;
    ServeUntilStopped(endpoint->get(), stop);
    (*endpoint)->Stop();
    return 0;
  }

  int Relay(const Args& args) {
    options_.listen = Flag(args, "listen");
    options_.join = Flag(args, "join");
    if (options_.listen.empty() || options_.join.empty()) {
      return Fail("relay needs --listen ADDR and --join ADDR");
    }
    sigset_t stop = BlockStopSignals();
    auto endpoint = zinc::Endpoint::Start(options_);
    if (!endpoint.ok()) {
      return Fail("cannot relay on " + options_.listen + ": " + endpoint.status().ToString());
    }
    zinc::Status joined = (*endpoint)->WaitJoined(std::chrono::milliseconds(timeout_ms_));
    if (!joined.ok()) {
      (*endpoint)->Stop();
      return Fail(joined.message());
    }
    const zinc::TreePosition at = (*endpoint)->position();
    std::cout << "{\"listen\":\"" << (*endpoint)->listen_address() << "\",\"id\":\""
              << (*endpoint)->id().ToString() << "\",\"parent\":\"" << at.parent
              << "\",\"depth\":" << at.depth << "}" << std::endl;
    ServeUntilStopped(endpoint->get(), stop);
    (*endpoint)->Stop();
    return 0;
  }

  int Stat(const Args& args) {
    const std::string join = Flag(args, "join");
    if (join.empty()) return Fail("stat needs --join ADDR");
    zinc::Result<zinc::RosterInfo> roster =
        zinc::FetchRoster(join, std::chrono::milliseconds(timeout_ms_), zinc::CodecLimits(), keys_);
    if (!roster.ok()) return Unreachable(join, roster.status());
    std::cout << zinc::RosterToJson(*roster) << std::endl;
    return 0;
  }

  // One JSON line per document of the host at --join.
  int List(const Args& args) {
    const std::string join = Flag(args, "join");
    if (join.empty()) return Fail("ls needs --join ADDR");
    zinc::Result<std::vector<zinc::DocumentInfo>> docs =
        zinc::ListDocuments(join, std::chrono::milliseconds(timeout_ms_), keys_);
    if (!docs.ok()) return Unreachable(join, docs.status());
    for (const zinc::DocumentInfo& d : *docs) {
      nlohmann::ordered_json line = {{"name", d.name}, {"type", d.type},
                                     {"seq", d.seq},   {"bytes", d.bytes},
                                     {"open", d.open}, {"in_memory", d.in_memory}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    std::cout << std::flush;
    return 0;
  }

  // Deletes --doc through the root the roster of --join names.
  int Remove(const Args& args) {
    const std::string join = Flag(args, "join");
    const std::string name = Flag(args, "doc");
    if (join.empty() || name.empty()) return Fail("rm needs --join ADDR and --doc NAME");
    const auto timeout = std::chrono::milliseconds(timeout_ms_);
    zinc::Result<zinc::RosterInfo> roster =
        zinc::FetchRoster(join, timeout, zinc::CodecLimits(), keys_);
    if (!roster.ok()) return Unreachable(join, roster.status());
    std::string root;
    zinc::ClientKeys root_keys = keys_;
    for (const zinc::MemberInfo& m : roster->members) {
      if (m.id == roster->root) {
        root = m.listen;
        root_keys.server_key = m.public_key;
      }
    }
    if (root.empty()) return Fail("member " + join + " knows no root yet");
    zinc::Result<uint64_t> seq = zinc::DeleteDocument(root, name, timeout, root_keys);
    if (!seq.ok()) return Unreachable(root, seq.status());
    nlohmann::ordered_json line = {{"name", name}, {"deleted", true}, {"seq", *seq}};
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return 0;
  }

  int Unreachable(const std::string& address, const zinc::Status& s) {
    if (s.code() == zinc::StatusCode::kTimeout) {
      return Fail("member " + address + " unreachable: no reply within " +
                  std::to_string(timeout_ms_) + " ms");
    }
    return Fail(s.message());
  }

  // Reads a store offline: with --doc, what cat prints; else one line per document, with its
  // name first.
  // Writes NAME.pub and NAME.secret (mode 0600), never replacing either; prints the public key
  // and the two paths as one JSON line.
  int Keygen(const std::string& name) {
    zinc::Result<zinc::CurveKeyPair> pair = zinc::GenerateCurveKeyPair();
    if (!pair.ok()) return Fail(pair.status().message());
    zinc::Status s = zinc::WriteKeyFiles(name, *pair);
    if (!s.ok()) return Fail(s.message());
    nlohmann::ordered_json line = {
        {"public", pair->public_key}, {"pub", name + ".pub"}, {"secret", name + ".secret"}};
    std::cout << line.dump() << "\n";
    return 0;
  }

  int Dump(const Args& args) {
    const std::string only = Flag(args, "doc");
    if (options_.data_dir.empty()) return Fail("dump needs --data DIR");
    zinc::Status s = zinc::ReadStore(
        options_.data_dir, types_, only, [&](const std::string& name, const std::string& json) {
          if (only.empty()) {
            std::cout << "{\"name\":"
                      << nlohmann::json(name).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
                      << "," << json.substr(1) << "\n";
          } else {
            std::cout << json << "\n";
          }
        });
    std::cout << std::flush;
    return s.ok() ? 0 : Fail(s.message());
  }

  // Joins and opens the document; prints the reason and returns false on failure.
  bool Join(const Args& args, const std::string& type, bool create,
            std::unique_ptr<zinc::Endpoint>* endpoint, zinc::DocumentHandle** doc) {
    options_.join = Flag(args, "join");
    const std::string name = Flag(args, "doc");
    if (options_.join.empty() || name.empty()) {
      Fail(args.command + " needs --join ADDR and --doc NAME");
      return false;
    }
    auto started = zinc::Endpoint::Start(options_);
    if (!started.ok()) {
      Fail("cannot join " + options_.join + ": " + started.status().ToString());
      return false;
    }
    *endpoint = std::move(started).value();
    zinc::OpenOptions open;
    open.type = type;
    open.create = create;
    auto opened = (*endpoint)->Open(name, open);
    if (!opened.ok()) {
      Fail(opened.status().message());
      return false;
    }
    *doc = *opened;
    // A member that refuses this key says so (kPermissionDenied) rather than the document
    // never syncing. A replica synced from its own store (--data) need not wait for a parent.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    while (std::chrono::steady_clock::now() < deadline) {
      zinc::Status joined = (*endpoint)->WaitJoined(std::chrono::milliseconds(50));
      if (joined.ok() || (*doc)->WaitSynced(std::chrono::milliseconds(0)).ok()) break;
      if (joined.code() == zinc::StatusCode::kPermissionDenied) {
        Fail(joined.message());
        return false;
      }
    }
    return true;
  }

  int Client(const Args& args) {
    const std::string type = Flag(args, "type");
    if (type.empty()) return Fail("client needs --type TYPE (map, text, canvas or log)");
    if (!types_.Find(type)) return Fail("unknown document type '" + type + "'");
    std::unique_ptr<zinc::Endpoint> endpoint;
    zinc::DocumentHandle* doc = nullptr;
    if (!Join(args, type, /*create=*/true, &endpoint, &doc)) return 1;
    const zinc::DocumentType* doc_type = types_.Find(type);
    const std::string self = endpoint->id().ToString();
    std::mutex out_mu;
    doc->OnChange([&, doc_type](const zinc::DocumentChange& c) {
      std::string line;
      if (c.reset) {
        line =
            "{\"seq\":" + std::to_string(c.seq) + ",\"reset\":true,\"doc\":" + doc->ToJson() + "}";
      } else {
        line = "{\"seq\":" + std::to_string(c.seq) + ",\"origin\":\"" +
               (c.local ? self : c.origin.ToString()) +
               "\",\"local\":" + (c.local ? "true" : "false") +
               ",\"op\":" + doc_type->FragmentToJson(c.payload) + "}";
      }
      std::lock_guard<std::mutex> l(out_mu);
      std::cout << line << "\n" << std::flush;
    });
    std::ofstream acks;
    if (!Flag(args, "acks").empty()) {
      acks.open(Flag(args, "acks"), std::ios::app);
      if (!acks) return Fail("cannot open " + Flag(args, "acks"));
      doc->OnAcknowledged([&](uint64_t origin_seq, uint64_t seq) {
        std::lock_guard<std::mutex> l(out_mu);
        acks << origin_seq << " " << seq << "\n" << std::flush;
      });
    }
    const auto timeout = std::chrono::milliseconds(timeout_ms_);
    zinc::Status synced = doc->WaitSynced(timeout);
    if (!synced.ok()) {
      if (synced.code() == zinc::StatusCode::kTimeout) {
        return Fail("host " + options_.join + " unreachable: no reply within " +
                    std::to_string(timeout_ms_) + " ms");
      }
      return Fail(synced.message());
    }
    int bad_lines = 0;
    std::string line;
    for (long number = 1; std::getline(std::cin, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      zinc::Status s = doc->EditJson(line);
      if (!s.ok()) {
        ++bad_lines;
        std::cerr << "zincctl: line " << number << ": " << s.message() << " (skipped)\n";
      }
    }
    zinc::Status acked = doc->WaitAcknowledged(timeout);
    endpoint->Stop();  // No more callbacks after this.
    if (!acked.ok()) {
      // What the endpoint went through, for whoever reads the error.
      std::cerr << endpoint->counters().RenderPrometheus();
      return Fail(acked.message());
    }
    std::cout << "{\"final\":" << doc->ToJson() << "}" << std::endl;
    if (endpoint->counters().Value("zinc_edits_refused_total") > 0) {
      std::cerr << "zincctl: the host refused "
                << endpoint->counters().Value("zinc_edits_refused_total") << " edits\n";
      return 3;
    }
    return bad_lines > 0 ? 2 : 0;
  }

  int Cat(const Args& args) {
    std::unique_ptr<zinc::Endpoint> endpoint;
    zinc::DocumentHandle* doc = nullptr;
    if (!Join(args, "", /*create=*/false, &endpoint, &doc)) return 1;
    zinc::Status synced = doc->WaitSynced(std::chrono::milliseconds(timeout_ms_));
    if (!synced.ok()) {
      if (synced.code() == zinc::StatusCode::kTimeout) {
        return Fail("host " + options_.join + " unreachable: no reply within " +
                    std::to_string(timeout_ms_) + " ms");
      }
      return Fail(synced.message());
    }
    endpoint->Stop();
    std::cout << doc->ToJson() << std::endl;
    return 0;
  }

  // Replays an editing trace: each patch one fragment, pipelined with at most --window
  // unacknowledged, then waits for every acknowledgement and prints one line.
  int Replay(const Args& args) {
    std::string error;
    long window;
    if (!IntFlag(args, "window", 4096, 1, 10000000, &window, &error)) return Fail(error);
    zinc::Result<zinc::Trace> trace = zinc::ReadTrace(args.positional[0]);
    if (!trace.ok()) return Fail(trace.status().message());
    std::unique_ptr<zinc::Endpoint> endpoint;
    zinc::DocumentHandle* doc = nullptr;
    if (!Join(args, "text", /*create=*/true, &endpoint, &doc)) return 1;
    const auto timeout = std::chrono::milliseconds(timeout_ms_);
    zinc::Status synced = doc->WaitSynced(timeout);
    if (!synced.ok()) {
      return Fail(synced.code() == zinc::StatusCode::kTimeout
                      ? "host " + options_.join + " unreachable: no reply within " +
                            std::to_string(timeout_ms_) + " ms"
                      : synced.message());
    }
    size_t length = 0;
    doc->Read([&](const zinc::Document& d) {
      length = static_cast<const zinc::TextDocument&>(d).text().size();
    });
    if (length != 0) return Fail("document '" + Flag(args, "doc") + "' is not empty");
    const auto start = std::chrono::steady_clock::now();
    size_t sent = 0;
    for (const zinc::TracePatch& p : trace->patches) {
      zinc::Status s = doc->Edit(zinc::EncodeTextOp(zinc::TextSplice(p.pos, p.del, p.ins)));
      if (!s.ok()) return Fail("patch " + std::to_string(sent + 1) + ": " + s.message());
      if (++sent % 256 == 0) {
        zinc::Status room = doc->WaitPendingAtMost(static_cast<size_t>(window), timeout);
        if (!room.ok()) return Fail(room.message());
      }
    }
    zinc::Status acked = doc->WaitAcknowledged(timeout);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    endpoint->Stop();
    if (!acked.ok()) return Fail(acked.message());
    std::string text;
    doc->Read([&](const zinc::Document& d) {
      const auto& t = static_cast<const zinc::TextDocument&>(d);
      text = t.text().ToString();
      length = t.text().size();
    });
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.3f", seconds);
    std::cout << "{\"patches\":" << sent << ",\"seconds\":" << secs << ",\"length\":" << length
              << ",\"sha256\":\"" << zinc::Sha256::Hex(text) << "\"}" << std::endl;
    return 0;
  }

  zinc::TypeRegistry types_;
  zinc::EndpointOptions options_;
  // --key and --server-key, for the commands that ask a member without an endpoint (stat, ls).
  zinc::ClientKeys keys_;
  long timeout_ms_ = 10000;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::string error;
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!ParseArgs(argc, argv, &args, &error)) {
    std::cerr << "zincctl: " << error << "\n" << kUsage;
    return 1;
  }
  Tool tool;
  return tool.Run(args);
}

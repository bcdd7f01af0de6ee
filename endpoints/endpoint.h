#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/codec.h"
#include "core/counters.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/status.h"
#include "documents/document.h"
#include "documents/type_registry.h"
#include "endpoints/roster.h"
#include "store/store.h"

namespace zinc {

class ChannelContext;

struct EndpointOptions {
  // Base address to host on (binds PUB, PULL and ROUTER; see endpoints/address.h). Port 0 or
  // "*" picks three consecutive free ports. Empty: do not host.
  std::string listen;
  // Protected mode (as Redis's): without keys a host refuses to listen on an address the
  // network reaches (anything but loopback, ipc:// and inproc://: IsLoopbackAddress), since
  // anyone who reaches its ports can read and write every document (docs/security.md). true
  // listens anyway: a network only trusted peers reach. Default: false.
  bool insecure = false;
  // Keys (docs/security.md). This endpoint's CurveZMQ secret key (Z85; zincctl keygen makes
  // one): every channel it opens is then encrypted and authenticated, its id is bound to the
  // key, and it connects only to members whose keys it knows. Empty: plain.
  std::string secret_key;
  // With secret_key and join: the public key (Z85) of the member at join; the others' keys come
  // with the roster and the join replies.
  std::string server_key;
  // With secret_key and listen: the authorized-keys file (docs/security.md): who may connect,
  // and what each key may read, write, and whether it is a member. Required for a host with
  // keys; read again by Endpoint::ReloadAuthorizedKeys (zincctl: SIGHUP).
  std::string authorized_keys;
  // Base address of any member of the cluster to join (the root or a relay). The member accepts
  // it as a child if it has room, or redirects it to the shallowest member with room, and so on
  // (docs/trees.md); the endpoint then connects SUB, PUSH and DEALER to its parent. Empty: this
  // endpoint is the root host and sequences every document it hosts. With both listen and join
  // set, the endpoint is a relay: it forwards its children's fragments up and the parent's down,
  // and serves snapshots and catch-up to its children from its own replicas.
  std::string join;
  // Children this endpoint accepts when it hosts; the others are redirected. 0: no limit.
  // Default: 0.
  size_t max_children = 0;
  // Worker threads of the HandlerPool; 0 picks half the hardware threads, at least 1 (on two
  // cores one worker beats two: fewer hand-offs between threads that share the cores).
  // Default: 0.
  size_t handler_threads = 0;
  // Messages the HandlerPool queues before the I/O thread stops reading. Default: 65536.
  size_t max_queued_messages = 65536;
  // High-water marks of the PUB socket (per subscriber) and of the SUB socket, in frames; a
  // frame is one fragment or a batch of them (up to ChannelListener::kBatchBytes, 128 KiB), so
  // under load 1000 frames hold tens of thousands of fragments. A subscriber that falls further
  // behind loses frames at the PUB and catches up from the host's history. Default: 1000
  // (ZeroMQ's own).
  int publish_hwm = 1000;
  int subscribe_hwm = 1000;
  // Kernel receive buffer of the SUB socket; 0: the OS default. Tests shrink it to force drops.
  int subscribe_rcvbuf = 0;
  // Bounds on every envelope received.
  CodecLimits limits;
  // Interval of heartbeats, retries and head notices. Default: 100 ms.
  std::chrono::milliseconds heartbeat{100};
  // A parent that misses this many heartbeats in a row of a child drops it; a child that hears
  // nothing from its parent for as long takes it for dead and joins again (its parent's parent,
  // or its join address). Default: 3.
  int heartbeat_misses = 3;
  // Standby preference of a relay: the root picks, among its direct children that host, the one
  // of the highest priority (then the lowest id) as its standby, which takes over if the root
  // dies (docs/failover.md). Give relays in the root's site a higher one. 0: never the standby.
  // Default: 1.
  uint32_t priority = 1;
  // A request (snapshot, catch-up) or an unacknowledged edit is sent again after this long.
  // Default: 500 ms.
  std::chrono::milliseconds retry{500};
  // Sequenced fragments a host keeps per document for catch-up. Default: 100000.
  size_t history_fragments = 100000;
  // ... and at most this many bytes of them (encoded), so that a host's memory stays bounded
  // whatever the fragment size; a client further behind resyncs from a snapshot. Default: 32 MiB.
  size_t history_bytes = 32 << 20;
  // Fragments a client buffers while it syncs or waits for a catch-up, and their bytes
  // (encoded); past either it resyncs from a fresh snapshot. Default: 100000 and 64 MiB.
  size_t max_buffered_fragments = 100000;
  size_t max_buffered_bytes = 64 << 20;
  // Document types; nullptr: the built-in types. Must outlive the Endpoint.
  const TypeRegistry* types = nullptr;
  // Time source; nullptr: SystemClock. Must outlive the Endpoint.
  const Clock* clock = nullptr;
  // The ZeroMQ context the sockets are made in; nullptr: the Endpoint makes its own. Several
  // Endpoints of one process should share one (one I/O thread for all their sockets; inproc://
  // addresses connect only within a context). Must outlive the Endpoint.
  ChannelContext* context = nullptr;
  // Durable documents (docs/durability.md): a root given a data directory keeps every
  // document it sequences there (LMDB), publishes nothing before it is on disk, and serves
  // them again when restarted on it. Empty: in memory only. A standby keeps its documents in
  // its own directory from the moment it takes over.
  std::string data_dir;
  // What a commit waits for: SyncMode in store/store.h. Default: full (fsync).
  SyncMode sync = SyncMode::kFull;
  // What acknowledges an edit (docs/durability.md). kRoot: the root's commit (its disk, with a
  // store). kStandby: the standby's too (semi-synchronous replication): the root publishes as
  // before, and its authors count an edit acknowledged once the standby reports it on its disk
  // (wire::Durable), so that nothing acknowledged is lost even when the root's machine never
  // comes back. While the roster names no standby, the root's commit acknowledges. Set it on
  // the root and on the relays that may take over. Default: kRoot.
  enum class AckAfter { kRoot, kStandby };
  AckAfter ack_after = AckAfter::kRoot;
  // With a store: a document's snapshot is written every snapshot_fragments fragments or
  // snapshot_bytes bytes of records, whichever comes first, and the log behind it is compacted
  // down to the newest retention_fragments records (kept for catch-up; a restart replays only
  // what follows the snapshot). Defaults: 10000, 16 MiB, 100000.
  size_t snapshot_fragments = 10000;
  size_t snapshot_bytes = 16 << 20;
  size_t retention_fragments = 100000;
  // With a store: a document nobody edited or asked for this long is dropped from memory (the
  // application's own open ones excepted) and loaded again from the store when it is wanted,
  // in milliseconds, so that a host keeps many documents at the cost of the ones in use.
  // Default: 30 s.
  std::chrono::milliseconds unload_after{30000};
  // The largest state a document may grow to, in its snapshot encoding: an edit that would make
  // it larger is refused (NACK_TOO_LARGE; edits that shrink it still pass). 0: no limit.
  // Snapshots over 1 MiB travel in chunks (docs/protocol.md), up to
  // CodecLimits::max_transfer_bytes (1 GiB). Default: 32 MiB.
  size_t max_document_bytes = 32 << 20;
  // A root sequences a document's housekeeping (Document::Collect: the canvas's old tombstones)
  // this often while the document is active. 0: never. Default: 5 s.
  std::chrono::milliseconds collect_interval{5000};
  // Bounds a root keeps against hostile or buggy peers (docs/security.md, "Bounds and limits").
  // Documents it hosts in all (in memory and in its store): one more is refused (NACK_LIMIT).
  // Default: 100,000.
  size_t max_documents = 100000;
  // With keys: documents one key may create (its id prefix: every endpoint of that key).
  // Default: 10,000.
  size_t max_documents_per_key = 10000;
  // Authors (origins) one document keeps in its dedup table: a new one beyond it is refused
  // (NACK_LIMIT). Default: 100,000.
  size_t max_authors_per_document = 100000;
  // Fragments a second per origin (per key with keys), burst one second's worth: the excess is
  // refused with NACK_RATE_LIMITED, which its author sends again later. 0: no limit (the
  // default: one writer sends hundreds of thousands a second in the benchmarks).
  double max_fragments_per_second = 0;
  // Presence bytes a second per origin and document, burst the same: the excess is dropped.
  // Default: 64 KiB.
  double max_presence_bytes_per_second = 64 << 10;
  // A store of the application's instead of data_dir's (tests: NewMemoryStore()). Must outlive
  // the Endpoint.
  Store* store = nullptr;
  // Log threshold and the name logs and the roster show. Default: warnings, the endpoint id.
  LogLevel log_level = LogLevel::kWarn;
  std::string name;
};

// One change of a document as its listener sees it.
struct DocumentChange {
  // The seq the change was sequenced at; 0 for a local edit not yet sequenced.
  uint64_t seq = 0;
  // True for an edit made through this endpoint.
  bool local = false;
  EndpointId origin;
  // The fragment payload as it was applied here (after transformation).
  std::string payload;
  // True when the whole state was replaced by a snapshot (first sync or resync); payload is then
  // the new state in the type's snapshot encoding (Document::Snapshot), pending local edits
  // included, so that a listener can mirror the document exactly.
  bool reset = false;
  // With reset: how many pending local edits of a type the host transforms (text) were
  // replayed onto the new state without the history between the version they were made on and
  // it (the endpoint was offline longer than the host keeps history: memory, and the store's
  // retention): placed by the type's Fit (text: positions clamped), so perhaps not where the
  // user meant. Counted in zinc_edits_rebased_total. 0 when they were transformed properly.
  size_t rebased = 0;
};

class Endpoint;

// A handle on one open document of an Endpoint: local edits apply at once and are sent to the
// host; remote edits arrive in seq order. Owned by its Endpoint and valid until the Endpoint is
// destroyed; it keeps working when the endpoint's role changes (a standby that takes over, a
// root that steps down: docs/failover.md). Thread-safe.
class DocumentHandle {
 public:
  virtual ~DocumentHandle() = default;

  virtual const std::string& name() const = 0;
  // The document type, or nullptr while a document opened without a type is still syncing.
  virtual const DocumentType* type() const = 0;

  // Applies payload locally at once and sends it to be sequenced. Returns kMalformed (or the
  // type's code) without changing anything for a payload the type refuses, kUnavailable if the
  // document failed to open. Does not block on the network.
  virtual Status Edit(std::string payload) = 0;
  // Parses one JSON edit with the type's FragmentFromJson, then Edit.
  virtual Status EditJson(std::string_view json) = 0;
  // Builds an edit from the current state and applies it, atomically: make runs under the
  // document's lock, so no remote fragment lands between what it reads and the edit it returns
  // (an editor computing a position from the text needs this; Read then Edit can race). make
  // must not call into zinc. Returns make's error, or Edit's.
  virtual Status EditWith(const std::function<Result<std::string>(const Document&)>& make) = 0;

  // Waits until the document has its first snapshot. Returns kTimeout, or the error that ended
  // the open (kNotFound for a missing document opened without create, kTypeMismatch, ...).
  virtual Status WaitSynced(std::chrono::milliseconds timeout) = 0;
  // Waits until every local edit made so far is acknowledged (sequenced by the root host).
  virtual Status WaitAcknowledged(std::chrono::milliseconds timeout) = 0;
  // Waits until at most n local edits are unacknowledged: flow control for a bulk writer, which
  // otherwise queues edits as fast as it makes them.
  virtual Status WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) = 0;

  // The seq of the last fragment applied here.
  virtual uint64_t seq() const = 0;
  // Local edits not yet acknowledged.
  virtual size_t pending() const = 0;
  // The state as JSON: {"type":"map","seq":N,"entries":{...}} (the type's ToJson under the
  // type's key; "entries" for map).
  virtual std::string ToJson() const = 0;
  // Runs fn with the current state, under the document's lock: fn must not call back into zinc.
  virtual void Read(const std::function<void(const Document&)>& fn) const = 0;

  // Sets the listener called for every change, local or remote. It runs on the document's
  // strand, one at a time, in exactly the order the changes were applied here (a local edit's
  // change is delivered there after Edit returns), so that applying each change's payload to a
  // copy reproduces this replica. It must not block. Replaces any previous listener.
  virtual void OnChange(std::function<void(const DocumentChange&)> listener) = 0;

  // Presence: this endpoint's ephemeral state in the document (a cursor, a selection, a name),
  // relayed to every endpoint that has the document open and never stored, sequenced or
  // acknowledged (Yjs's awareness). The latest state per endpoint is what counts; an empty state
  // says gone. Nothing repeats it: an application sends its state again every second or so while
  // it holds, and forgets a peer it has not heard from for a few seconds. Returns
  // kResourceExhausted for a state over CodecLimits::max_presence_bytes (64 KiB), kUnavailable
  // before the document is open.
  virtual Status SetPresence(std::string state) = 0;
  // Sets the listener called with (origin, state) for each presence of another endpoint that
  // arrives. It runs on the document's strand and must not block. Replaces any previous one.
  virtual void OnPresence(
      std::function<void(const EndpointId& origin, const std::string& state)> listener) = 0;
  // Sets the listener called once for each local edit acknowledged (sequenced by the root),
  // with the edit's origin_seq (the n-th edit made through this handle is n) and the seq it was
  // sequenced at (for an edit found in a snapshot, the snapshot's seq). It runs on the
  // document's strand, after the changes applied with it, and must not block. An application
  // that must know which edits are durable (zincctl client --acks) logs these. Replaces any
  // previous one.
  virtual void OnAcknowledged(std::function<void(uint64_t origin_seq, uint64_t seq)> listener) = 0;
};

// Options of Endpoint::Open.
struct OpenOptions {
  // The document type; empty to accept whatever type the document has (read-only use, e.g.
  // zincctl cat). Required to create.
  std::string type;
  // Create the document at the host if it does not exist. Default: true.
  bool create = true;
};

// Where an endpoint is in its cluster's tree.
struct TreePosition {
  // Accepted by a parent (always true at the root).
  bool joined = false;
  // 0 at the root.
  uint32_t depth = 0;
  // The ids from the root down to the parent (empty at the root).
  std::vector<EndpointId> path;
  // The parent's base address ("" at the root).
  std::string parent;
  // Children accepted and not gone.
  size_t children = 0;
};

// One node of a zinc cluster: a root host, a relay, or a client of a parent host. Owns the ZeroMQ
// context, the ChannelListener (I/O thread), the HandlerPool and every open document.
// Resource type; thread-safe.
class Endpoint {
 public:
  // Binds and/or connects as options say and starts the threads. Returns kInvalidArgument for a
  // bad address, kUnavailable if a listen address is in use.
  static Result<std::unique_ptr<Endpoint>> Start(EndpointOptions options);
  // Stops; see Stop.
  virtual ~Endpoint() = default;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Stops the threads and closes the sockets. Idempotent. Never call from a callback.
  virtual void Stop() = 0;

  virtual const EndpointId& id() const = 0;
  // The base address bound (ports filled in), or "" if this endpoint does not host.
  virtual const std::string& listen_address() const = 0;
  virtual bool is_root() const = 0;
  // Joins a parent and hosts children.
  virtual bool is_relay() const = 0;

  // Waits until a parent has accepted this endpoint (at once at the root). Returns kTimeout, or
  // kPermissionDenied as soon as the member asked refuses this endpoint's key (its ZAP handler
  // answered 400; the message names the member and the key). The endpoint keeps asking: a key
  // authorized later (the host's SIGHUP) gets in.
  virtual Status WaitJoined(std::chrono::milliseconds timeout) = 0;
  virtual TreePosition position() const = 0;
  // The cluster's members: the root's own roster at the root, elsewhere the copy the root last
  // published (about every second, and soon after a change).
  virtual RosterInfo roster() const = 0;

  // Opens the document called name, syncing it from the parent (a client) or creating it (the
  // root). Returns the same handle for a name opened before (kTypeMismatch for another type),
  // kInvalidArgument for a bad name, kNotFound for an unknown type. Does not block.
  virtual Result<DocumentHandle*> Open(const std::string& name, const OpenOptions& options) = 0;
  // Closes a document opened here: unsubscribes from it (a relay keeps serving it while children
  // have it open) and drops its unacknowledged edits (WaitAcknowledged first to keep them). The
  // handle stays valid, frozen at its last state: edits return kUnavailable. Opening the name
  // again syncs afresh. Returns kNotFound if it is not open. At the root, documents stay hosted
  // and Close does nothing.
  virtual Status Close(const std::string& name) = 0;
  // Deletes the document called name from the cluster: the root drops it from its store and
  // memory, then tells every replica (relays, the standby, clients that have it open: their
  // handles freeze and edits return kNotFound). Works at any member: a non-root asks the root
  // the roster names. Returns once the root has deleted it: kNotFound if it does not exist,
  // kIoError if the root's store refused (nothing was deleted), kTimeout. Edits made to the
  // name afterwards create a new, empty document. Blocks (on the root's store, or the
  // network): never call from a listener.
  virtual Status Delete(const std::string& name, std::chrono::milliseconds timeout) = 0;
  // A host with keys reads its authorized-keys file again (zincctl does on SIGHUP). A key
  // removed, or a right taken away, holds from now on: its connections are refused, and its
  // subscribers are made to subscribe again (docs/security.md). A bad file changes nothing and
  // is returned (kInvalidArgument naming FILE:LINE). kUnsupported without keys.
  virtual Status ReloadAuthorizedKeys() = 0;

  virtual Counters& counters() = 0;
  virtual const TypeRegistry& types() const = 0;

 protected:
  Endpoint() = default;
};

// One document as a host lists it (zincctl ls; wire::DocumentInfo in docs/protocol.md).
struct DocumentInfo {
  std::string name;
  std::string type;
  uint64_t seq = 0;
  // Its state's size in the type's snapshot encoding, as last measured (only in the store: the
  // bytes of its stored snapshot and the records after it).
  uint64_t bytes = 0;
  // Subscribers at the host, plus one if the host's application has it open.
  uint32_t open = 0;
  // Loaded, or only in the host's store.
  bool in_memory = true;
};

// The documents of the host at address (any member: a relay lists its replicas), in name
// order, as zincctl ls prints them; pages through them ListRequest by ListRequest. kTimeout.
// With keys (secret_key, and the member's public key as server_key), over CurveZMQ.
Result<std::vector<DocumentInfo>> ListDocuments(const std::string& address,
                                                std::chrono::milliseconds timeout,
                                                const ClientKeys& keys = ClientKeys());
// Asks the root at address (a root's; zincctl rm finds it from any member's roster) to delete
// name. As Endpoint::Delete; returns the seq of the document's last fragment.
Result<uint64_t> DeleteDocument(const std::string& address, const std::string& name,
                                std::chrono::milliseconds timeout,
                                const ClientKeys& keys = ClientKeys());

// Reads the store in data_dir (EndpointOptions::data_dir) while no endpoint has it open, as
// zincctl dump does: calls fn with each document's name and its state as DocumentHandle::ToJson
// shows it, in name order (only the document called only, if set). Returns kNotFound for a
// missing directory or document, kUnavailable while an endpoint holds the store, kDataLoss for
// corruption (naming the file and the document), kUnsupported for a type types lacks.
Status ReadStore(const std::string& data_dir, const TypeRegistry& types, const std::string& only,
                 const std::function<void(const std::string& name, const std::string& json)>& fn);

}  // namespace zinc

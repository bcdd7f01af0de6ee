#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/channel.h"
#include "core/codec.h"
#include "core/message.h"
#include "core/mutex.h"
#include "endpoints/chunks.h"

namespace zinc {

// The I/O loop of one Endpoint: it owns the endpoint's Channels, polls them on one thread,
// decodes every frame into a Message and hands it to its Sink, and sends the frames other
// threads queue with Send. Resource type; thread-safe (Send, Subscribe, Unsubscribe may be called
// from any thread; the sockets are only ever touched by the I/O thread).
// A reply reassembled from chunks, as the listener hands it over (a Chunk message whose data is
// the whole reply), decoded into *out as if it had come in one frame (up to
// limits.max_transfer_bytes). Call on the document's strand, not the I/O thread.
Status DecodeChunkedReply(const Message& whole, const CodecLimits& limits, Message* out);

class ChannelListener {
 public:
  // What the listener reports to. Called on the I/O thread only; must not block for long.
  class Sink {
   public:
    virtual ~Sink() = default;
    // Messages decoded from one or more frames of one channel, in arrival order, all for one
    // strand (the same document id, or all control traffic): one frame, the elements of a
    // wire::Batch, or consecutive frames for the same document.
    virtual void OnMessages(std::vector<Message> msgs) = 0;
    // A frame that was refused. envelope is set when the frame parsed far enough to name an
    // origin (e.g. a version mismatch), else nullptr. routing_id is set for kSyncServer.
    virtual void OnBadFrame(ChannelKind channel, const Status& why, const wire::Envelope* envelope,
                            const std::string& routing_id) = 0;
    // Called about every tick interval.
    virtual void OnTick() = 0;
    // Whether the sink has as much waiting as it takes (back-pressure): while it has, the
    // listener reads no channel, so that the senders' queues fill and they slow down, but it
    // keeps ticking and sending. Asked once per round of the I/O loop.
    virtual bool Saturated() { return false; }
    // Relays (Channels::relay): the first child subscribed to topic, or the last one left it.
    virtual void OnSubscription(const std::string& topic, bool subscribed) {
      (void)topic;
      (void)subscribed;
    }
    // Client side: a chunk of a large reply about doc arrived (the rest follows): whoever waits
    // for it should not ask again yet. From the I/O thread; must not block.
    virtual void OnTransferProgress(const std::string& doc) { (void)doc; }
    // Channels::gated (a host with keys): a message from a child (inbound, sync server) as it
    // arrives, before anything else is done with it (a relay's forwarding upward included);
    // peer is the key its connection was accepted with (Frame::peer). Each element of a batch
    // comes on its own. Returns false to refuse it (the sink has counted it, and nacked it
    // where that is safe). From the I/O thread; must not block.
    virtual bool Admit(ChannelKind channel, std::string_view peer, const wire::Envelope& env,
                       const std::string& routing_id) {
      (void)channel;
      (void)peer;
      (void)env;
      (void)routing_id;
      return true;
    }
    // Channels::gated: whether the subscriber with key peer may subscribe to doc ("" for every
    // topic, kControlTopic for the control topic). A refused subscription never takes effect.
    virtual bool AdmitSubscription(std::string_view peer, const std::string& doc) {
      (void)peer;
      (void)doc;
      return true;
    }
    // Channels::curve_client: how a CurveZMQ handshake of the sync client with the member it
    // joins through ended (refused: that member's ZAP handler does not know this key). From
    // the I/O thread; must not block.
    virtual void OnHandshake(const Channel::HandshakeEvent& event) { (void)event; }
  };

  // The channels to own; any may be null. Host side: outbound (PUB), inbound (PULL), sync_server
  // (ROUTER). Client side: subscription (SUB), upstream (PUSH), sync_client (DEALER).
  struct Channels {
    std::unique_ptr<Channel> outbound;
    std::unique_ptr<Channel> inbound;
    std::unique_ptr<Channel> sync_server;
    std::unique_ptr<Channel> subscription;
    std::unique_ptr<Channel> upstream;
    std::unique_ptr<Channel> sync_client;
    // outbound is an XPUB: its subscriptions go to Sink::OnSubscription.
    bool xpub = false;
    // A relay: every valid frame from the parent (SUB) is published unchanged to the children
    // as well as decoded, and every valid frame from a child (PULL) is sent upward unchanged,
    // only control frames (member reports) being decoded for the sink too. Promote ends it.
    bool relay = false;
    // Keys (docs/security.md). gated: outbound is a manual XPUB and every message from a child
    // goes through Sink::Admit, every subscription through Sink::AdmitSubscription; bound is the
    // address outbound is bound to (for Rebind). curve_client: client channels use CurveZMQ and
    // connect only to addresses whose server key is known (SetServerKey).
    bool gated = false;
    std::string outbound_bound;
    bool curve_client = false;
    // With curve_client: the context of the client channels, where the sync client's
    // handshakes are watched (Sink::OnHandshake).
    ChannelContext* context = nullptr;
  };

  // Makes a new client channel (kSub, subscribed to the control topic; kPush; kDealer) for
  // JoinVia, from the I/O thread.
  using ChannelFactory = std::function<Result<std::unique_ptr<Channel>>(SocketType)>;

  // sink must outlive this object. limits bound every decoded envelope. origin (16 bytes, the
  // endpoint's id) is the origin of the wire::Batch envelopes this listener makes. remake is
  // needed by a client (JoinVia).
  ChannelListener(Channels channels, Sink* sink, const CodecLimits& limits,
                  std::chrono::milliseconds tick, std::string origin,
                  ChannelFactory remake = nullptr);
  // Stops and joins. Never call from the I/O thread.
  ~ChannelListener();
  ChannelListener(const ChannelListener&) = delete;
  ChannelListener& operator=(const ChannelListener&) = delete;

  // Starts the I/O thread. Returns kInternal if the wake-up descriptor cannot be made.
  Status Start();
  // Stops the I/O thread and closes the channels. Idempotent; never call from the I/O thread.
  void Stop();

  // Queues frame for its socket; never blocks. Batchable frames queued next to each other for
  // the same document go as one wire::Batch frame (up to kBatchBytes). Frames to PUSH and
  // DEALER wait (in order) while the socket is full; frames to PUB are dropped by libzmq for a
  // subscriber at its high-water mark (zinc turns that into a catch-up); a ROUTER reply to a
  // vanished peer is dropped.
  void Send(OutboundFrame frame) EXCLUDES(mu_);
  void Send(std::vector<OutboundFrame> frames) EXCLUDES(mu_);
  // SUB only: adds or removes a topic.
  void Subscribe(std::string topic) EXCLUDES(mu_);
  void Unsubscribe(std::string topic) EXCLUDES(mu_);
  // Client side. Starts joining the member whose sync address is sync: a new DEALER connects
  // there (and, after a parent was left, a new SUB with the same topics and a new PUSH wait). Until
  // Attach, kUpstream frames wait, kSyncRequest frames are dropped (their senders ask again on
  // attaching) and only kJoin frames go out.
  void JoinVia(std::string sync) EXCLUDES(mu_);
  // Connects SUB and PUSH to the member joined (outbound and inbound addresses) and lets the
  // waiting frames go.
  void Attach(std::string outbound, std::string inbound) EXCLUDES(mu_);
  // Failover. Promote: this relay is the root now; it stops forwarding and closes its client
  // channels. Demote: a root that was replaced becomes a member; it makes client channels (a
  // JoinVia follows).
  void Promote() EXCLUDES(mu_);
  void Demote() EXCLUDES(mu_);
  // Keys: the server key (Z85) of the member at base address `base` (its channels' addresses
  // derived as DeriveChannelAddresses does). At most kMaxServerKeys are known (a full table
  // forgets the oldest half).
  void SetServerKey(const std::string& base, const std::string& key) EXCLUDES(keys_mu_);
  static constexpr size_t kMaxServerKeys = 8192;
  // Gated hosts: closes the outbound XPUB and binds a new one at the same address, so that
  // every subscriber connects again and is authorized again (a key removed, a right taken).
  void RebindOutbound() EXCLUDES(mu_);

  // Hosts: the subscribers of topic (exact topic; XPUB_VERBOSER counts every SUB's subscribe
  // and unsubscribe, a SUB that goes away unsubscribing from all).
  uint32_t Subscribers(const std::string& topic) const EXCLUDES(subscribers_mu_);
  // Most topics counted (the others still reach the sink, uncounted).
  static constexpr size_t kMaxCountedTopics = 1 << 20;

  // Frames sent, and frames dropped because a socket refused them.
  uint64_t frames_sent() const { return frames_sent_.load(std::memory_order_relaxed); }
  uint64_t frames_dropped() const { return frames_dropped_.load(std::memory_order_relaxed); }

  // Most bytes of envelopes the listener puts in one wire::Batch.
  static constexpr size_t kBatchBytes = 128 << 10;
  // Most frames a relay holds for its parent while it is not attached (joining again); its
  // children's further frames are dropped until then (they resend what is not acknowledged).
  static constexpr size_t kMaxHeldUpstream = 10000;
  // Most bytes a relay holds for its parent, attached or not (a parent slower than the
  // children): past it, further frames are dropped until the queue drains (the children resend).
  static constexpr size_t kMaxHeldUpstreamBytes = 64 << 20;
  // The sync server's (ROUTER's) send high-water mark, in frames per peer. With sync replies
  // about a document at most ChunkSender::kChunkBytes each (larger ones go in chunks), a peer
  // that asks and never reads holds at most 16 MiB in the socket.
  static constexpr int kSyncServerHwm = 64;
  // Replies that found their peer's pipe full wait here, behind that peer's earlier ones, and
  // go as the peer reads: at most this many bytes per peer (past it the peer's oldest go), peers,
  // and bytes in all (past those the reply is dropped); a dropped reply's requester asks
  // again. A peer's queue that has taken nothing for kHeldReplyIdleMicros is dropped.
  static constexpr size_t kMaxHeldReplyBytesPerPeer = 4 << 20;
  static constexpr size_t kMaxHeldReplyPeers = 1024;
  static constexpr size_t kMaxHeldReplyBytes = 256 << 20;
  static constexpr int64_t kHeldReplyIdleMicros = 10'000'000;
  // Bytes of sync replies waiting for their peers (I/O thread; for tests).
  size_t held_reply_bytes() const { return held_reply_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Command {
    enum Kind {
      kSubscribe,
      kUnsubscribe,
      kJoinVia,
      kAttach,
      kPromote,
      kDemote,
      kRebind
    } kind = kSubscribe;
    std::string topic;    // or the sync address (kJoinVia), or the outbound address (kAttach)
    std::string inbound;  // kAttach
  };
  void Queue(Command c) EXCLUDES(mu_);
  void RunCommand(const Command& c);
  // Relays: reads the children's subscriptions from the XPUB.
  void ReadSubscriptions();
  // The server key of a channel address ("" if unknown), and Connect with it. Without
  // curve_client, plain; with it, an address whose key is unknown is not connected to.
  std::string ServerKeyFor(const std::string& address) const EXCLUDES(keys_mu_);
  Status ConnectTo(Channel* channel, const std::string& address);
  void Rebind();
  // A Route::kDirect frame: to a PUSH connected to its address (made on first use).
  void SendDirect(OutboundFrame f);
  // Sends the direct frames that wait, as far as their sockets take them.
  void FlushDirect();

  void Run();
  // Whether a Send must signal the I/O thread (it is not already signalled); marks it signalled.
  bool NeedsWakeLocked() REQUIRES(mu_);
  // Signals the I/O thread if needed. Call without mu_.
  void Wake(bool needed) EXCLUDES(mu_);
  void DrainOutbox();
  // Sends what it can of queue to channel, less *bytes by what went (if given); returns true
  // if all went.
  bool Flush(Channel* channel, std::deque<OutboundFrame>* queue, size_t* bytes = nullptr);
  // Moves frames[*i] and the batchable frames after it for the same route and document (up to
  // kBatchBytes) into one frame; advances *i past them.
  OutboundFrame Coalesce(std::vector<OutboundFrame>* frames, size_t* i) const;
  void ReadChannel(Channel* channel, ChannelKind kind);
  // Hands the sync client's handshake events to the sink.
  void ReadHandshakes();
  // Decodes one frame and appends its messages to *run, handing *run to the sink first when
  // they belong to another strand.
  void Decode(ChannelKind kind, const Frame& frame, std::vector<Message>* run);
  // A chunk of a large reply from the parent (sync client): kept, the next asked for, and the
  // whole reply, once in, decoded into *run as if it had come in one frame.
  void OnChunk(const wire::Envelope& env, std::vector<Message>* run);
  // A sync reply too large for one frame: sent in chunks.
  void SendChunked(OutboundFrame f);
  // Sends frame to the sync server's peer routing_id, or holds it behind that peer's earlier
  // frames when its pipe is full (ok then), or drops it past the bounds (kResourceExhausted).
  // kUnavailable: the peer is gone.
  Status SendReply(const std::string& routing_id, std::string frame);
  // Sends the held replies their peers have room for; drops the queues idle too long.
  void FlushHeldReplies();
  // Hands *run to the sink (if not empty) and clears it.
  void Deliver(std::vector<Message>* run);

  // Constant after construction.
  const ChannelFactory remake_;
  Sink* const sink_;
  const CodecLimits limits_;
  const std::chrono::milliseconds tick_;
  const std::string origin_;

  Mutex mu_;
  std::vector<OutboundFrame> outbox_ GUARDED_BY(mu_);
  std::vector<Command> commands_ GUARDED_BY(mu_);
  bool woken_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;

  mutable Mutex keys_mu_;
  std::unordered_map<std::string, std::string> server_keys_ GUARDED_BY(keys_mu_);

  mutable Mutex subscribers_mu_;
  std::unordered_map<std::string, uint32_t> subscribers_ GUARDED_BY(subscribers_mu_);

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> frames_sent_{0};
  std::atomic<uint64_t> frames_dropped_{0};
  // Set by Start, before any other thread uses this object; closed by the destructor.
  int wake_fd_ = -1;
  std::thread thread_;

  // I/O thread only (after Start).
  Channels channels_;
  // Large sync replies in pieces: those this host sends, and those this client receives.
  internal::ChunkSender chunk_sender_;
  internal::ChunkAssembler chunk_assembler_;
  // Forwarding as a relay (Channels::relay, until Promote).
  bool relay_ = false;
  // Client side: joined (see JoinVia), and whether SUB and PUSH are connected to a parent (a
  // JoinVia after that makes new ones).
  bool attached_ = true;
  // The PUSH sockets of Route::kDirect, by inbound address, each with the newest frame that
  // found no room yet (a socket just made is still connecting): it goes once the socket is
  // writable (polled for), or is replaced by the next.
  struct Direct {
    std::unique_ptr<Channel> channel;
    std::string waiting;
  };
  std::map<std::string, Direct> direct_;
  bool connected_ = false;
  // The topics subscribed with Subscribe, for a new SUB.
  std::set<std::string> topics_;
  std::deque<OutboundFrame> blocked_upstream_;
  size_t blocked_upstream_bytes_ = 0;
  struct HeldReplies {
    std::deque<std::string> frames;
    size_t bytes = 0;
    int64_t progress_micros = 0;  // when the peer last took one
  };
  std::map<std::string, HeldReplies> held_replies_;  // by routing id
  std::atomic<size_t> held_reply_bytes_{0};
  std::deque<OutboundFrame> blocked_sync_client_;
  // The sync client's handshakes (Channels::curve_client), remade with it.
  std::unique_ptr<Channel> handshakes_;
  // The frame being decoded, received without a copy.
  Frame frame_;
  // The elements of the batch being decoded (views into the frame), kept for their capacity.
  std::vector<std::string_view> batch_elements_;
};

}  // namespace zinc

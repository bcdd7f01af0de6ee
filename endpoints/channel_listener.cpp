#include "endpoints/channel_listener.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "endpoints/address.h"

namespace zinc {

namespace {
// Frames read from one socket before the loop looks at the others, for fairness.
constexpr int kReadBurst = 256;
// Most messages handed to the sink at once.
constexpr size_t kMaxRun = 1024;

// The strand a message belongs to: its document, or "" for control traffic.
const std::string& StrandOf(const Message& m) { return m.envelope.doc(); }

// A topic as the subscriber's filter sees it: "" (everything) as it is, a name with a NUL after
// it (so that a subscription to one name matches that name only: docs/protocol.md).
std::string FilterOf(const std::string& topic) { return topic.empty() ? topic : WireTopic(topic); }

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ChannelListener::ChannelListener(Channels channels, Sink* sink, const CodecLimits& limits,
                                 std::chrono::milliseconds tick, std::string origin,
                                 ChannelFactory remake)
    : remake_(std::move(remake)),
      sink_(sink),
      limits_(limits),
      tick_(tick),
      origin_(std::move(origin)),
      channels_(std::move(channels)),
      chunk_sender_(origin_),
      chunk_assembler_(origin_, limits_.max_transfer_bytes) {
  relay_ = channels_.relay;
}

ChannelListener::~ChannelListener() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status ChannelListener::Start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status(StatusCode::kInternal, "eventfd failed");
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void ChannelListener::Stop() {
  stop_.store(true);
  if (thread_.joinable()) {
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      ssize_t n = write(wake_fd_, &one, sizeof(one));
      (void)n;
    }
    thread_.join();
  }
  // The I/O thread is gone, so this thread may close the sockets. (The wake-up descriptor stays
  // open until the destructor: handlers still finishing may signal it harmlessly.)
  channels_ = Channels();
  MutexLock l(&mu_);
  stopped_ = true;
  // Frames queued from now on (by handlers still finishing) are dropped.
  outbox_.clear();
}

bool ChannelListener::NeedsWakeLocked() {
  if (woken_ || stopped_ || wake_fd_ < 0) return false;
  woken_ = true;
  return true;
}

void ChannelListener::Wake(bool needed) {
  if (!needed) return;
  // After unlocking mu_, so that the woken I/O thread does not wait for it.
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;  // The counter cannot overflow: the I/O thread drains it.
}

void ChannelListener::Send(OutboundFrame frame) {
  bool wake;
  {
    MutexLock l(&mu_);
    outbox_.push_back(std::move(frame));
    wake = NeedsWakeLocked();
  }
  Wake(wake);
}

void ChannelListener::Send(std::vector<OutboundFrame> frames) {
  bool wake;
  {
    MutexLock l(&mu_);
    for (auto& f : frames) outbox_.push_back(std::move(f));
    wake = NeedsWakeLocked();
  }
  Wake(wake);
}

void ChannelListener::Queue(Command c) {
  bool wake;
  {
    MutexLock l(&mu_);
    commands_.push_back(std::move(c));
    wake = NeedsWakeLocked();
  }
  Wake(wake);
}

void ChannelListener::Subscribe(std::string topic) {
  Queue(Command{Command::kSubscribe, std::move(topic), ""});
}

void ChannelListener::Unsubscribe(std::string topic) {
  Queue(Command{Command::kUnsubscribe, std::move(topic), ""});
}

void ChannelListener::JoinVia(std::string sync) {
  Queue(Command{Command::kJoinVia, std::move(sync), ""});
}

void ChannelListener::Attach(std::string outbound, std::string inbound) {
  Queue(Command{Command::kAttach, std::move(outbound), std::move(inbound)});
}

void ChannelListener::Promote() { Queue(Command{Command::kPromote, "", ""}); }

void ChannelListener::RebindOutbound() { Queue(Command{Command::kRebind, "", ""}); }

void ChannelListener::SetServerKey(const std::string& base, const std::string& key) {
  Result<BaseAddress> parsed = ParseBaseAddress(base);
  if (!parsed.ok() || key.empty()) return;
  const ChannelAddresses a = DeriveChannelAddresses(*parsed);
  MutexLock l(&keys_mu_);
  if (server_keys_.size() + 4 > kMaxServerKeys) {
    // Rosters are bounded well below this: only churn gets here. Forget half.
    for (auto it = server_keys_.begin(); it != server_keys_.end();) {
      it = server_keys_.size() > kMaxServerKeys / 2 ? server_keys_.erase(it) : std::next(it);
    }
  }
  for (const std::string* address : {&base, &a.outbound, &a.inbound, &a.sync}) {
    server_keys_[*address] = key;
  }
}

std::string ChannelListener::ServerKeyFor(const std::string& address) const {
  MutexLock l(&keys_mu_);
  auto it = server_keys_.find(address);
  return it == server_keys_.end() ? "" : it->second;
}

Status ChannelListener::ConnectTo(Channel* channel, const std::string& address) {
  if (!channels_.curve_client) return channel->Connect(address);
  const std::string key = ServerKeyFor(address);
  if (key.empty()) {
    // Never in the clear to a cluster with keys, and never to a member whose key is unknown.
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kNotFound, "no server key known for " + address);
  }
  return channel->Connect(address, key);
}

void ChannelListener::Rebind() {
  if (!channels_.gated || !channels_.outbound || !remake_) return;
  channels_.outbound->Close();
  channels_.outbound.reset();
  // Every subscription is gone with the socket: the sink hears of each topic's last.
  std::vector<std::string> topics;
  {
    MutexLock l(&subscribers_mu_);
    for (const auto& [topic, n] : subscribers_) topics.push_back(topic);
    subscribers_.clear();
  }
  for (const std::string& topic : topics) sink_->OnSubscription(topic, false);
  // The port is free again once libzmq's own thread has closed the listener: a few tries.
  for (int attempt = 0; attempt < 200 && !stop_.load(); ++attempt) {
    Result<std::unique_ptr<Channel>> xpub = remake_(SocketType::kXPub);
    if (!xpub.ok()) return;
    if ((*xpub)->Bind(channels_.outbound_bound).ok()) {
      channels_.outbound = std::move(xpub).value();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ChannelListener::Demote() { Queue(Command{Command::kDemote, "", ""}); }

void ChannelListener::SendDirect(OutboundFrame f) {
  auto it = direct_.find(f.address);
  if (it == direct_.end()) {
    if (!remake_) return;
    if (direct_.size() >= 8) direct_.clear();  // Failover talks to one or two peers at a time.
    Result<std::unique_ptr<Channel>> push = remake_(SocketType::kPush);
    if (!push.ok() || !ConnectTo(push->get(), f.address).ok()) {
      frames_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = direct_.emplace(f.address, Direct{std::move(push).value(), ""}).first;
  }
  // Only the newest waits: a vote or notice that found no room is superseded by the next.
  if (!it->second.waiting.empty()) frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  it->second.waiting = std::move(f.payload);
  FlushDirect();
}

void ChannelListener::FlushDirect() {
  for (auto& [address, d] : direct_) {
    if (d.waiting.empty()) continue;
    std::string_view part(d.waiting);
    Status s = d.channel->Send(&part, 1);
    if (s.code() == StatusCode::kResourceExhausted) continue;  // Still connecting.
    (s.ok() ? frames_sent_ : frames_dropped_).fetch_add(1, std::memory_order_relaxed);
    d.waiting.clear();
  }
}

void ChannelListener::RunCommand(const Command& c) {
  Status s;
  switch (c.kind) {
    case Command::kSubscribe:
    case Command::kUnsubscribe:
      if (!channels_.subscription) return;
      if (c.kind == Command::kSubscribe) {
        topics_.insert(c.topic);
        s = channels_.subscription->Subscribe(FilterOf(c.topic));
      } else {
        topics_.erase(c.topic);
        s = channels_.subscription->Unsubscribe(FilterOf(c.topic));
      }
      break;
    case Command::kJoinVia: {
      if (!channels_.sync_client) return;
      attached_ = false;
      // A fresh socket for every member asked (the Lazy Pirate pattern): a disconnected one
      // may still hand a message to the pipe it is tearing down, and lose it.
      Result<std::unique_ptr<Channel>> dealer = remake_(SocketType::kDealer);
      if (!dealer.ok()) return;
      handshakes_.reset();
      channels_.sync_client = std::move(dealer).value();
      if (channels_.curve_client && channels_.context) {
        Result<std::unique_ptr<Channel>> monitor =
            channels_.sync_client->MonitorHandshakes(channels_.context);
        if (monitor.ok()) handshakes_ = std::move(monitor).value();
      }
      if (connected_) {
        // Leaving a parent: the old one's frames are not to be mixed with the next one's.
        Result<std::unique_ptr<Channel>> sub = remake_(SocketType::kSub);
        Result<std::unique_ptr<Channel>> push = remake_(SocketType::kPush);
        if (!sub.ok() || !push.ok()) return;
        channels_.subscription = std::move(sub).value();
        channels_.upstream = std::move(push).value();
        for (const std::string& topic : topics_) {
          s = channels_.subscription->Subscribe(FilterOf(topic));
        }
      }
      connected_ = false;
      s = ConnectTo(channels_.sync_client.get(), c.topic);
      // Requests made for the old parent are moot; their senders ask again on attaching.
      blocked_sync_client_.clear();
      chunk_assembler_.Clear();
      break;
    }
    case Command::kAttach:
      if (!channels_.subscription || !channels_.upstream || connected_) return;
      connected_ = true;
      s = ConnectTo(channels_.subscription.get(), c.topic);
      if (s.ok()) s = ConnectTo(channels_.upstream.get(), c.inbound);
      attached_ = true;
      break;
    case Command::kPromote:
      relay_ = false;
      channels_.subscription.reset();
      channels_.upstream.reset();
      handshakes_.reset();
      channels_.sync_client.reset();
      blocked_upstream_.clear();
      blocked_upstream_bytes_ = 0;
      blocked_sync_client_.clear();
      topics_.clear();
      attached_ = true;
      connected_ = false;
      break;
    case Command::kDemote: {
      if (!remake_) return;
      Result<std::unique_ptr<Channel>> sub = remake_(SocketType::kSub);
      Result<std::unique_ptr<Channel>> push = remake_(SocketType::kPush);
      Result<std::unique_ptr<Channel>> dealer = remake_(SocketType::kDealer);
      if (!sub.ok() || !push.ok() || !dealer.ok()) return;
      channels_.subscription = std::move(sub).value();
      channels_.upstream = std::move(push).value();
      handshakes_.reset();
      channels_.sync_client = std::move(dealer).value();
      relay_ = false;
      connected_ = false;
      attached_ = false;
      break;
    }
    case Command::kRebind:
      Rebind();
      break;
  }
  (void)s;  // Cannot fail on a live socket with an address that parsed; ETERM: stopping.
}

bool ChannelListener::Flush(Channel* channel, std::deque<OutboundFrame>* queue, size_t* bytes) {
  while (!queue->empty()) {
    std::string_view part(queue->front().payload);
    Status s = channel->Send(&part, 1);
    if (s.code() == StatusCode::kResourceExhausted) return false;
    if (s.ok()) {
      frames_sent_.fetch_add(1, std::memory_order_relaxed);
    } else {
      frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    if (bytes) *bytes -= part.size();
    queue->pop_front();
  }
  return true;
}

Status ChannelListener::SendReply(const std::string& routing_id, std::string frame) {
  auto held = held_replies_.find(routing_id);
  if (held == held_replies_.end()) {
    std::string_view parts[2] = {routing_id, frame};
    Status s = channels_.sync_server->Send(parts, 2);
    if (s.code() != StatusCode::kResourceExhausted) {
      if (s.ok()) frames_sent_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  // The peer's pipe is full (or others wait before this one): held, within the bounds. Past
  // the peer's bound its oldest held frames go first: the newest replies are the ones it still
  // waits for (a transfer asked again replaced the older one).
  size_t total = held_reply_bytes_.load(std::memory_order_relaxed);
  if (frame.size() > kMaxHeldReplyBytesPerPeer ||
      (held == held_replies_.end() && held_replies_.size() >= kMaxHeldReplyPeers)) {
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kResourceExhausted, "the peer's replies are over their bound");
  }
  if (held == held_replies_.end()) {
    held = held_replies_.emplace(routing_id, HeldReplies{}).first;
    held->second.progress_micros = SteadyMicros();
  }
  HeldReplies& h = held->second;
  while (!h.frames.empty() && (h.bytes + frame.size() > kMaxHeldReplyBytesPerPeer ||
                               total + frame.size() > kMaxHeldReplyBytes)) {
    h.bytes -= h.frames.front().size();
    total -= h.frames.front().size();
    h.frames.pop_front();
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  if (total + frame.size() > kMaxHeldReplyBytes) {
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    if (h.frames.empty()) held_replies_.erase(held);
    held_reply_bytes_.store(total, std::memory_order_relaxed);
    return Status(StatusCode::kResourceExhausted, "the replies held are over their bound");
  }
  h.bytes += frame.size();
  held_reply_bytes_.store(total + frame.size(), std::memory_order_relaxed);
  h.frames.push_back(std::move(frame));
  return Status::Ok();
}

void ChannelListener::FlushHeldReplies() {
  if (held_replies_.empty()) return;
  const int64_t now = SteadyMicros();
  size_t total = held_reply_bytes_.load(std::memory_order_relaxed);
  for (auto it = held_replies_.begin(); it != held_replies_.end();) {
    HeldReplies& h = it->second;
    while (!h.frames.empty() && channels_.sync_server) {
      std::string_view parts[2] = {it->first, h.frames.front()};
      Status s = channels_.sync_server->Send(parts, 2);
      if (s.code() == StatusCode::kResourceExhausted) break;
      (s.ok() ? frames_sent_ : frames_dropped_).fetch_add(1, std::memory_order_relaxed);
      h.bytes -= h.frames.front().size();
      total -= h.frames.front().size();
      h.frames.pop_front();
      h.progress_micros = now;
    }
    const bool idle = now - h.progress_micros >= kHeldReplyIdleMicros;
    if (h.frames.empty() || idle || !channels_.sync_server) {
      frames_dropped_.fetch_add(h.frames.size(), std::memory_order_relaxed);
      total -= h.bytes;
      it = held_replies_.erase(it);
    } else {
      ++it;
    }
  }
  held_reply_bytes_.store(total, std::memory_order_relaxed);
}

void ChannelListener::DrainOutbox() {
  std::vector<OutboundFrame> frames;
  std::vector<Command> commands;
  {
    MutexLock l(&mu_);
    frames.swap(outbox_);
    commands.swap(commands_);
    woken_ = false;
    uint64_t counter;
    ssize_t n = read(wake_fd_, &counter, sizeof(counter));
    (void)n;  // EAGAIN when already drained is fine.
  }
  for (const Command& c : commands) RunCommand(c);
  for (size_t i = 0; i < frames.size();) {
    OutboundFrame f = Coalesce(&frames, &i);
    switch (f.route) {
      case Route::kPublish: {
        if (!channels_.outbound) break;
        f.address.push_back('\0');  // The wire topic (WireTopic), in place.
        std::string_view parts[2] = {f.address, f.payload};
        Status s = channels_.outbound->Send(parts, 2);
        (s.ok() ? frames_sent_ : frames_dropped_).fetch_add(1, std::memory_order_relaxed);
        break;
      }
      case Route::kSyncReply: {
        if (!channels_.sync_server) break;
        // Replies about a document (snapshots, catch-ups) go in chunks when large; the others
        // (rosters, lists) stay small and reach plain requesters (zincctl ls, stat) whole.
        if (!f.doc.empty() && f.payload.size() > internal::ChunkSender::kChunkBytes) {
          SendChunked(std::move(f));
          break;
        }
        std::string fallback;
        if (!f.fallback_topic.empty()) fallback = f.payload;  // (Rare: a failover's replies.)
        Status s = SendReply(f.address, std::move(f.payload));
        if (s.code() == StatusCode::kUnavailable && !f.fallback_topic.empty() &&
            channels_.outbound) {
          f.fallback_topic.push_back('\0');
          std::string_view parts[2] = {f.fallback_topic, fallback};
          s = channels_.outbound->Send(parts, 2);
          (s.ok() ? frames_sent_ : frames_dropped_).fetch_add(1, std::memory_order_relaxed);
        } else if (s.code() == StatusCode::kUnavailable) {
          frames_dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      }
      case Route::kUpstream:
        if (channels_.upstream) {
          blocked_upstream_bytes_ += f.payload.size();
          blocked_upstream_.push_back(std::move(f));
        }
        break;
      case Route::kSyncRequest:
        if (!channels_.sync_client) break;
        if (attached_) {
          blocked_sync_client_.push_back(std::move(f));
        } else {
          frames_dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      case Route::kJoin:
        if (channels_.sync_client) blocked_sync_client_.push_back(std::move(f));
        break;
      case Route::kDirect:
        SendDirect(std::move(f));
        break;
    }
  }
  if (channels_.upstream && attached_) {
    Flush(channels_.upstream.get(), &blocked_upstream_, &blocked_upstream_bytes_);
  }
  if (channels_.sync_client) Flush(channels_.sync_client.get(), &blocked_sync_client_);
  FlushDirect();
  FlushHeldReplies();
}

OutboundFrame ChannelListener::Coalesce(std::vector<OutboundFrame>* frames, size_t* i) const {
  OutboundFrame& first = (*frames)[*i];
  size_t end = *i + 1;
  if (first.batchable) {
    size_t bytes = first.payload.size();
    while (end < frames->size()) {
      const OutboundFrame& next = (*frames)[end];
      if (!next.batchable || next.route != first.route || next.address != first.address ||
          bytes + next.payload.size() > kBatchBytes) {
        break;
      }
      bytes += next.payload.size();
      ++end;
    }
  }
  const size_t begin = *i;
  *i = end;
  if (end == begin + 1) return std::move(first);
  std::vector<std::string> envelopes;
  envelopes.reserve(end - begin);
  for (size_t k = begin; k < end; ++k) envelopes.push_back(std::move((*frames)[k].payload));
  OutboundFrame batch;
  batch.route = first.route;
  batch.address = first.address;
  batch.payload = EncodeBatch(origin_, first.address, &envelopes);
  return batch;
}

void ChannelListener::SendChunked(OutboundFrame f) {
  std::vector<std::string> chunks =
      chunk_sender_.Start(f.address, std::move(f.doc), std::move(f.payload), SteadyMicros());
  for (std::string& chunk : chunks) {
    Status s = SendReply(f.address, std::move(chunk));
    if (s.code() == StatusCode::kUnavailable)
      frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ChannelListener::OnChunk(const wire::Envelope& env, std::vector<Message>* run) {
  internal::ChunkAssembler::Outcome out = chunk_assembler_.Add(env);
  if (out.refused) {
    sink_->OnBadFrame(ChannelKind::kSyncClient, *out.refused, nullptr, "");
    return;
  }
  if (out.request && channels_.sync_client) {
    blocked_sync_client_.push_back(OutboundFrame{Route::kSyncRequest, "", *std::move(out.request)});
    Flush(channels_.sync_client.get(), &blocked_sync_client_);
  }
  if (!out.reply) {
    if (!env.doc().empty()) sink_->OnTransferProgress(env.doc());
    return;
  }
  // The whole reply, for the sink to decode on the document's strand (a large reply parsed
  // here would hold up this thread, and with it the heartbeats): a Chunk message whose data is
  // all of it (DecodeChunkedReply).
  Message msg;
  msg.channel = ChannelKind::kSyncClient;
  msg.envelope.set_version(env.version());
  msg.envelope.set_origin(env.origin());
  msg.envelope.set_doc(env.doc());
  wire::Chunk* whole = msg.envelope.mutable_chunk();
  whole->set_transfer(env.chunk().transfer());
  whole->set_total(out.reply->size());
  whole->set_data(*std::move(out.reply));
  if (!run->empty() && StrandOf(run->back()) != msg.envelope.doc()) Deliver(run);
  EndpointId::FromBytes(msg.envelope.origin(), &msg.origin);
  run->push_back(std::move(msg));
  Deliver(run);
}

Status DecodeChunkedReply(const Message& whole, const CodecLimits& limits, Message* out) {
  bool batch = false;
  std::vector<std::string_view> elements;
  out->channel = ChannelKind::kSyncClient;
  ZINC_RETURN_IF_ERROR(DecodeFrame(whole.envelope.chunk().data(), limits.max_transfer_bytes, limits,
                                   &out->envelope, &batch, &elements));
  if (batch || out->envelope.has_chunk()) {
    return Status(StatusCode::kUnsupported, "a chunked reply holding a batch or a chunk");
  }
  if (out->envelope.doc() != whole.envelope.doc()) {
    return Status(StatusCode::kMalformed, "a chunked reply about another document");
  }
  EndpointId::FromBytes(out->envelope.origin(), &out->origin);
  return Status::Ok();
}

void ChannelListener::Deliver(std::vector<Message>* run) {
  if (run->empty()) return;
  sink_->OnMessages(std::move(*run));
  run->clear();
}

void ChannelListener::Decode(ChannelKind kind, const Frame& frame, std::vector<Message>* run) {
  // Expected shapes: SUB [topic][envelope], ROUTER [id][envelope], PULL and DEALER [envelope].
  const bool two_parts = kind == ChannelKind::kSubscription || kind == ChannelKind::kSyncServer;
  const size_t want = two_parts ? 2 : 1;
  std::string routing_id =
      kind == ChannelKind::kSyncServer && frame.size() > 0 ? std::string(frame.part(0)) : "";
  if (frame.size() != want) {
    sink_->OnBadFrame(kind, Status(StatusCode::kMalformed, "wrong number of message parts"),
                      nullptr, routing_id);
    return;
  }
  Message msg;
  msg.channel = kind;
  const size_t max_bytes = kind == ChannelKind::kSyncClient ? limits_.max_sync_envelope_bytes
                                                            : limits_.max_envelope_bytes;
  bool batch = false;
  std::vector<std::string_view>& elements = batch_elements_;
  const std::string_view body = frame.part(want - 1);
  Status s = DecodeFrame(body, max_bytes, limits_, &msg.envelope, &batch, &elements);
  if (s.ok() && kind == ChannelKind::kSubscription) {
    // The topic is the envelope's document (or the control topic) and a NUL (WireTopic).
    const std::string_view topic = frame.part(0);
    const bool ended = !topic.empty() && topic.back() == '\0';
    const std::string_view name = topic.substr(0, ended ? topic.size() - 1 : 0);
    const bool control = ended && name == kControlTopic;
    if (!ended || (control ? !msg.envelope.doc().empty() : name != msg.envelope.doc())) {
      s = Status(StatusCode::kMalformed, "topic does not match the envelope's document");
    }
  }
  if (s.ok() && batch && kind != ChannelKind::kInbound && kind != ChannelKind::kSubscription) {
    s = Status(StatusCode::kUnsupported, "a batch on the sync channel");
  }
  if (!s.ok()) {
    const bool named = msg.envelope.origin().size() == 16;
    sink_->OnBadFrame(kind, s, named ? &msg.envelope : nullptr, routing_id);
    return;
  }
  // With keys, the sink admits each message from a child before anything is done with it.
  const bool gated =
      channels_.gated && (kind == ChannelKind::kInbound || kind == ChannelKind::kSyncServer);
  const std::string_view peer = gated ? frame.peer() : std::string_view();
  if (gated && !batch && !sink_->Admit(kind, peer, msg.envelope, routing_id)) return;
  if (msg.envelope.has_chunk() || msg.envelope.has_chunk_request()) {
    // Chunked replies are this listener's business: a chunk only from the parent's sync
    // server, a request only from a child that this host sends a transfer (its routing id).
    if (kind == ChannelKind::kSyncClient && msg.envelope.has_chunk()) {
      OnChunk(msg.envelope, run);
    } else if (kind == ChannelKind::kSyncServer && msg.envelope.has_chunk_request()) {
      std::optional<std::string> chunk =
          chunk_sender_.Next(routing_id, msg.envelope.chunk_request(), SteadyMicros());
      if (chunk && channels_.sync_server) {
        Status sent = SendReply(routing_id, *std::move(chunk));
        if (sent.code() == StatusCode::kUnavailable) {
          frames_dropped_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    } else {
      sink_->OnBadFrame(kind, Status(StatusCode::kUnsupported, "a chunk on the wrong channel"),
                        &msg.envelope, routing_id);
    }
    return;
  }
  if (relay_ && kind == ChannelKind::kSubscription && channels_.outbound) {
    // Down the tree as it came, before this relay handles it.
    Status sent = channels_.outbound->Send(frame);  // Shares the buffers: no copy.
    (sent.ok() ? frames_sent_ : frames_dropped_).fetch_add(1, std::memory_order_relaxed);
  }
  // A batch from a child of a host with keys: each element admitted (or not) before a relay
  // sends any of it upward.
  std::vector<Message> admitted;
  bool refused = false;
  if (gated && batch) {
    admitted.reserve(elements.size());
    for (std::string_view bytes : elements) {
      Message element;
      element.channel = kind;
      Status es =
          DecodeBatchElement(bytes, msg.envelope.doc(), max_bytes, limits_, &element.envelope);
      if (!es.ok()) {
        const bool named = element.envelope.origin().size() == 16;
        sink_->OnBadFrame(kind, es, named ? &element.envelope : nullptr, routing_id);
        refused = true;
        continue;
      }
      if (!sink_->Admit(kind, peer, element.envelope, routing_id)) {
        refused = true;
        continue;
      }
      EndpointId::FromBytes(element.envelope.origin(), &element.origin);
      admitted.push_back(std::move(element));
    }
  }
  if (relay_ && kind == ChannelKind::kInbound) {
    // Up the tree as it came: the root sequences it. Only control traffic (a child's member
    // report) concerns this relay too, and a child's heartbeat concerns it alone.
    const bool own_business = !batch && msg.envelope.doc().empty() &&
                              (msg.envelope.has_heartbeat() || msg.envelope.has_root_lost() ||
                               msg.envelope.has_takeover());
    if ((!attached_ && blocked_upstream_.size() >= kMaxHeldUpstream) ||
        blocked_upstream_bytes_ >= kMaxHeldUpstreamBytes) {
      // Cut off from its parent for long, or a parent slower than the children: they send
      // their edits again when they see no acknowledgement, so the queue is not allowed to
      // grow without bound.
      frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    } else if (channels_.upstream && !own_business) {
      if (refused) {
        // Only what was admitted goes on, each element alone.
        for (const Message& e : admitted) {
          blocked_upstream_.push_back(
              OutboundFrame{Route::kUpstream, "", EncodeEnvelope(e.envelope)});
          blocked_upstream_bytes_ += blocked_upstream_.back().payload.size();
        }
      } else {
        blocked_upstream_.push_back(OutboundFrame{Route::kUpstream, "", std::string(body)});
        blocked_upstream_bytes_ += body.size();
      }
    }
    if (batch || !msg.envelope.doc().empty()) return;
  }
  if (!run->empty() && StrandOf(run->back()) != msg.envelope.doc()) Deliver(run);
  if (!batch) {
    EndpointId::FromBytes(msg.envelope.origin(), &msg.origin);
    msg.routing_id = std::move(routing_id);
    if (gated && kind == ChannelKind::kSyncServer) msg.peer = std::string(peer);
    run->push_back(std::move(msg));
    if (run->size() >= kMaxRun) Deliver(run);
    return;
  }
  if (gated) {
    for (Message& e : admitted) {
      run->push_back(std::move(e));
      if (run->size() >= kMaxRun) Deliver(run);
    }
    return;
  }
  // A batch: each element stands alone, as if it had come in a frame of its own.
  const std::string& doc = msg.envelope.doc();
  run->reserve(std::min(kMaxRun, run->size() + elements.size()));
  for (std::string_view bytes : elements) {
    Message& element = run->emplace_back();
    element.channel = kind;
    Status es = DecodeBatchElement(bytes, doc, max_bytes, limits_, &element.envelope);
    if (!es.ok()) {
      const bool named = element.envelope.origin().size() == 16;
      sink_->OnBadFrame(kind, es, named ? &element.envelope : nullptr, routing_id);
      run->pop_back();
      continue;
    }
    EndpointId::FromBytes(element.envelope.origin(), &element.origin);
    if (run->size() >= kMaxRun) Deliver(run);
  }
}

void ChannelListener::ReadChannel(Channel* channel, ChannelKind kind) {
  std::vector<Message> run;
  for (int i = 0; i < kReadBurst && !stop_.load(std::memory_order_relaxed); ++i) {
    Result<bool> got = channel->Receive(&frame_);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kClosed) break;
      sink_->OnBadFrame(kind, got.status(), nullptr, "");
      continue;
    }
    if (!*got) break;
    Decode(kind, frame_, &run);
  }
  Deliver(&run);
}

void ChannelListener::ReadSubscriptions() {
  Frame frame;
  for (int i = 0; i < kReadBurst && !stop_.load(std::memory_order_relaxed); ++i) {
    Result<bool> got = channels_.outbound->Receive(&frame, 1);
    if (!got.ok() || !*got) break;
    // "\x01filter" or "\x00filter", one part; anything else is not from a SUB.
    if (frame.size() != 1 || frame.part(0).empty() ||
        static_cast<unsigned char>(frame.part(0)[0]) > 1) {
      continue;
    }
    const std::string_view p = frame.part(0);
    const bool subscribe = p[0] == 1;
    const std::string_view filter = p.substr(1);
    // A filter is "" (every topic) or a name and its NUL (WireTopic); counted by the name.
    const bool ended = !filter.empty() && filter.back() == '\0';
    const std::string topic(filter.substr(0, ended ? filter.size() - 1 : filter.size()));
    if (channels_.gated) {
      // A manual XPUB: nothing takes effect unless applied here, right after it was read.
      // A prefix that is not a whole name is never applied (it would match other names).
      // Unsubscriptions get the same answer as their subscriptions (the rights are the same
      // until a reload, and a reload rebinds: Rebind), so that the counts stay true.
      // A subscriber gone: libzmq unsubscribes what was applied for it, with no key (its
      // connection is closed), and there is nothing left to apply.
      const bool gone = !subscribe && frame.peer().empty();
      if (!gone) {
        if ((!ended && !filter.empty()) || !sink_->AdmitSubscription(frame.peer(), topic)) {
          continue;
        }
        Status applied = subscribe ? channels_.outbound->Subscribe(filter)
                                   : channels_.outbound->Unsubscribe(filter);
        (void)applied;  // Only on a closing socket.
      }
    }
    // Counted per subscriber (the XPUB is verboser); the sink hears of the first and the last.
    bool edge = true;
    {
      MutexLock l(&subscribers_mu_);
      auto it = subscribers_.find(topic);
      if (subscribe) {
        if (it != subscribers_.end()) {
          edge = it->second++ == 0;
        } else if (subscribers_.size() < kMaxCountedTopics) {
          subscribers_.emplace(topic, 1);
        }
      } else if (it != subscribers_.end()) {
        edge = --it->second == 0;
        if (edge) subscribers_.erase(it);
      }
    }
    if (edge) sink_->OnSubscription(topic, subscribe);
  }
}

uint32_t ChannelListener::Subscribers(const std::string& topic) const {
  MutexLock l(&subscribers_mu_);
  auto it = subscribers_.find(topic);
  return it == subscribers_.end() ? 0 : it->second;
}

void ChannelListener::ReadHandshakes() {
  Channel::HandshakeEvent event;
  for (int i = 0; i < 64 && handshakes_; ++i) {
    Result<bool> got = handshakes_->ReadHandshakeEvent(&event);
    if (!got.ok() || !*got) return;
    sink_->OnHandshake(event);
  }
}

void ChannelListener::Run() {
  struct Readable {
    Channel* channel;
    ChannelKind kind;
  };
  std::vector<Readable> readables;
  using SteadyClock = std::chrono::steady_clock;
  auto next_tick = SteadyClock::now() + tick_;
  std::vector<PollItem> items;
  while (!stop_.load()) {
    // Built every round: joining replaces the client channels. None while the sink is
    // saturated (asked again within a millisecond): the loop then only sends and ticks.
    readables.clear();
    const bool saturated = sink_->Saturated();
    if (!saturated) {
      if (channels_.inbound) {
        readables.push_back({channels_.inbound.get(), ChannelKind::kInbound});
      }
      if (channels_.sync_server) {
        readables.push_back({channels_.sync_server.get(), ChannelKind::kSyncServer});
      }
      if (channels_.subscription) {
        readables.push_back({channels_.subscription.get(), ChannelKind::kSubscription});
      }
      if (channels_.sync_client) {
        readables.push_back({channels_.sync_client.get(), ChannelKind::kSyncClient});
      }
    }
    items.clear();
    // The XPUB of a host, read for subscriptions; last, after the readables (Rebind may
    // replace it).
    const bool read_subscriptions = channels_.xpub && channels_.outbound;
    for (const Readable& r : readables) {
      PollItem it;
      it.channel = r.channel;
      items.push_back(it);
    }
    if (read_subscriptions) {
      PollItem it;
      it.channel = channels_.outbound.get();
      items.push_back(it);
    }
    const size_t handshakes_at = items.size();
    if (handshakes_) {
      PollItem it;
      it.channel = handshakes_.get();
      items.push_back(it);
    }
    PollItem wake;
    wake.fd = wake_fd_;
    items.push_back(wake);
    // Poll for room on a socket only while frames wait for it.
    if (!blocked_upstream_.empty() && attached_) {
      PollItem it;
      it.channel = channels_.upstream.get();
      it.want_in = false;
      it.want_out = true;
      items.push_back(it);
    }
    if (!blocked_sync_client_.empty()) {
      PollItem it;
      it.channel = channels_.sync_client.get();
      it.want_in = false;
      it.want_out = true;
      items.push_back(it);
    }
    for (const auto& [address, d] : direct_) {
      if (d.waiting.empty()) continue;
      PollItem it;
      it.channel = d.channel.get();
      it.want_in = false;
      it.want_out = true;
      items.push_back(it);
    }
    auto now = SteadyClock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now);
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    // Held replies are tried again each round: a ROUTER says only that some peer has room.
    if (saturated || !held_replies_.empty()) wait = std::min(wait, std::chrono::milliseconds(1));
    if (!Poll(&items, wait).ok()) break;
    if (stop_.load()) break;
    for (size_t i = 0; i < readables.size(); ++i) {
      if (items[i].readable) ReadChannel(readables[i].channel, readables[i].kind);
    }
    if (read_subscriptions && items[readables.size()].readable) ReadSubscriptions();
    if (handshakes_ && items[handshakes_at].readable) ReadHandshakes();
    // The outbox is drained every round, not only on wake-ups: the eventfd is edge-like. It
    // flushes the frames that waited for room too.
    DrainOutbox();
    if (SteadyClock::now() >= next_tick) {
      next_tick = SteadyClock::now() + tick_;
      chunk_sender_.Expire(SteadyMicros());
      sink_->OnTick();
    }
  }
  // What was queued before Stop (a leaving member's report) goes out, as far as the sockets
  // take it without waiting.
  DrainOutbox();
}

}  // namespace zinc

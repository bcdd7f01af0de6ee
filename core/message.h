#pragma once

#include <cstdint>
#include <string>

#include "core/codec.h"
#include "core/ids.h"

namespace zinc {

// The kinds of Message, one per envelope body; MessageHandlers register by kind.
enum class MessageKind {
  kFragment = 0,
  kHeartbeat,
  kSnapshotRequest,
  kSnapshotReply,
  kCatchupRequest,
  kCatchupReply,
  kNack,
  kPresence,
  kJoinRequest,
  kJoinReply,
  kMemberReport,
  kRosterRequest,
  kRoster,
  kRootLost,
  kTakeover,
  kTailOffer,
  kListRequest,
  kDocumentList,
  kDeleteRequest,
  kDeleted,
  kChunk,  // handled by the ChannelListener itself (chunked sync replies)
  kChunkRequest,
  kDurable,
  kCount,
};

// The socket a Message arrived on.
enum class ChannelKind {
  kInbound,       // host side: PULL, children's fragments
  kSyncServer,    // host side: ROUTER, snapshot and catch-up requests
  kSubscription,  // client side: SUB, the parent's sequenced fragments
  kSyncClient,    // client side: DEALER, replies and nacks from the parent
};

const char* ChannelKindName(ChannelKind kind);

// A decoded envelope plus its routing frames. Value type; thread-compatible.
struct Message {
  ChannelKind channel = ChannelKind::kInbound;
  // ROUTER routing id of the peer, for replies (kSyncServer only).
  std::string routing_id;
  // The key the peer connected with (Frame::peer), on a host with keys; kSyncServer only.
  std::string peer;
  wire::Envelope envelope;
  // envelope.origin(), parsed.
  EndpointId origin;

  MessageKind kind() const;
};

// Where a frame built by a handler goes.
enum class Route {
  kPublish,      // PUB to children: [topic][payload]
  kUpstream,     // PUSH to the parent: [payload]
  kSyncRequest,  // DEALER to the parent: [payload]
  kSyncReply,    // ROUTER to one child: [routing id][payload]
  kJoin,         // DEALER to the member asked to join, before joining: [payload]
  kDirect,       // PUSH to the inbound address in `address` (failover votes): [payload]
};

// One encoded frame on its way to a socket. Value type.
struct OutboundFrame {
  OutboundFrame() = default;
  OutboundFrame(Route r, std::string a, std::string p, bool b = false)
      : route(r), address(std::move(a)), payload(std::move(p)), batchable(b) {}

  Route route = Route::kPublish;
  // The topic (kPublish), routing id (kSyncReply), inbound address (kDirect) or, for a
  // batchable kUpstream frame, the document id; unused otherwise.
  std::string address;
  std::string payload;
  // payload is one Envelope holding a fragment of document `address`, and may travel in a
  // wire::Batch with the frames queued next to it (kPublish and kUpstream only).
  bool batchable = false;
  // kSyncReply only: when no child is connected with that routing id (the author of a refused
  // fragment joined through a relay), the payload is published on this topic instead, if set.
  std::string fallback_topic;
  // kSyncReply only: the document the reply is about (SyncReplyFrame). Such a reply over
  // ChunkSender::kChunkBytes goes in chunks (wire::Chunk) that name it; one without stays whole.
  std::string doc;
};

// A reply on the sync channel to routing_id: env encoded, naming env's document (so that a large
// one goes in chunks).
inline OutboundFrame SyncReplyFrame(std::string routing_id, const wire::Envelope& env) {
  OutboundFrame f(Route::kSyncReply, std::move(routing_id), EncodeEnvelope(env));
  f.doc = env.doc();
  return f;
}

}  // namespace zinc

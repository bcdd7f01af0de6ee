#include "core/message.h"

namespace zinc {

const char* ChannelKindName(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kInbound:
      return "inbound";
    case ChannelKind::kSyncServer:
      return "sync";
    case ChannelKind::kSubscription:
      return "subscription";
    case ChannelKind::kSyncClient:
      return "sync-client";
  }
  return "?";
}

MessageKind Message::kind() const {
  switch (envelope.body_case()) {
    case wire::Envelope::kFragment:
      return MessageKind::kFragment;
    case wire::Envelope::kHeartbeat:
      return MessageKind::kHeartbeat;
    case wire::Envelope::kSnapshotRequest:
      return MessageKind::kSnapshotRequest;
    case wire::Envelope::kSnapshotReply:
      return MessageKind::kSnapshotReply;
    case wire::Envelope::kCatchupRequest:
      return MessageKind::kCatchupRequest;
    case wire::Envelope::kCatchupReply:
      return MessageKind::kCatchupReply;
    case wire::Envelope::kNack:
      return MessageKind::kNack;
    case wire::Envelope::kPresence:
      return MessageKind::kPresence;
    case wire::Envelope::kJoinRequest:
      return MessageKind::kJoinRequest;
    case wire::Envelope::kJoinReply:
      return MessageKind::kJoinReply;
    case wire::Envelope::kMemberReport:
      return MessageKind::kMemberReport;
    case wire::Envelope::kRosterRequest:
      return MessageKind::kRosterRequest;
    case wire::Envelope::kRoster:
      return MessageKind::kRoster;
    case wire::Envelope::kRootLost:
      return MessageKind::kRootLost;
    case wire::Envelope::kTakeover:
      return MessageKind::kTakeover;
    case wire::Envelope::kTailOffer:
      return MessageKind::kTailOffer;
    case wire::Envelope::kListRequest:
      return MessageKind::kListRequest;
    case wire::Envelope::kDocumentList:
      return MessageKind::kDocumentList;
    case wire::Envelope::kDeleteRequest:
      return MessageKind::kDeleteRequest;
    case wire::Envelope::kDeleted:
      return MessageKind::kDeleted;
    case wire::Envelope::kChunk:
      return MessageKind::kChunk;
    case wire::Envelope::kChunkRequest:
      return MessageKind::kChunkRequest;
    case wire::Envelope::kDurable:
      return MessageKind::kDurable;
    case wire::Envelope::kBatch:  // Unpacked by the ChannelListener; never handled as one.
    case wire::Envelope::BODY_NOT_SET:
      break;
  }
  return MessageKind::kCount;
}

}  // namespace zinc

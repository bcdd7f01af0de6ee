#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "core/message.h"

namespace zinc {

// Code that acts on one kind of Message. Handle runs on a HandlerPool worker, on the strand of
// the message's document, so it sees the messages of one document one at a time in arrival
// order. Implementations must not block. Thread-safe (called from several workers for
// different documents).
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // Consumes msg. Errors are the handler's to report (nack, counter, log).
  virtual void Handle(Message msg) = 0;
  // Consumes msgs[0, n), which arrived together and in this order, all of this handler's kind,
  // one channel and one strand. A handler may override it to take one lock and send one batch
  // for the lot; the default handles them one by one.
  virtual void HandleBatch(Message* msgs, size_t n) {
    for (size_t i = 0; i < n; ++i) Handle(std::move(msgs[i]));
  }
};

// MessageHandlers by MessageKind. Filled before the ChannelListener starts, then only read.
// Thread-compatible.
class HandlerRegistry {
 public:
  // handler must outlive this registry. Replaces any handler of that kind.
  void Register(MessageKind kind, MessageHandler* handler) {
    handlers_[static_cast<size_t>(kind)] = handler;
  }
  // The handler for kind, or nullptr when none serves it (the message is then refused as
  // kUnsupported).
  MessageHandler* Find(MessageKind kind) const {
    size_t i = static_cast<size_t>(kind);
    return i < handlers_.size() ? handlers_[i] : nullptr;
  }

 private:
  std::array<MessageHandler*, static_cast<size_t>(MessageKind::kCount)> handlers_{};
};

}  // namespace zinc

#pragma once

// A fake EndpointCore for the unit tests of endpoints/' parts: no sockets and no threads. Time is
// a ManualClock the test advances, sent frames are kept for the test to read, and posted tasks run
// when the test runs them. Test code only.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/codec.h"
#include "endpoints/endpoint_internal.h"

namespace zinc {
namespace internal {

class FakeCore final : public EndpointCore {
 public:
  FakeCore()
      : id_(EndpointId::Random()), logger_(&clock_, LogLevel::kWarn, "fake"), metrics_(&counters_) {
    clock_.Advance(1000000);
  }

  const EndpointId& id() const override { return id_; }
  const EndpointOptions& options() const override { return options_; }
  const Clock& clock() const override { return clock_; }
  Logger& logger() override { return logger_; }
  Counters& counters() override { return counters_; }
  const EndpointMetrics& metrics() const override { return metrics_; }
  uint64_t epoch() const override { return epoch_; }
  bool accepting() const override { return accepting_; }
  bool is_relay() const override { return relay_; }
  void Send(OutboundFrame frame) override { sent_.push_back(std::move(frame)); }
  void Send(std::vector<OutboundFrame> frames) override {
    for (OutboundFrame& f : frames) sent_.push_back(std::move(f));
  }
  void Post(const std::string&, std::function<void()> task) override {
    posted_.push_back(std::move(task));
  }

  // Runs the posted tasks (and those they post) in order.
  void RunPosted() {
    while (!posted_.empty()) {
      std::function<void()> task = std::move(posted_.front());
      posted_.erase(posted_.begin());
      task();
    }
  }
  // The frames sent since the last call, decoded, with their routes; clears them.
  std::vector<std::pair<Route, wire::Envelope>> TakeSent() {
    std::vector<std::pair<Route, wire::Envelope>> out;
    for (const OutboundFrame& f : sent_) {
      wire::Envelope e;
      e.ParseFromString(f.payload);
      out.emplace_back(f.route, std::move(e));
    }
    sent_.clear();
    return out;
  }
  // An envelope as another endpoint (origin) would send it about doc.
  static wire::Envelope From(const EndpointId& origin, const std::string& doc, uint64_t epoch) {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_origin(std::string(origin.bytes()));
    e.set_doc(doc);
    e.set_epoch(epoch);
    return e;
  }

  ManualClock& manual_clock() { return clock_; }
  EndpointOptions& mutable_options() { return options_; }
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }
  void set_relay(bool relay) { relay_ = relay; }
  void set_accepting(bool accepting) { accepting_ = accepting; }
  int64_t retry_micros() const { return std::chrono::microseconds(options_.retry).count(); }

 private:
  const EndpointId id_;
  ManualClock clock_;
  EndpointOptions options_;
  Logger logger_;
  Counters counters_;
  EndpointMetrics metrics_;
  uint64_t epoch_ = 1;
  bool accepting_ = true;
  bool relay_ = false;
  std::vector<OutboundFrame> sent_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace internal
}  // namespace zinc

// ChannelListener's sync server over real sockets (tcp loopback): what one peer that asks and
// never reads can make a host hold is bounded (docs/security.md, Bounds and limits), the other
// peers are served meanwhile, and the held replies go once the peer reads.

#include "endpoints/channel_listener.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "endpoints/chunks.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::WaitFor;

const std::string kHost(16, 'h');

// Answers every snapshot request with a reply of reply_bytes about its document, made on a
// thread of its own as an endpoint's handlers do.
class ReplyingSink : public ChannelListener::Sink {
 public:
  explicit ReplyingSink(size_t reply_bytes) : state_(reply_bytes, 's') {
    worker_ = std::thread([this] { Work(); });
  }
  ~ReplyingSink() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }
  void set_listener(ChannelListener* l) { listener_ = l; }
  int requests() const { return requests_.load(); }

  void OnMessages(std::vector<Message> msgs) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      for (Message& m : msgs) {
        if (m.envelope.has_snapshot_request()) queue_.push_back(std::move(m));
      }
    }
    cv_.notify_one();
  }
  void OnBadFrame(ChannelKind, const Status&, const wire::Envelope*, const std::string&) override {}
  void OnTick() override {}

 private:
  void Work() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Message m = std::move(queue_.front());
      queue_.pop_front();
      l.unlock();
      wire::Envelope e;
      e.set_version(kProtocolVersion);
      e.set_origin(kHost);
      e.set_doc(m.envelope.doc());
      e.mutable_snapshot_reply()->set_found(true);
      e.mutable_snapshot_reply()->set_state(state_);
      listener_->Send(SyncReplyFrame(m.routing_id, e));
      requests_.fetch_add(1);
      l.lock();
    }
  }

  const std::string state_;
  ChannelListener* listener_ = nullptr;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
  bool stop_ = false;
  std::thread worker_;
};

// This process's resident set, in bytes (Linux).
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

std::string Request(const std::string& origin, const std::string& doc) {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(origin);
  e.set_doc(doc);
  e.mutable_snapshot_request();
  return EncodeEnvelope(e);
}

std::unique_ptr<Channel> Dealer(ChannelContext* context, const std::string& address, int rcvhwm,
                                int rcvbuf) {
  ChannelOptions o;
  o.rcvhwm = rcvhwm;
  o.rcvbuf = rcvbuf;
  o.max_message_bytes = 64 << 20;
  auto dealer = std::move(Channel::Create(context, SocketType::kDealer, o)).value();
  EXPECT_TRUE(dealer->Connect(address).ok());
  return dealer;
}

// Receives one envelope from dealer within the deadline.
bool Receive(Channel* dealer, wire::Envelope* out) {
  std::vector<std::string> parts;
  bool got = WaitFor([&] {
    Result<bool> r = dealer->Receive(&parts);
    return r.ok() && *r;
  });
  return got && parts.size() == 1 && out->ParseFromString(parts[0]);
}

TEST(ChannelListenerTest, APeerThatAsksAndNeverReadsIsHeldToItsBound) {
  ChannelContext context;
  ChannelOptions router_options;
  router_options.sndhwm = ChannelListener::kSyncServerHwm;
  ChannelListener::Channels channels;
  channels.sync_server =
      std::move(Channel::Create(&context, SocketType::kRouter, router_options)).value();
  const std::string address = channels.sync_server->Bind("tcp://127.0.0.1:*").value();
  constexpr size_t kReplyBytes = 2 << 20;  // A 2 MB document: each reply goes in 8 chunks.
  ReplyingSink sink(kReplyBytes);
  ChannelListener listener(std::move(channels), &sink, CodecLimits(), std::chrono::milliseconds(20),
                           kHost);
  sink.set_listener(&listener);
  ASSERT_TRUE(listener.Start().ok());

  // The greedy peer takes one frame into its socket and a few KB into its kernel buffer.
  ChannelContext peers;
  auto greedy = Dealer(&peers, address, /*rcvhwm=*/1, /*rcvbuf=*/4096);
  auto honest = Dealer(&peers, address, 1000, 0);
  // Asks for 10 documents n times each, then fetches one whole reply as the honest peer: it is
  // served meanwhile, and since the replies go in the order queued, the greedy peer's have all
  // been dealt with by then.
  int asked = 0;
  auto greedy_asks = [&](int n) {
    for (int i = 0; i < n * 10; ++i) {
      std::string req = Request(std::string(16, 'g'), "doc" + std::to_string(i % 10));
      std::string_view part(req);
      ASSERT_TRUE(WaitFor([&] { return greedy->Send(&part, 1).ok(); }));
    }
    asked += n * 10;
    ASSERT_TRUE(WaitFor([&] { return sink.requests() == asked; }, std::chrono::seconds(120)));
    std::string req = Request(std::string(16, 'o'), "other");
    std::string_view part(req);
    ASSERT_TRUE(honest->Send(&part, 1).ok());
    internal::ChunkAssembler assembler(std::string(16, 'o'), size_t{1} << 30);
    std::optional<std::string> whole;
    while (!whole) {
      wire::Envelope chunk;
      ASSERT_TRUE(Receive(honest.get(), &chunk));
      ASSERT_TRUE(chunk.has_chunk());
      internal::ChunkAssembler::Outcome out = assembler.Add(chunk);
      ASSERT_FALSE(out.refused) << out.refused->ToString();
      if (out.request) {
        std::string_view r(*out.request);
        ASSERT_TRUE(honest->Send(&r, 1).ok());
      }
      whole = std::move(out.reply);
    }
    wire::Envelope reply;
    ASSERT_TRUE(reply.ParseFromString(*whole));
    EXPECT_EQ(reply.snapshot_reply().state().size(), kReplyBytes);
    ++asked;
  };
  const size_t before = ResidentBytes();
  greedy_asks(2);
  const size_t after_20 = ResidentBytes();
  greedy_asks(20);
  const size_t after_220 = ResidentBytes();
  // The greedy peer: at most kMaxTransfersPerPeer replies held (8 MB), 64 frames of 256 KiB in
  // its pipe, and 4 MiB waiting for room, so that 200 more requests hold no more than the first
  // 20. With the ROUTER's high-water mark at 10,000 frames as before, 200 more were 250 MB more.
  EXPECT_LE(listener.held_reply_bytes(), ChannelListener::kMaxHeldReplyBytesPerPeer);
  const auto mb = [](size_t from, size_t to) { return (to > from ? to - from : 0) / 1e6; };
  std::printf("resident set: +%.1f MB after 20 requests, +%.1f MB after 200 more\n",
              mb(before, after_20), mb(after_20, after_220));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // (A sanitizer's shadow memory moves with what is touched.)
  EXPECT_LT(mb(before, after_20), 200);
  EXPECT_LT(mb(after_20, after_220), 48);
#endif
  EXPECT_GT(listener.frames_dropped(), 0u);

  // Once it reads, what was held flows, and one whole reply (the newest of a document) comes.
  internal::ChunkAssembler greedy_assembler(std::string(16, 'g'), size_t{1} << 30);
  bool complete = false;
  ASSERT_TRUE(WaitFor([&] {
    std::vector<std::string> parts;
    while (true) {
      Result<bool> r = greedy->Receive(&parts);
      if (!r.ok() || !*r) break;
      wire::Envelope chunk;
      if (parts.size() != 1 || !chunk.ParseFromString(parts[0]) || !chunk.has_chunk()) continue;
      internal::ChunkAssembler::Outcome out = greedy_assembler.Add(chunk);
      if (out.request) {
        std::string_view r2(*out.request);
        (void)greedy->Send(&r2, 1);
      }
      if (out.reply) complete = true;
    }
    return complete;
  }));
  listener.Stop();
}

}  // namespace
}  // namespace zinc

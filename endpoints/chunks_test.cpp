// ChunkSender and ChunkAssembler without sockets: a large reply goes in 256 KiB pieces, at most
// kWindow in flight, only to the peer it is for, and is reassembled byte for byte.

#include "endpoints/chunks.h"

#include <deque>
#include <string>

#include <gtest/gtest.h>

namespace zinc {
namespace internal {
namespace {

const std::string kHost(16, 'h');
const std::string kClient(16, 'c');

wire::Envelope Parse(const std::string& bytes) {
  wire::Envelope e;
  EXPECT_TRUE(e.ParseFromString(bytes));
  return e;
}

std::string Reply(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 7);
  return s;
}

TEST(ChunksTest, ALargeReplyIsReassembledWithAtMostAWindowInFlight) {
  ChunkSender sender(kHost);
  ChunkAssembler assembler(kClient, size_t{1} << 30);
  const std::string reply = Reply(ChunkSender::kChunkBytes * 9 + 12345);
  std::deque<std::string> in_flight(0);
  for (std::string& c : sender.Start("peer", "doc", reply, 0)) in_flight.push_back(std::move(c));
  EXPECT_EQ(in_flight.size(), ChunkSender::kWindow);
  std::string got;
  size_t chunks = 0;
  while (!in_flight.empty()) {
    ASSERT_LE(in_flight.size(), ChunkSender::kWindow);
    wire::Envelope chunk = Parse(in_flight.front());
    in_flight.pop_front();
    EXPECT_EQ(chunk.doc(), "doc");
    EXPECT_EQ(chunk.origin(), kHost);
    ++chunks;
    ChunkAssembler::Outcome out = assembler.Add(chunk);
    ASSERT_FALSE(out.refused);
    if (out.reply) got = *out.reply;
    if (out.request) {
      wire::Envelope req = Parse(*out.request);
      EXPECT_EQ(req.origin(), kClient);
      std::optional<std::string> next = sender.Next("peer", req.chunk_request(), 1);
      ASSERT_TRUE(next);
      in_flight.push_back(*next);
    }
  }
  EXPECT_EQ(chunks, 10u);
  EXPECT_EQ(got, reply);
  EXPECT_EQ(sender.transfers(), 0u);  // Done once the last chunk went.
  EXPECT_EQ(assembler.transfers(), 0u);
}

TEST(ChunksTest, OnlyThePeerATransferIsForGetsItsChunks) {
  ChunkSender sender(kHost);
  std::vector<std::string> first =
      sender.Start("peer", "doc", Reply(ChunkSender::kChunkBytes * 6), 0);
  wire::ChunkRequest req;
  req.set_transfer(Parse(first[0]).chunk().transfer());
  req.set_offset(ChunkSender::kChunkBytes * 4);
  EXPECT_FALSE(sender.Next("stranger", req, 0));
  req.set_offset(ChunkSender::kChunkBytes * 6);  // Past the end.
  EXPECT_FALSE(sender.Next("peer", req, 0));
  req.set_transfer(req.transfer() + 1);  // Unknown.
  req.set_offset(0);
  EXPECT_FALSE(sender.Next("peer", req, 0));
  EXPECT_EQ(sender.transfers(), 1u);
  sender.Expire(ChunkSender::kIdleMicros);
  EXPECT_EQ(sender.transfers(), 0u);
  EXPECT_EQ(sender.bytes(), 0u);
}

TEST(ChunksTest, TheAssemblerRefusesChunksOutOfOrderOrOverItsLimit) {
  ChunkSender sender(kHost);
  std::vector<std::string> first =
      sender.Start("peer", "doc", Reply(ChunkSender::kChunkBytes * 5), 0);
  ChunkAssembler small(kClient, ChunkSender::kChunkBytes * 2);
  EXPECT_TRUE(small.Add(Parse(first[0])).refused);
  ChunkAssembler assembler(kClient, size_t{1} << 30);
  EXPECT_TRUE(assembler.Add(Parse(first[1])).refused);  // Not the start of a transfer.
  EXPECT_FALSE(assembler.Add(Parse(first[0])).refused);
  EXPECT_TRUE(assembler.Add(Parse(first[2])).refused);  // Skips a chunk: the transfer is gone.
  EXPECT_EQ(assembler.transfers(), 0u);
}

TEST(ChunksTest, TheSenderHoldsAtMostItsBoundOfTransfers) {
  ChunkSender sender(kHost);
  const std::string reply = Reply(ChunkSender::kChunkBytes * 5);
  for (size_t i = 0; i < ChunkSender::kMaxTransfers + 10; ++i) {
    sender.Start("peer" + std::to_string(i), "doc", reply, 0);
  }
  EXPECT_EQ(sender.transfers(), ChunkSender::kMaxTransfers);
  EXPECT_EQ(sender.bytes(), ChunkSender::kMaxTransfers * reply.size());
}

TEST(ChunksTest, OnePeerHoldsAtMostItsShareAndAskingAgainReplacesTheTransfer) {
  ChunkSender sender(kHost);
  const std::string reply = Reply(ChunkSender::kChunkBytes * 5);
  // A peer that asks for one document 40 times and reads nothing holds one transfer.
  for (int i = 0; i < 40; ++i) sender.Start("greedy", "doc", reply, 0);
  EXPECT_EQ(sender.transfers_for("greedy"), 1u);
  // Forty documents: its newest kMaxTransfersPerPeer.
  std::vector<std::string> last;
  for (int i = 0; i < 40; ++i) last = sender.Start("greedy", "d" + std::to_string(i), reply, 0);
  EXPECT_EQ(sender.transfers_for("greedy"), ChunkSender::kMaxTransfersPerPeer);
  EXPECT_EQ(sender.bytes(), ChunkSender::kMaxTransfersPerPeer * reply.size());
  // Another peer is not affected, and the newest transfer goes on.
  sender.Start("other", "doc", reply, 0);
  EXPECT_EQ(sender.transfers_for("other"), 1u);
  wire::ChunkRequest req;
  req.set_transfer(Parse(last[0]).chunk().transfer());
  req.set_offset(ChunkSender::kChunkBytes * 4);
  EXPECT_TRUE(sender.Next("greedy", req, 0));
}

}  // namespace
}  // namespace internal
}  // namespace zinc

// The Store contract, run against both engines: memory and LMDB in a real directory (real
// files, real fsync). Corruption, truncation and a second process are tested on LMDB's files.

#include "store/store.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/lmdb_store.h"

namespace zinc {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/zinc-store-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class Engine { kMemory, kLmdb };

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  StoreTest() { Reopen(); }
  void Reopen() {
    store_.reset();
    if (GetParam() == Engine::kMemory) {
      if (!memory_) memory_ = NewMemoryStore();
      return;
    }
    Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir_.path() + "/data");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  Store* store() { return store_ ? store_.get() : memory_.get(); }

  TempDir dir_;
  std::unique_ptr<Store> memory_;  // survives "reopening"
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, KeepsTypeLogSnapshotAndEpochAcrossAReopen) {
  WriteBatch b;
  b.Create("notes", "text");
  b.Create("board", "map");
  for (uint64_t seq = 1; seq <= 5; ++seq) b.Append("notes", seq, "r" + std::to_string(seq));
  b.SetEpoch(3);
  ASSERT_TRUE(store()->Commit(b).ok());
  WriteBatch c;
  c.PutSnapshot("notes", 3, "state@3");
  c.Append("board", 1, std::string("\0bin\xff", 5));
  ASSERT_TRUE(store()->Commit(c).ok());
  Reopen();
  EXPECT_EQ(*store()->Epoch(), 3u);
  EXPECT_EQ(*store()->Documents(), (std::vector<std::string>{"board", "notes"}));
  Result<StoredDocument> notes = store()->Load("notes");
  ASSERT_TRUE(notes.ok()) << notes.status().ToString();
  EXPECT_EQ(notes->type, "text");
  EXPECT_EQ(notes->snapshot_seq, 3u);
  EXPECT_EQ(notes->snapshot, "state@3");
  ASSERT_EQ(notes->log.size(), 2u);  // after the snapshot
  EXPECT_EQ(notes->log[0], (std::pair<uint64_t, std::string>{4, "r4"}));
  EXPECT_EQ(notes->log[1], (std::pair<uint64_t, std::string>{5, "r5"}));
  EXPECT_EQ(notes->log_from, 1u);
  Result<StoredDocument> board = store()->Load("board");
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->type, "map");
  EXPECT_EQ(board->snapshot_seq, 0u);
  ASSERT_EQ(board->log.size(), 1u);
  EXPECT_EQ(board->log[0].second, std::string("\0bin\xff", 5));
  EXPECT_EQ(store()->Load("nothing").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, ReadsARangeOfTheLogAndCompactsBehindASnapshot) {
  WriteBatch b;
  b.Create("d", "map");
  for (uint64_t seq = 1; seq <= 100; ++seq) b.Append("d", seq, std::to_string(seq));
  ASSERT_TRUE(store()->Commit(b).ok());
  std::vector<uint64_t> seen;
  ASSERT_TRUE(store()
                  ->ReadLog("d", 10, 20,
                            [&](uint64_t seq, std::string_view r) {
                              EXPECT_EQ(r, std::to_string(seq));
                              seen.push_back(seq);
                              return seq < 15;
                            })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{10, 11, 12, 13, 14, 15}));
  WriteBatch c;
  c.PutSnapshot("d", 90, "s90", /*keep_from=*/60);
  ASSERT_TRUE(store()->Commit(c).ok());
  Reopen();
  Result<StoredDocument> d = store()->Load("d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->log_from, 60u);
  EXPECT_EQ(d->log.size(), 10u);
  seen.clear();
  ASSERT_TRUE(store()
                  ->ReadLog("d", 1, 100,
                            [&](uint64_t seq, std::string_view) {
                              seen.push_back(seq);
                              return true;
                            })
                  .ok());
  ASSERT_EQ(seen.size(), 41u);
  EXPECT_EQ(seen.front(), 60u);
  // Stat: the head and what a restart reads (the snapshot and the 10 records after it).
  Result<DocumentStat> st = store()->Stat("d");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, "map");
  EXPECT_EQ(st->seq, 100u);
  EXPECT_EQ(st->bytes, 3u + 9 * 2 + 3);  // "s90", "91".."99", "100"
  EXPECT_EQ(store()->Stat("none").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, DeletesADocumentWithItsLog) {
  WriteBatch b;
  b.Create("gone", "text");
  b.Append("gone", 1, "x");
  b.Create("kept", "text");
  ASSERT_TRUE(store()->Commit(b).ok());
  WriteBatch c;
  c.Delete("gone");
  ASSERT_TRUE(store()->Commit(c).ok());
  Reopen();
  EXPECT_EQ(*store()->Documents(), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(store()->Load("gone").status().code(), StatusCode::kNotFound);
  // Created again, it starts empty.
  WriteBatch d;
  d.Create("gone", "map");
  ASSERT_TRUE(store()->Commit(d).ok());
  Result<StoredDocument> g = store()->Load("gone");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->type, "map");
  EXPECT_TRUE(g->log.empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(Engine::kMemory, Engine::kLmdb),
                         [](const ::testing::TestParamInfo<Engine>& p) {
                           return p.param == Engine::kMemory ? "Memory" : "Lmdb";
                         });

TEST(LmdbStoreTest, ASecondProcessIsKeptOut) {
  TempDir dir;
  Result<std::unique_ptr<Store>> a = OpenLmdbStore(dir.path());
  ASSERT_TRUE(a.ok());
  Result<std::unique_ptr<Store>> b = OpenLmdbStore(dir.path());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(b.status().message().find("in use by another process"), std::string::npos);
}

TEST(LmdbStoreTest, AFlippedByteInARecordIsReportedNamingTheFileAndTheDocument) {
  TempDir dir;
  const std::string marker(64, 'Q');
  {
    Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path());
    ASSERT_TRUE(s.ok());
    WriteBatch b;
    b.Create("notes", "text");
    b.Append("notes", 1, "ok");
    b.Append("notes", 2, marker);
    ASSERT_TRUE((*s)->Commit(b).ok());
  }
  // Flip a byte of the record in the file.
  const std::string path = dir.path() + "/data.mdb";
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  std::string bytes;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  const size_t at = bytes.find(marker);
  ASSERT_NE(at, std::string::npos);
  fseek(f, static_cast<long>(at + 10), SEEK_SET);
  fputc('R', f);
  fclose(f);
  Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Result<StoredDocument> d = (*s)->Load("notes");
  ASSERT_EQ(d.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(d.status().message().find(path), std::string::npos) << d.status().message();
  EXPECT_NE(d.status().message().find("'notes'"), std::string::npos);
  EXPECT_NE(d.status().message().find("seq 2"), std::string::npos);
}

TEST(LmdbStoreTest, AFileThatIsNotAStoreIsRefused) {
  TempDir dir;
  FILE* f = fopen((dir.path() + "/data.mdb").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  for (int i = 0; i < 1000; ++i) fputs("this is not a store, just some text.\n", f);
  fclose(f);
  Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().ToString();
}

// A store cut short (its last bytes lost) is refused with a clear error, never read past the
// end of the file (which would be a SIGBUS through the map).
TEST(LmdbStoreTest, ATruncatedStoreIsRefused) {
  TempDir dir;
  {
    Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path());
    ASSERT_TRUE(s.ok());
    WriteBatch b;
    b.Create("notes", "text");
    for (uint64_t seq = 1; seq <= 200; ++seq) b.Append("notes", seq, std::string(1000, 'x'));
    ASSERT_TRUE((*s)->Commit(b).ok());
  }
  const std::string path = dir.path() + "/data.mdb";
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  ASSERT_EQ(truncate(path.c_str(), st.st_size - 4096), 0);
  Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path());
  ASSERT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().ToString();
  EXPECT_NE(s.status().message().find("truncated"), std::string::npos);
  EXPECT_NE(s.status().message().find(path), std::string::npos);
  ASSERT_EQ(truncate(path.c_str(), 100), 0);
  EXPECT_EQ(OpenLmdbStore(dir.path()).status().code(), StatusCode::kDataLoss);
}

// Commits that do not fit fail whole (kIoError) and leave what was committed before intact; once
// there is room again (here: documents deleted), commits go through.
void FillUntilRefused(Store* store, const std::string& why) {
  WriteBatch b;
  b.Create("keep", "map");
  b.Append("keep", 1, "first");
  ASSERT_TRUE(store->Commit(b).ok());
  Status s;
  int docs = 0;
  for (; docs < 10000 && s.ok(); ++docs) {
    WriteBatch big;
    const std::string name = "fill" + std::to_string(docs);
    big.Create(name, "map");
    for (uint64_t seq = 1; seq <= 64; ++seq) big.Append(name, seq, std::string(4000, 'f'));
    s = store->Commit(big);
  }
  ASSERT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
  EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  Result<StoredDocument> keep = store->Load("keep");
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  ASSERT_EQ(keep->log.size(), 1u);
  EXPECT_EQ(store->Load("fill" + std::to_string(docs - 1)).status().code(), StatusCode::kNotFound);
  WriteBatch free;
  for (int i = 0; i < docs - 1; ++i) free.Delete("fill" + std::to_string(i));
  ASSERT_TRUE(store->Commit(free).ok());
  WriteBatch more;
  more.Append("keep", 2, "second");
  ASSERT_TRUE(store->Commit(more).ok());
  EXPECT_EQ(store->Load("keep")->log.size(), 2u);
}

TEST(LmdbStoreTest, AFullStoreRefusesCommitsWholeAndTakesThemAgainWithRoom) {
  TempDir dir;
  LmdbOptions options;
  options.max_bytes = 4 << 20;
  Result<std::unique_ptr<Store>> s = OpenLmdbStore(dir.path(), options);
  ASSERT_TRUE(s.ok());
  FillUntilRefused(s->get(), "size limit");
}

// A real disk full: a 4 MB tmpfs (needs root; skipped elsewhere).
TEST(LmdbStoreTest, AFullDiskRefusesCommitsWholeAndTakesThemAgainWithRoom) {
  TempDir dir;
  const std::string mnt = dir.path() + "/small";
  ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(errno);
  }
  struct Unmount {
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
    std::string path;
  } unmount{mnt};
  Result<std::unique_ptr<Store>> s = OpenLmdbStore(mnt + "/data");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  FillUntilRefused(s->get(), "disk is full");
  s->reset();
}

// The stored checksums are CRC-32 (IEEE): the standard check value, and the empty string.
TEST(Crc32Test, IsTheIeeeCrc32) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(SyncModeTest, ParsesTheThreeNames) {
  EXPECT_EQ(*ParseSyncMode("full"), SyncMode::kFull);
  EXPECT_EQ(*ParseSyncMode("normal"), SyncMode::kNormal);
  EXPECT_EQ(*ParseSyncMode("off"), SyncMode::kOff);
  EXPECT_EQ(ParseSyncMode("fast").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace zinc

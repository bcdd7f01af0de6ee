// Which embedded store for zinc's log (issue 14, docs/decisions.md): commits of B records of S
// bytes, each commit durable (fsync), for SQLite (WAL, synchronous=FULL and NORMAL) and LMDB
// (default: synced commits), beside the raw fdatasync latency of this disk. Not part of the
// build (LMDB is not a dependency); build and run by hand:
//   g++ -O2 -std=c++17 bench/engines/store_engines.cpp -lsqlite3 -llmdb -o /tmp/store_engines
//   /tmp/store_engines /var/tmp/zinc-engines
#include <fcntl.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
constexpr double kRunSeconds = 1.5;

double FsyncMicros(const std::string& dir) {
  const std::string path = dir + "/fsync.bin";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  std::string block(4096, 'x');
  std::vector<double> lat;
  for (int i = 0; i < 200; ++i) {
    if (write(fd, block.data(), block.size()) < 0) abort();
    auto t0 = Clock::now();
    fdatasync(fd);
    lat.push_back(Seconds(t0, Clock::now()) * 1e6);
  }
  close(fd);
  unlink(path.c_str());
  std::sort(lat.begin(), lat.end());
  return lat[lat.size() / 2];
}

void Check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
}

double Sqlite(const std::string& dir, const char* sync, int batch, size_t size,
              int page_size = 4096) {
  const std::string path = dir + "/s.db";
  unlink(path.c_str());
  unlink((path + "-wal").c_str());
  unlink((path + "-shm").c_str());
  sqlite3* db;
  Check(sqlite3_open(path.c_str(), &db), db);
  Check(sqlite3_exec(db, ("PRAGMA page_size=" + std::to_string(page_size)).c_str(), nullptr,
                     nullptr, nullptr),
        db);
  Check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), db);
  Check(sqlite3_exec(db, (std::string("PRAGMA synchronous=") + sync).c_str(), nullptr, nullptr,
                     nullptr),
        db);
  Check(sqlite3_exec(db,
                     "CREATE TABLE log(doc INTEGER, seq INTEGER, body BLOB, PRIMARY KEY(doc, seq))"
                     " WITHOUT ROWID",
                     nullptr, nullptr, nullptr),
        db);
  sqlite3_stmt* ins;
  Check(sqlite3_prepare_v2(db, "INSERT INTO log VALUES(?,?,?)", -1, &ins, nullptr), db);
  std::string body(size, 'b');
  long records = 0;
  long seq = 0;
  auto start = Clock::now();
  while (Seconds(start, Clock::now()) < kRunSeconds) {
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
    for (int i = 0; i < batch; ++i) {
      sqlite3_bind_int64(ins, 1, i % 8);
      sqlite3_bind_int64(ins, 2, ++seq);
      sqlite3_bind_blob(ins, 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      Check(sqlite3_step(ins), db);
      sqlite3_reset(ins);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    records += batch;
  }
  const double rate = records / Seconds(start, Clock::now());
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

double Lmdb(const std::string& dir, int batch, size_t size) {
  const std::string path = dir + "/lmdb";
  mkdir(path.c_str(), 0755);
  unlink((path + "/data.mdb").c_str());
  unlink((path + "/lock.mdb").c_str());
  MDB_env* env;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, size_t(8) << 30);
  if (mdb_env_open(env, path.c_str(), 0, 0644) != 0) abort();
  MDB_dbi dbi;
  MDB_txn* txn;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, nullptr, 0, &dbi);
  mdb_txn_commit(txn);
  std::string body(size, 'b');
  long records = 0;
  uint64_t seq = 0;
  auto start = Clock::now();
  while (Seconds(start, Clock::now()) < kRunSeconds) {
    mdb_txn_begin(env, nullptr, 0, &txn);
    for (int i = 0; i < batch; ++i) {
      uint64_t key[2] = {__builtin_bswap64(uint64_t(i % 8)), __builtin_bswap64(++seq)};
      MDB_val k{sizeof key, key};
      MDB_val v{body.size(), body.data()};
      if (mdb_put(txn, dbi, &k, &v, 0) != 0) abort();
    }
    if (mdb_txn_commit(txn) != 0) abort();
    records += batch;
  }
  const double rate = records / Seconds(start, Clock::now());
  mdb_env_close(env);
  return rate;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/var/tmp/zinc-engines";
  mkdir(dir.c_str(), 0755);
  printf("fdatasync of 4 KB: median %.0f us\n", FsyncMicros(dir));
  printf("%-22s %6s %6s %14s\n", "engine", "batch", "bytes", "records/s");
  for (size_t size : {size_t(64), size_t(1024)}) {
    for (int batch : {1, 16, 256}) {
      printf("%-22s %6d %6zu %14.0f\n", "sqlite wal full", batch, size,
             Sqlite(dir, "FULL", batch, size));
      printf("%-22s %6d %6zu %14.0f\n", "sqlite wal normal", batch, size,
             Sqlite(dir, "NORMAL", batch, size));
      printf("%-22s %6d %6zu %14.0f\n", "sqlite wal full 64K pg", batch, size,
             Sqlite(dir, "FULL", batch, size, 65536));
      printf("%-22s %6d %6zu %14.0f\n", "lmdb synced", batch, size, Lmdb(dir, batch, size));
    }
  }
  return 0;
}

#pragma once

// The store in a data directory: one LMDB environment (data.mdb, lock.mdb) and a LOCK file that
// keeps a second process out. Layout and guarantees: docs/durability.md; why LMDB:
// docs/decisions.md.

#include <cstddef>
#include <memory>
#include <string>

#include "store/store.h"

namespace zinc {

struct LmdbOptions {
  SyncMode sync = SyncMode::kFull;
  // The most the store may hold (LMDB's map size; the file grows as it needs, up to this).
  size_t max_bytes = size_t(64) << 30;
};

// Opens (creating it and the directory if need be) the store in dir. Fails with kUnavailable
// when another process has it open, kDataLoss when the files are not a store or are damaged
// (truncated, corrupt), kIoError when the directory cannot be written.
Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& dir,
                                             const LmdbOptions& options = LmdbOptions());

}  // namespace zinc

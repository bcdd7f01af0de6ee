#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace zinc {

enum class StatusCode {
  kOk = 0,
  kMalformed,
  kUnsupported,
  kVersionMismatch,
  kClosed,
  kTimeout,
  kResourceExhausted,
  kInvalidArgument,
  kNotFound,
  kOutOfRange,
  kTypeMismatch,
  kUnavailable,
  kInternal,
  // Stored data failed its checksum or does not decode: corruption, reported, never served.
  kDataLoss,
  // The disk refused a write (full, an I/O error): nothing of it was kept.
  kIoError,
  // The key this endpoint connected with may not do that (docs/security.md).
  kPermissionDenied,
};

// Returns a stable lower-case name for code, e.g. "malformed".
const char* StatusCodeName(StatusCode code);

// The outcome of an operation that can fail in an expected way. Value type; thread-compatible.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ok" or "<code>: <message>".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-ok Status. Value type; thread-compatible.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace zinc

// Returns the Status of expr from the enclosing function when it is not ok.
#define ZINC_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::zinc::Status zinc_status_ = (expr);        \
    if (!zinc_status_.ok()) return zinc_status_; \
  } while (0)

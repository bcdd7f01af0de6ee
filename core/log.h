#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/mutex.h"

namespace zinc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Structured, rate-limited logging to stderr: one line per event,
// "zinc <level> <event> <text>". Each event id logs at most once per second (the next line says
// how many were suppressed), so a flood of bad input cannot flood the log. Thread-safe.
class Logger {
 public:
  // clock must outlive this object.
  Logger(const Clock* clock, LogLevel level, std::string name);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, const char* event, const std::string& text) EXCLUDES(mu_);
  void Info(const char* event, const std::string& text) { Log(LogLevel::kInfo, event, text); }
  void Warn(const char* event, const std::string& text) { Log(LogLevel::kWarn, event, text); }
  bool enabled(LogLevel level) const { return level >= level_; }

 private:
  struct EventState {
    int64_t last_micros = 0;
    uint64_t suppressed = 0;
  };

  // Constant after construction.
  const Clock* const clock_;
  const LogLevel level_;
  const std::string name_;

  Mutex mu_;
  std::unordered_map<std::string, EventState> events_ GUARDED_BY(mu_);
};

// Parses "debug", "info", "warn", "error" or "off"; anything else gives kWarn.
LogLevel ParseLogLevel(const std::string& text);

}  // namespace zinc

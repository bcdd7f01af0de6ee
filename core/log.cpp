#include "core/log.h"

#include <cstdio>

namespace zinc {

namespace {
const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}
constexpr int64_t kRateLimitMicros = 1000000;
}  // namespace

Logger::Logger(const Clock* clock, LogLevel level, std::string name)
    : clock_(clock), level_(level), name_(std::move(name)) {}

void Logger::Log(LogLevel level, const char* event, const std::string& text) {
  if (!enabled(level)) return;
  uint64_t suppressed = 0;
  {
    MutexLock l(&mu_);
    EventState& st = events_[event];
    int64_t now = clock_->NowMicros();
    if (st.last_micros != 0 && now - st.last_micros < kRateLimitMicros) {
      ++st.suppressed;
      return;
    }
    st.last_micros = now;
    suppressed = st.suppressed;
    st.suppressed = 0;
  }
  std::string line =
      "zinc " + std::string(LevelName(level)) + " " + event + " " + name_ + " " + text;
  if (suppressed > 0) line += " (" + std::to_string(suppressed) + " similar suppressed)";
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

LogLevel ParseLogLevel(const std::string& text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "error") return LogLevel::kError;
  if (text == "off") return LogLevel::kOff;
  return LogLevel::kWarn;
}

}  // namespace zinc

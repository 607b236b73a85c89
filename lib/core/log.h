// Logging to stderr. stdout is reserved for what the user asked for (a report or a model).
#pragma once

#include <string>

namespace pare {

enum class LogLevel { kQuiet = 0, kNormal = 1, kVerbose = 2 };

void set_log_level(LogLevel level);
LogLevel log_level();

/// "pare: warning: ..." unless --quiet.
void log_warning(const std::string& message);
/// "pare: ..." unless --quiet.
void log_info(const std::string& message);
/// Only with --verbose.
void log_verbose(const std::string& message);

}  // namespace pare

#include "core/log.h"

#include <cstdio>

namespace pare {

namespace {
LogLevel g_level = LogLevel::kNormal;
}

void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

void log_warning(const std::string& message) {
    if (g_level >= LogLevel::kNormal) std::fprintf(stderr, "pare: warning: %s\n", message.c_str());
}

void log_info(const std::string& message) {
    if (g_level >= LogLevel::kNormal) std::fprintf(stderr, "pare: %s\n", message.c_str());
}

void log_verbose(const std::string& message) {
    if (g_level >= LogLevel::kVerbose) std::fprintf(stderr, "pare: %s\n", message.c_str());
}

}  // namespace pare

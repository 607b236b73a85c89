#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"

namespace pare {

namespace {

ProgressMode g_mode = ProgressMode::kAuto;
constexpr int kBarWidth = 30;

}  // namespace

void set_progress_mode(ProgressMode mode) {
    g_mode = mode;
}

ProgressMode parse_progress_mode(const std::string& text) {
    if (text == "always") return ProgressMode::kAlways;
    if (text == "never") return ProgressMode::kNever;
    return ProgressMode::kAuto;
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(log_level() != LogLevel::kQuiet &&
               (g_mode == ProgressMode::kAlways || (g_mode == ProgressMode::kAuto && ::isatty(STDERR_FILENO)))),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
    finish();
}

void Progress::advance(int64_t units) {
    done_ += units;
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw();
}

void Progress::draw() {
    const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    const int filled = static_cast<int>(fraction * kBarWidth + 0.5);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "\r%s [%-*s] %lld/%lld %.1fs", label_.c_str(), kBarWidth, std::string(filled, '#').c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), seconds);
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::finish() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
}

}  // namespace pare

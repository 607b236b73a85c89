// Progress bars on stderr for long loops (evaluation, benchmarks). They show only when stderr is a terminal (or
// when forced with --progress always), never with --quiet, and never touch stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pare {

enum class ProgressMode { kAuto, kAlways, kNever };

/// Sets the mode for every bar created afterwards (from --progress).
void set_progress_mode(ProgressMode mode);

/// "auto", "always" or "never"; anything else is kAuto.
ProgressMode parse_progress_mode(const std::string& text);

class Progress {
  public:
    /// A bar counting up to `total` units, labelled `label`.
    Progress(std::string label, int64_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Adds `units` and redraws at most every 100 ms.
    void advance(int64_t units);
    /// Clears the bar's line (also done by the destructor).
    void finish();

  private:
    void draw();
    std::string label_;
    int64_t total_;
    int64_t done_ = 0;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace pare

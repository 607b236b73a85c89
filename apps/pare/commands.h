// Options of each subcommand as parsed by main.cpp (the only file that includes CLI11), and their entry points.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace pare {

/// Flags every subcommand takes.
struct GlobalOptions {
    int threads = 0;  // 0: all cores
    std::string device = "cpu";
    uint64_t seed = 0;
    std::string report_path;  // "" none, "-" stdout
    bool quiet = false;
    bool verbose = false;
    std::string progress = "auto";
    std::vector<std::string> argv;
};

struct InspectOptions {
    std::string model;
    bool json = false;
};

Status run_inspect(const InspectOptions& options, const GlobalOptions& global);

}  // namespace pare

// File helpers shared by every subcommand: whole-file reads (with "-" for stdin) and atomic writes.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/status.h"

namespace pare {

/// Reads a whole file, or stdin when `path` is "-".
Result<std::string> read_file(const std::string& path);

/// Writes to a temporary file beside `path` and renames it into place on commit(), so a reader never
/// sees a half-written output. "-" writes straight to stdout. Not committed = temporary file removed.
class AtomicFile {
public:
    static Result<AtomicFile> open(const std::string& path);
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&&) = delete;
    AtomicFile(const AtomicFile&) = delete;
    ~AtomicFile();

    Status write(const void* data, size_t bytes);
    Status write(const std::string& bytes) { return write(bytes.data(), bytes.size()); }
    /// Flushes, syncs and renames the temporary file to the final path.
    Status commit();
    const std::string& path() const { return path_; }

private:
    AtomicFile(std::string path, std::string temp_path, std::FILE* file)
        : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}
    std::string path_;
    std::string temp_path_;  // empty for stdout
    std::FILE* file_ = nullptr;
};

/// Writes `bytes` to `path` atomically ("-" for stdout).
Status write_file_atomic(const std::string& path, const std::string& bytes);

/// The directory part of a path ("." when there is none).
std::string parent_directory(const std::string& path);

/// True if both paths name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

}  // namespace pare

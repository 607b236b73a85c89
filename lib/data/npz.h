// NumPy .npz archives (zip files of .npy members, stored or deflated), read through libzip. Members are streamed:
// a reader decompresses rows as they are asked for, so an archive never has to fit in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/npy.h"

struct zip;  // libzip's zip_t

namespace pare {

class NpzArchive : public std::enable_shared_from_this<NpzArchive> {
  public:
    /// Opens the archive and reads every member's .npy header (a member that is not a readable array fails here).
    static Result<std::shared_ptr<NpzArchive>> open(const std::string& path);
    ~NpzArchive();
    NpzArchive(const NpzArchive&) = delete;
    NpzArchive& operator=(const NpzArchive&) = delete;

    const std::string& path() const { return path_; }
    /// Member names without the ".npy" suffix, in archive order.
    const std::vector<std::string>& keys() const { return keys_; }

    /// A reader of one member; it keeps the archive open. Reading forward streams; reading backwards reopens the
    /// member and skips to the rows.
    Result<std::unique_ptr<ArrayReader>> reader(const std::string& key);

  private:
    friend class NpzMemberReader;
    NpzArchive() = default;

    std::string path_;
    ::zip* zip_ = nullptr;
    std::vector<std::string> keys_;
    std::vector<uint64_t> entries_;  // zip entry index per key
    std::vector<bool> stored_;       // uncompressed: rows are read by offset
    std::vector<NpyHeader> headers_;
};

}  // namespace pare

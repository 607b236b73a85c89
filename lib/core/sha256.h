// SHA-256 digests for the report's input and output fingerprints (OpenSSL does the hashing).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace pare {

/// Lower-case hex SHA-256 of a byte string.
std::string sha256_hex(const std::string& bytes);

/// Incremental SHA-256, for inputs too large to hold in memory.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, size_t bytes);
    /// Appends a whole file's bytes, read in chunks.
    Status update_from_file(const std::string& path);
    /// Lower-case hex digest; the hasher is finished afterwards.
    std::string hex_digest();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Lower-case hex SHA-256 of a file's bytes, read in chunks.
Result<std::string> sha256_file(const std::string& path);

}  // namespace pare

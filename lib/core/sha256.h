// SHA-256 digests for the report's input and output fingerprints (OpenSSL does the hashing).
#pragma once

#include <string>

namespace pare {

/// Lower-case hex SHA-256 of a byte string.
std::string sha256_hex(const std::string& bytes);

}  // namespace pare

#include "core/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace pare {

namespace {

std::string to_hex(const unsigned char* digest, unsigned int length) {
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0xf];
    }
    return hex;
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
    return to_hex(digest, length);
}

struct Sha256::State {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~State() { EVP_MD_CTX_free(context); }
};

Sha256::Sha256() : state_(new State()) {
    EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t bytes) {
    EVP_DigestUpdate(state_->context, data, bytes);
}

Status Sha256::update_from_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return invalid_input("cannot open '" + path + "': " + std::strerror(errno));
    std::vector<char> chunk(1 << 20);
    size_t got = 0;
    while ((got = std::fread(chunk.data(), 1, chunk.size(), file)) > 0) update(chunk.data(), got);
    const bool failed = std::ferror(file);
    std::fclose(file);
    if (failed) return invalid_input("cannot read '" + path + "'");
    return Status();
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(state_->context, digest, &length);
    return to_hex(digest, length);
}

Result<std::string> sha256_file(const std::string& path) {
    Sha256 hasher;
    PARE_RETURN_IF_ERROR(hasher.update_from_file(path));
    return hasher.hex_digest();
}

}  // namespace pare

#include "core/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <sstream>

namespace pare {

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Result<std::string> read_file(const std::string& path) {
    if (path == "-") {
        std::ostringstream contents;
        contents << std::cin.rdbuf();
        return contents.str();
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return invalid_input("cannot open '" + path + "': " + errno_text());
    if (S_ISDIR(info.st_mode)) return invalid_input("'" + path + "' is a directory, not a file");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return invalid_input("cannot open '" + path + "': " + errno_text());
    std::string contents;
    contents.resize(static_cast<size_t>(info.st_size));
    const size_t got = contents.empty() ? 0 : std::fread(&contents[0], 1, contents.size(), file);
    const bool failed = std::ferror(file);
    std::fclose(file);
    if (failed || got != contents.size()) return invalid_input("cannot read '" + path + "': " + errno_text());
    return contents;
}

Result<AtomicFile> AtomicFile::open(const std::string& path) {
    if (path == "-") return AtomicFile(path, "", stdout);
    std::string temp_path = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(&temp_path[0]);
    if (fd < 0) return invalid_input("cannot write '" + path + "': " + errno_text());
    ::fchmod(fd, 0644);
    std::FILE* file = ::fdopen(fd, "wb");
    if (!file) {
        ::close(fd);
        ::unlink(temp_path.c_str());
        return internal_error("cannot open temporary file for '" + path + "'");
    }
    return AtomicFile(path, temp_path, file);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)), file_(other.file_) {
    other.file_ = nullptr;
    other.temp_path_.clear();
}

AtomicFile::~AtomicFile() {
    if (file_ && !temp_path_.empty()) {
        std::fclose(file_);
        ::unlink(temp_path_.c_str());
    }
}

Status AtomicFile::write(const void* data, size_t bytes) {
    if (!file_) return internal_error("write to a closed file '" + path_ + "'");
    if (bytes && std::fwrite(data, 1, bytes, file_) != bytes) {
        return invalid_input("cannot write '" + path_ + "': " + errno_text());
    }
    return Status();
}

Status AtomicFile::commit() {
    if (!file_) return internal_error("commit of a closed file '" + path_ + "'");
    if (temp_path_.empty()) {
        const bool ok = std::fflush(file_) == 0;
        file_ = nullptr;
        return ok ? Status() : invalid_input("cannot write to stdout: " + errno_text());
    }
    bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    ok = (std::fclose(file_) == 0) && ok;
    file_ = nullptr;
    if (!ok || ::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        const std::string reason = errno_text();
        ::unlink(temp_path_.c_str());
        temp_path_.clear();
        return invalid_input("cannot write '" + path_ + "': " + reason);
    }
    temp_path_.clear();
    return Status();
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
    PARE_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::open(path));
    PARE_RETURN_IF_ERROR(file.write(bytes));
    return file.commit();
}

std::string parent_directory(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace pare

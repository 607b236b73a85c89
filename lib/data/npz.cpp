#include "data/npz.h"

#include <zip.h>

#include <sys/stat.h>

#include <algorithm>

namespace pare {

namespace {

const std::string kSuffix = ".npy";

std::string zip_error_text(int code) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    return text;
}

}  // namespace

/// Streams one member. Stored members seek directly to a row; deflated ones decompress forward and reopen to go
/// back.
class NpzMemberReader : public ArrayReader {
  public:
    NpzMemberReader(std::shared_ptr<NpzArchive> archive, size_t index)
        : archive_(std::move(archive)), index_(index), header_(archive_->headers_[index]) {}
    ~NpzMemberReader() override { close(); }

    DType dtype() const override { return header_.dtype; }
    const Shape& shape() const override { return header_.shape; }

    Result<Tensor> read_rows(int64_t start, int64_t count) override {
        PARE_ASSIGN_OR_RETURN(Shape slice_shape, row_slice_shape(header_.shape, start, count, what()));
        PARE_ASSIGN_OR_RETURN(Tensor slice, Tensor::make(header_.dtype, slice_shape));
        const uint64_t target = header_.data_offset + static_cast<uint64_t>(start) * npy_row_bytes(header_);
        PARE_RETURN_IF_ERROR(seek(target));
        PARE_RETURN_IF_ERROR(read(slice.raw(), slice.nbytes()));
        if (header_.byte_swapped) byte_swap_elements(slice);
        return slice;
    }

  private:
    std::string what() const { return "'" + archive_->path_ + "' member '" + archive_->keys_[index_] + ".npy'"; }

    void close() {
        if (file_) zip_fclose(file_);
        file_ = nullptr;
        position_ = 0;
    }

    Status seek(uint64_t target) {
        if (file_ && target == position_) return Status();
        if (!file_) {
            file_ = zip_fopen_index(archive_->zip_, archive_->entries_[index_], 0);
            if (!file_) return invalid_input("cannot open " + what() + ": " + zip_strerror(archive_->zip_));
        }
        // zip_fseek only works on stored members (and a failed seek poisons the handle); deflated ones skip
        // forward by decompressing.
        if (archive_->stored_[index_]) {
            if (zip_fseek(file_, static_cast<zip_int64_t>(target), SEEK_SET) != 0) {
                return invalid_input("cannot seek in " + what() + ": " + zip_file_strerror(file_));
            }
            position_ = target;
            return Status();
        }
        if (target < position_) {
            close();
            return seek(target);
        }
        std::vector<char> scratch(std::min<uint64_t>(target - position_, 1 << 20));
        while (position_ < target) {
            PARE_RETURN_IF_ERROR(read(scratch.data(), std::min<uint64_t>(scratch.size(), target - position_)));
        }
        return Status();
    }

    Status read(void* dst, uint64_t bytes) {
        if (bytes == 0) return Status();
        const zip_int64_t got = zip_fread(file_, dst, bytes);
        if (got < 0) return invalid_input("cannot read " + what() + ": " + zip_file_strerror(file_));
        position_ += static_cast<uint64_t>(got);
        if (static_cast<uint64_t>(got) != bytes) return invalid_input(what() + " is truncated");
        return Status();
    }

    std::shared_ptr<NpzArchive> archive_;
    size_t index_;
    NpyHeader header_;
    zip_file_t* file_ = nullptr;
    uint64_t position_ = 0;  // bytes from the start of the member
};

Result<std::shared_ptr<NpzArchive>> NpzArchive::open(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return invalid_input("cannot open '" + path + "': no such file");
    int code = 0;
    zip_t* handle = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (!handle) return invalid_input("cannot open '" + path + "' as .npz: " + zip_error_text(code));
    std::shared_ptr<NpzArchive> archive(new NpzArchive());
    archive->path_ = path;
    archive->zip_ = handle;
    const zip_int64_t entries = zip_get_num_entries(handle, 0);
    for (zip_int64_t i = 0; i < entries; ++i) {
        const char* raw_name = zip_get_name(handle, static_cast<zip_uint64_t>(i), 0);
        const std::string name = raw_name ? raw_name : "";
        if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
            return invalid_input("'" + path + "' member '" + name + "' is not a .npy array");
        }
        const std::string what = "'" + path + "' member '" + name + "'";
        zip_stat_t stat;
        zip_file_t* file = zip_fopen_index(handle, static_cast<zip_uint64_t>(i), 0);
        if (!file || zip_stat_index(handle, static_cast<zip_uint64_t>(i), 0, &stat) != 0) {
            if (file) zip_fclose(file);
            return invalid_input("cannot open " + what + ": " + zip_strerror(handle));
        }
        auto read = [file](void* dst, size_t bytes) -> Status {
            return zip_fread(file, dst, bytes) == static_cast<zip_int64_t>(bytes) ? Status()
                                                                                  : invalid_input("short read");
        };
        Result<NpyHeader> header = read_npy_header(read, what);
        zip_fclose(file);
        if (!header.ok()) return header.status();
        const uint64_t rows = header->shape.empty() ? 1 : static_cast<uint64_t>(header->shape[0]);
        if (stat.size < header->data_offset + rows * npy_row_bytes(*header)) {
            return invalid_input(what + " is truncated: shape " + shape_to_string(header->shape) +
                                 " needs more than its " + std::to_string(stat.size) + " bytes");
        }
        archive->keys_.push_back(name.substr(0, name.size() - kSuffix.size()));
        archive->entries_.push_back(static_cast<uint64_t>(i));
        archive->stored_.push_back(
            (stat.valid & ZIP_STAT_COMP_METHOD) && stat.comp_method == ZIP_CM_STORE &&
            !((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE));
        archive->headers_.push_back(std::move(*header));
    }
    return archive;
}

NpzArchive::~NpzArchive() {
    if (zip_) zip_discard(zip_);
}

Result<std::unique_ptr<ArrayReader>> NpzArchive::reader(const std::string& key) {
    auto it = std::find(keys_.begin(), keys_.end(), key);
    if (it == keys_.end()) return invalid_input("'" + path_ + "' has no array '" + key + "'");
    return std::unique_ptr<ArrayReader>(
        new NpzMemberReader(shared_from_this(), static_cast<size_t>(it - keys_.begin())));
}

}  // namespace pare

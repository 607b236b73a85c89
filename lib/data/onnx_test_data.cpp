#include "data/onnx_test_data.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/file_io.h"
#include "onnx/tensor_proto.h"

namespace fs = std::filesystem;

namespace pare {

namespace {

const std::string kSetPrefix = "test_data_set_";

// N of "test_data_set_N", or -1.
int64_t set_number(const fs::path& dir) {
    const std::string name = dir.filename().string();
    if (name.compare(0, kSetPrefix.size(), kSetPrefix) != 0 || name.size() == kSetPrefix.size()) return -1;
    const std::string digits = name.substr(kSetPrefix.size());
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
    return std::stoll(digits);
}

std::vector<fs::path> set_folders(const fs::path& path) {
    if (set_number(path) >= 0) return {path};
    std::vector<std::pair<int64_t, fs::path>> numbered;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(path, error)) {
        if (entry.is_directory() && set_number(entry.path()) >= 0)
            numbered.emplace_back(set_number(entry.path()), entry.path());
    }
    std::sort(numbered.begin(), numbered.end());
    std::vector<fs::path> folders;
    for (auto& [number, folder] : numbered) folders.push_back(folder);
    return folders;
}

Result<Tensor> load_tensor_file(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    return parse_tensor_file(bytes, "'" + path + "'");
}

/// One input across every set: the per-set row counts are known up front, a set's tensor is decoded when read.
class TestDataReader : public ArrayReader {
  public:
    TestDataReader(std::vector<std::string> files, std::vector<int64_t> rows, DType dtype, Shape shape)
        : files_(std::move(files)), rows_(std::move(rows)), dtype_(dtype), shape_(std::move(shape)) {}

    DType dtype() const override { return dtype_; }
    const Shape& shape() const override { return shape_; }

    Result<Tensor> read_rows(int64_t start, int64_t count) override {
        PARE_ASSIGN_OR_RETURN(Shape slice_shape, row_slice_shape(shape_, start, count, "'" + files_[0] + "'"));
        PARE_ASSIGN_OR_RETURN(Tensor slice, Tensor::make(dtype_, slice_shape));
        const size_t row_bytes = count ? slice.nbytes() / static_cast<size_t>(count) : 0;
        int64_t set_start = 0, done = 0;
        for (size_t set = 0; set < files_.size() && done < count; set_start += rows_[set], ++set) {
            const int64_t from = start + done;
            if (from >= set_start + rows_[set]) continue;
            if (cached_set_ != set) {
                PARE_ASSIGN_OR_RETURN(cached_, load_tensor_file(files_[set]));
                cached_set_ = set;
            }
            const int64_t take = std::min(count - done, set_start + rows_[set] - from);
            std::memcpy(static_cast<char*>(slice.raw()) + static_cast<size_t>(done) * row_bytes,
                        static_cast<const char*>(cached_.raw()) + static_cast<size_t>(from - set_start) * row_bytes,
                        static_cast<size_t>(take) * row_bytes);
            done += take;
        }
        return slice;
    }

  private:
    std::vector<std::string> files_;
    std::vector<int64_t> rows_;
    DType dtype_;
    Shape shape_;
    size_t cached_set_ = static_cast<size_t>(-1);
    Tensor cached_;
};

}  // namespace

bool is_onnx_test_data_folder(const std::string& path) {
    std::error_code error;
    return fs::is_directory(path, error) && !set_folders(path).empty();
}

Result<std::vector<std::unique_ptr<ArrayReader>>> open_onnx_test_data(const std::string& path, size_t inputs) {
    const std::vector<fs::path> sets = set_folders(path);
    if (sets.empty()) return invalid_input("'" + path + "' holds no test_data_set_N folders");
    std::vector<std::unique_ptr<ArrayReader>> readers;
    for (size_t input = 0; input < inputs; ++input) {
        const std::string file_name = "input_" + std::to_string(input) + ".pb";
        std::vector<std::string> files;
        std::vector<int64_t> rows;
        DType dtype = DType::kUndefined;
        Shape shape;
        for (const auto& set : sets) {
            const std::string file = (set / file_name).string();
            if (!fs::exists(file)) {
                return invalid_input("'" + set.string() + "' has no " + file_name + " for model input " +
                                     std::to_string(input));
            }
            // Decoded once here for its type; the values are dropped and decoded again when read.
            PARE_ASSIGN_OR_RETURN(Tensor value, load_tensor_file(file));
            if (value.rank() == 0) return invalid_input("'" + file + "' is a scalar: it has no samples along dim 0");
            if (files.empty()) {
                dtype = value.dtype();
                shape = value.shape();
            } else if (value.dtype() != dtype ||
                       !std::equal(shape.begin() + 1, shape.end(), value.shape().begin() + 1, value.shape().end())) {
                return invalid_input("'" + file + "' is " + dtype_name(value.dtype()) + " " +
                                     shape_to_string(value.shape()) + " but '" + files[0] + "' is " +
                                     dtype_name(dtype) + " " + shape_to_string(shape));
            } else {
                shape[0] += value.dim(0);
            }
            files.push_back(file);
            rows.push_back(value.dim(0));
        }
        readers.push_back(std::make_unique<TestDataReader>(std::move(files), std::move(rows), dtype, std::move(shape)));
    }
    return readers;
}

}  // namespace pare

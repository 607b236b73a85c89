// NumPy .npy arrays: header parsing, row-slice reads by file offset (nothing is loaded whole), and writing.
// Supported element types: f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool, in C order, either byte order.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// What the header of a .npy stream says.
struct NpyHeader {
    DType dtype = DType::kUndefined;
    Shape shape;
    bool byte_swapped = false;  // stored big-endian: bytes are swapped after reading
    size_t data_offset = 0;     // bytes from the start of the stream to the first element
};

/// Reads exactly `bytes` bytes into `dst` or fails (the source of a header: a file, a zip member...).
using ReadExact = std::function<Status(void* dst, size_t bytes)>;

/// Parses a .npy header from the start of a stream, leaving the stream at the first element. `what` names the
/// stream in messages. Fortran order, object and structured arrays and strings are kUnsupported; anything that is
/// not a well-formed header is kInvalidInput.
Result<NpyHeader> read_npy_header(const ReadExact& read, const std::string& what);

/// Bytes of one row along dim 0 (the whole array for a scalar).
size_t npy_row_bytes(const NpyHeader& header);

/// Swaps the bytes of every element in place (for big-endian data).
void byte_swap_elements(Tensor& tensor);

/// Source of an array that is read in slices of rows along dim 0.
class ArrayReader {
  public:
    virtual ~ArrayReader() = default;
    virtual DType dtype() const = 0;
    /// The whole array's shape; dim 0 counts samples.
    virtual const Shape& shape() const = 0;
    /// Rows [start, start + count) as a tensor of shape {count, shape[1:]...}. Sequential reads are the fast path
    /// for every reader; some (zip members) rewind to go backwards.
    virtual Result<Tensor> read_rows(int64_t start, int64_t count) = 0;
    /// Rows in any order (repeats allowed) as a tensor of shape {rows.size(), shape[1:]...}: row i of the result is
    /// rows[i]. The default reads each run of consecutive rows with one read_rows, in ascending row order, so a
    /// reader that streams forward (deflated .npz) goes through its data at most once per call.
    virtual Result<Tensor> read_indices(const std::vector<int64_t>& rows);
};

/// A .npy file read by offset: opening checks the header and the file size, read_rows seeks to the slice.
class NpyFile : public ArrayReader {
  public:
    static Result<std::unique_ptr<NpyFile>> open(const std::string& path);
    ~NpyFile() override;

    DType dtype() const override { return header_.dtype; }
    const Shape& shape() const override { return header_.shape; }
    Result<Tensor> read_rows(int64_t start, int64_t count) override;

  private:
    NpyFile(std::string path, std::FILE* file, NpyHeader header)
        : path_(std::move(path)), file_(file), header_(std::move(header)) {}
    std::string path_;
    std::FILE* file_;
    NpyHeader header_;
};

/// Checks that a slice lies inside an array of `rows` rows (rank >= 1) and returns the slice's shape.
Result<Shape> row_slice_shape(const Shape& shape, int64_t start, int64_t count, const std::string& what);

/// The whole array of a .npy file.
Result<Tensor> read_npy(const std::string& path);

/// The .npy encoding (format 1.0, little-endian, C order) of a tensor.
Result<std::string> encode_npy(const Tensor& tensor);

/// Writes a tensor as .npy, atomically.
Status write_npy(const std::string& path, const Tensor& tensor);

}  // namespace pare

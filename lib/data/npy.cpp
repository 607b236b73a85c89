#include "data/npy.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <numeric>

#include "core/file_io.h"

namespace pare {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kMaxHeaderBytes = 1 << 20;  // numpy itself refuses headers above 10 kB; this bounds corrupt input

// The header is a Python dict literal; these are the only value forms numpy writes into it.
struct HeaderValue {
    enum Kind { kString, kBool, kTuple, kOther } kind = kOther;
    std::string text;
    bool flag = false;
    std::vector<int64_t> numbers;
};

class HeaderParser {
  public:
    explicit HeaderParser(const std::string& text) : text_(text) {}

    Result<std::map<std::string, HeaderValue>> parse_dict() {
        std::map<std::string, HeaderValue> dict;
        if (!consume('{')) return fail("expected '{'");
        while (true) {
            skip_spaces();
            if (consume('}')) return dict;
            std::string key;
            if (!parse_string(key)) return fail("expected a quoted key");
            if (!consume(':')) return fail("expected ':' after '" + key + "'");
            PARE_ASSIGN_OR_RETURN(dict[key], parse_value());
            skip_spaces();
            if (consume(',')) continue;
            if (consume('}')) return dict;
            return fail("expected ',' or '}'");
        }
    }

  private:
    Result<HeaderValue> parse_value() {
        HeaderValue value;
        skip_spaces();
        if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
            value.kind = HeaderValue::kString;
            parse_string(value.text);
        } else if (text_.compare(pos_, 4, "True") == 0 || text_.compare(pos_, 5, "False") == 0) {
            value.kind = HeaderValue::kBool;
            value.flag = text_[pos_] == 'T';
            pos_ += value.flag ? 4 : 5;
        } else if (consume('(')) {
            value.kind = HeaderValue::kTuple;
            while (true) {
                skip_spaces();
                if (consume(')')) break;
                size_t end = pos_;
                while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
                if (end == pos_ || end - pos_ > 18) return fail("shape entries must be non-negative integers");
                value.numbers.push_back(std::stoll(text_.substr(pos_, end - pos_)));
                pos_ = end;
                skip_spaces();
                if (consume(')')) break;
                if (!consume(',')) return fail("expected ',' or ')' in the shape");
            }
        } else {
            // A list descr (structured dtype) or anything else: skip to the matching bracket so the caller can
            // report what it is.
            int depth = 0;
            while (pos_ < text_.size()) {
                const char c = text_[pos_];
                if (c == '[' || c == '(' || c == '{') ++depth;
                if (c == ']' || c == ')' || c == '}') {
                    if (depth == 0) break;
                    --depth;
                }
                if (c == ',' && depth == 0) break;
                ++pos_;
            }
        }
        return value;
    }

    bool parse_string(std::string& out) {
        skip_spaces();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
        const char quote = text_[pos_++];
        const size_t end = text_.find(quote, pos_);
        if (end == std::string::npos) return false;
        out = text_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return true;
    }

    bool consume(char c) {
        skip_spaces();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void skip_spaces() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }

    Status fail(const std::string& why) const { return invalid_input(why + " at offset " + std::to_string(pos_)); }

    const std::string& text_;
    size_t pos_ = 0;
};

// descr such as '<f4', '|u1', '>i8' -> dtype and byte order.
Status parse_descr(const std::string& descr, NpyHeader& header) {
    if (descr.size() < 2) return invalid_input("bad dtype descr '" + descr + "'");
    const char order = descr[0];
    std::string kind = descr.substr(1);
    if (order != '<' && order != '>' && order != '|' && order != '=') {
        kind = descr;  // numpy omits the order for some one-byte types, e.g. 'b1'
    }
    static const std::map<std::string, DType> kTypes = {
        {"f2", DType::kF16}, {"f4", DType::kF32},  {"f8", DType::kF64}, {"i1", DType::kI8},  {"i2", DType::kI16},
        {"i4", DType::kI32}, {"i8", DType::kI64},  {"u1", DType::kU8},  {"u2", DType::kU16}, {"u4", DType::kU32},
        {"u8", DType::kU64}, {"b1", DType::kBool}, {"?", DType::kBool}};
    auto it = kTypes.find(kind);
    if (it == kTypes.end()) {
        const char code = kind.empty() ? '?' : kind[0];
        if (code == 'O') return unsupported("object arrays (dtype '" + descr + "') are not supported");
        if (code == 'U' || code == 'S' || code == 'a')
            return unsupported("string arrays (dtype '" + descr + "') are not supported");
        if (code == 'c') return unsupported("complex arrays (dtype '" + descr + "') are not supported");
        return unsupported("dtype '" + descr + "' is not supported");
    }
    header.dtype = it->second;
    header.byte_swapped = order == '>' && dtype_bits(header.dtype) > 8;
    return Status();
}

Status parse_header_dict(const std::string& text, NpyHeader& header) {
    HeaderParser parser(text);
    PARE_ASSIGN_OR_RETURN(auto dict, parser.parse_dict());
    auto descr = dict.find("descr");
    auto fortran = dict.find("fortran_order");
    auto shape = dict.find("shape");
    if (descr == dict.end() || fortran == dict.end() || shape == dict.end()) {
        return invalid_input("header lacks 'descr', 'fortran_order' or 'shape'");
    }
    if (descr->second.kind != HeaderValue::kString) return unsupported("structured arrays are not supported");
    PARE_RETURN_IF_ERROR(parse_descr(descr->second.text, header));
    if (fortran->second.kind != HeaderValue::kBool) return invalid_input("'fortran_order' is not True or False");
    if (fortran->second.flag) {
        return unsupported("Fortran-order arrays are not supported; save with np.ascontiguousarray first");
    }
    if (shape->second.kind != HeaderValue::kTuple) return invalid_input("'shape' is not a tuple");
    header.shape = shape->second.numbers;
    if (shape_numel(header.shape) < 0) return invalid_input("shape " + shape_to_string(header.shape) + " is too large");
    return Status();
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

Result<NpyHeader> read_npy_header(const ReadExact& read, const std::string& what) {
    unsigned char prefix[kMagicBytes + 2];
    if (!read(prefix, sizeof prefix).ok() || std::memcmp(prefix, kMagic, kMagicBytes) != 0) {
        return invalid_input(what + " is not a .npy file (no \\x93NUMPY magic)");
    }
    const int major = prefix[kMagicBytes];
    if (major < 1 || major > 3) return invalid_input(what + ": unknown .npy format version " + std::to_string(major));
    unsigned char length_bytes[4] = {0, 0, 0, 0};
    const size_t length_size = major == 1 ? 2 : 4;
    if (!read(length_bytes, length_size).ok()) return invalid_input(what + " is truncated inside its header");
    size_t length = 0;
    for (size_t i = length_size; i-- > 0;) length = (length << 8) | length_bytes[i];
    if (length > kMaxHeaderBytes)
        return invalid_input(what + ": header length " + std::to_string(length) + " is not plausible");
    std::string text(length, '\0');
    if (length && !read(&text[0], length).ok()) return invalid_input(what + " is truncated inside its header");
    NpyHeader header;
    header.data_offset = sizeof prefix + length_size + length;
    PARE_RETURN_IF_ERROR(parse_header_dict(text, header).with_context(what));
    return header;
}

size_t npy_row_bytes(const NpyHeader& header) {
    if (header.shape.empty()) return dtype_storage_bytes(header.dtype, 1);
    const Shape row(header.shape.begin() + 1, header.shape.end());
    return dtype_storage_bytes(header.dtype, shape_numel(row));
}

void byte_swap_elements(Tensor& tensor) {
    const size_t width = static_cast<size_t>(dtype_bits(tensor.dtype()) / 8);
    if (width <= 1) return;
    auto* bytes = static_cast<unsigned char*>(tensor.raw());
    for (int64_t i = 0; i < tensor.numel(); ++i) std::reverse(bytes + i * width, bytes + (i + 1) * width);
}

Result<Shape> row_slice_shape(const Shape& shape, int64_t start, int64_t count, const std::string& what) {
    if (shape.empty()) return invalid_input(what + " is a scalar: it has no rows to batch");
    if (start < 0 || count < 0 || start > shape[0] || count > shape[0] - start) {
        return invalid_input(what + ": rows " + std::to_string(start) + ".." + std::to_string(start + count) +
                             " are outside its " + std::to_string(shape[0]) + " rows");
    }
    Shape slice = shape;
    slice[0] = count;
    return slice;
}

Result<Tensor> ArrayReader::read_indices(const std::vector<int64_t>& rows) {
    const Shape& whole = shape();
    PARE_ASSIGN_OR_RETURN(Shape gathered_shape, row_slice_shape(whole, 0, 0, "the data"));
    gathered_shape[0] = static_cast<int64_t>(rows.size());
    PARE_ASSIGN_OR_RETURN(Tensor gathered, Tensor::make(dtype(), gathered_shape));
    if (rows.empty()) return gathered;
    const size_t row_bytes = gathered.nbytes() / rows.size();
    // Positions in the result, sorted by the row they want; each run of consecutive rows is one read.
    std::vector<size_t> by_row(rows.size());
    std::iota(by_row.begin(), by_row.end(), size_t{0});
    std::stable_sort(by_row.begin(), by_row.end(), [&](size_t a, size_t b) { return rows[a] < rows[b]; });
    for (size_t first = 0; first < by_row.size();) {
        size_t last = first + 1;
        while (last < by_row.size() && rows[by_row[last]] == rows[by_row[last - 1]] + 1) ++last;
        const int64_t start = rows[by_row[first]];
        PARE_ASSIGN_OR_RETURN(Tensor run, read_rows(start, static_cast<int64_t>(last - first)));
        for (size_t k = first; k < last; ++k) {
            std::memcpy(static_cast<char*>(gathered.raw()) + by_row[k] * row_bytes,
                        static_cast<const char*>(run.raw()) + (k - first) * row_bytes, row_bytes);
        }
        first = last;
    }
    return gathered;
}

Result<std::unique_ptr<NpyFile>> NpyFile::open(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return invalid_input("cannot open '" + path + "': " + errno_text());
    if (S_ISDIR(info.st_mode)) return invalid_input("'" + path + "' is a directory, not a .npy file");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return invalid_input("cannot open '" + path + "': " + errno_text());
    auto read = [file](void* dst, size_t bytes) -> Status {
        return std::fread(dst, 1, bytes, file) == bytes ? Status() : invalid_input("short read");
    };
    Result<NpyHeader> header = read_npy_header(read, "'" + path + "'");
    if (!header.ok()) {
        std::fclose(file);
        return header.status();
    }
    const size_t rows = header->shape.empty() ? 1 : static_cast<size_t>(header->shape[0]);
    const size_t data_bytes = npy_row_bytes(*header) * rows;
    const size_t file_bytes = static_cast<size_t>(info.st_size);
    if (file_bytes < header->data_offset || file_bytes - header->data_offset < data_bytes) {
        std::fclose(file);
        return invalid_input("'" + path + "' is truncated: shape " + shape_to_string(header->shape) + " needs " +
                             std::to_string(data_bytes) + " data bytes, the file has " +
                             std::to_string(file_bytes - std::min(file_bytes, header->data_offset)));
    }
    return std::unique_ptr<NpyFile>(new NpyFile(path, file, std::move(*header)));
}

NpyFile::~NpyFile() {
    if (file_) std::fclose(file_);
}

Result<Tensor> NpyFile::read_rows(int64_t start, int64_t count) {
    const std::string what = "'" + path_ + "'";
    Shape slice_shape = header_.shape;
    if (!header_.shape.empty()) {
        PARE_ASSIGN_OR_RETURN(slice_shape, row_slice_shape(header_.shape, start, count, what));
    } else if (start != 0 || count != 1) {
        return invalid_input(what + " is a scalar: it has no rows to batch");
    }
    PARE_ASSIGN_OR_RETURN(Tensor slice, Tensor::make(header_.dtype, slice_shape));
    const size_t row_bytes = npy_row_bytes(header_);
    const long offset = static_cast<long>(header_.data_offset + static_cast<size_t>(start) * row_bytes);
    if (std::fseek(file_, offset, SEEK_SET) != 0 ||
        std::fread(slice.raw(), 1, slice.nbytes(), file_) != slice.nbytes()) {
        return invalid_input("cannot read " + what + ": " + errno_text());
    }
    if (header_.byte_swapped) byte_swap_elements(slice);
    return slice;
}

Result<Tensor> read_npy(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(std::unique_ptr<NpyFile> file, NpyFile::open(path));
    if (file->shape().empty()) return file->read_rows(0, 1);
    return file->read_rows(0, file->shape()[0]);
}

Result<std::string> encode_npy(const Tensor& tensor) {
    static const std::map<DType, std::string> kDescr = {
        {DType::kF16, "<f2"}, {DType::kF32, "<f4"}, {DType::kF64, "<f8"}, {DType::kI8, "|i1"},
        {DType::kI16, "<i2"}, {DType::kI32, "<i4"}, {DType::kI64, "<i8"}, {DType::kU8, "|u1"},
        {DType::kU16, "<u2"}, {DType::kU32, "<u4"}, {DType::kU64, "<u8"}, {DType::kBool, "|b1"}};
    auto descr = kDescr.find(tensor.dtype());
    if (descr == kDescr.end()) return unsupported(".npy has no encoding for dtype " + dtype_name(tensor.dtype()));
    std::string shape = "(";
    for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
    if (tensor.rank() > 1) shape.resize(shape.size() - 2);
    if (tensor.rank() == 1) shape.resize(shape.size() - 1);  // "(5,)"
    shape += ")";
    std::string dict = "{'descr': '" + descr->second + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so the data starts on a 64-byte boundary, and end the header with a newline.
    const size_t unpadded = kMagicBytes + 4 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    if (dict.size() > 0xffff)
        return unsupported("shape " + shape_to_string(tensor.shape()) + " is too long for .npy 1.0");
    std::string bytes(kMagic, kMagicBytes);
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(dict.size() & 0xff);
    bytes += static_cast<char>(dict.size() >> 8);
    bytes += dict;
    if (tensor.nbytes()) bytes.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
    return bytes;
}

Status write_npy(const std::string& path, const Tensor& tensor) {
    PARE_ASSIGN_OR_RETURN(std::string bytes, encode_npy(tensor));
    return write_file_atomic(path, bytes);
}

}  // namespace pare

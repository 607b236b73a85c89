// Dataset readers: .npy (every dtype numpy writes for us, byte order, corrupt files), .npz (stored and deflated,
// name and position mapping), ONNX test-data folders, batching, limits and shape checks.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/half.h"
#include "data/dataset.h"
#include "data/npz.h"
#include "test_helpers.h"

using namespace pare;

namespace {

std::string fixture(const std::string& name) {
    return pare_test::source_path("tests/fixtures/data/" + name);
}

ValueType float_input(Shape shape) {
    ValueType type;
    type.dtype = DType::kF32;
    type.shape = std::move(shape);
    type.has_shape = true;
    type.symbolic_dims.resize(type.shape.size());
    return type;
}

std::vector<float> floats(const Tensor& t) {
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

}  // namespace

TEST_CASE("npy: every supported dtype written by numpy reads back with its values") {
    // Each file holds arange(6).reshape(2, 3) - 2 cast to its dtype.
    const std::vector<std::pair<std::string, DType>> cases = {
        {"float32", DType::kF32}, {"float16", DType::kF16}, {"float64", DType::kF64}, {"uint8", DType::kU8},
        {"int8", DType::kI8},     {"int32", DType::kI32},   {"int64", DType::kI64},   {"bool", DType::kBool}};
    for (const auto& [name, dtype] : cases) {
        CAPTURE(name);
        Result<Tensor> t = read_npy(fixture("dtypes/" + name + ".npy"));
        REQUIRE(t.ok());
        CHECK(t->dtype() == dtype);
        CHECK(t->shape() == Shape{2, 3});
        for (int64_t i = 0; i < 6; ++i) {
            double expected = static_cast<double>(i - 2);
            if (dtype == DType::kU8) expected = static_cast<double>(static_cast<uint8_t>(i - 2));
            if (dtype == DType::kBool) expected = i != 2;
            CHECK(t->element_as_double(i) == expected);
        }
    }
}

TEST_CASE("npy: row slices are read by offset and big-endian data is swapped") {
    auto file = NpyFile::open(fixture("x.npy"));
    REQUIRE(file.ok());
    CHECK((*file)->shape() == Shape{10, 4});
    const Tensor whole = read_npy(fixture("x.npy")).value();
    Result<Tensor> slice = (*file)->read_rows(7, 3);
    REQUIRE(slice.ok());
    CHECK(slice->shape() == Shape{3, 4});
    CHECK(floats(*slice) == std::vector<float>(whole.data<float>() + 28, whole.data<float>() + 40));
    Result<Tensor> empty = (*file)->read_rows(10, 0);
    REQUIRE(empty.ok());
    CHECK(empty->shape() == Shape{0, 4});
    CHECK((*file)->read_rows(8, 3).status().code() == ErrorCode::kInvalidInput);
    CHECK(read_npy(fixture("x_big_endian.npy")).value().equals(whole));
}

TEST_CASE("npy: corrupt and unsupported files fail with clear errors") {
    Result<Tensor> truncated = read_npy(fixture("x_truncated.npy"));
    CHECK(truncated.status().code() == ErrorCode::kInvalidInput);
    CHECK(truncated.status().message().find("truncated") != std::string::npos);
    Result<Tensor> fortran = read_npy(fixture("x_fortran.npy"));
    CHECK(fortran.status().code() == ErrorCode::kUnsupported);
    CHECK(fortran.status().message().find("Fortran") != std::string::npos);
    Result<Tensor> object = read_npy(fixture("x_object.npy"));
    CHECK(object.status().code() == ErrorCode::kUnsupported);
    CHECK(object.status().message().find("object") != std::string::npos);
    CHECK(read_npy(fixture("missing.npy")).status().code() == ErrorCode::kInvalidInput);
    CHECK(read_npy(pare_test::source_path("tests/fixtures/models/neg.onnx")).status().code() ==
          ErrorCode::kInvalidInput);
}

TEST_CASE("npy: headers with hostile contents are rejected") {
    const auto dir = pare_test::temp_dir("npy_headers");
    auto write = [&](const std::string& name, const std::string& dict) {
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
        bytes += static_cast<char>(dict.size() & 0xff);
        bytes += static_cast<char>(dict.size() >> 8);
        bytes += dict;
        std::ofstream((dir / name).string(), std::ios::binary) << bytes;
        return (dir / name).string();
    };
    CHECK(read_npy(write("a.npy", "{'descr': '<f4', 'shape': (2,), }\n")).status().code() == ErrorCode::kInvalidInput);
    CHECK(read_npy(write("b.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n")).status().code() ==
          ErrorCode::kInvalidInput);
    CHECK(read_npy(write("c.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"))
              .status()
              .code() == ErrorCode::kInvalidInput);
    CHECK(read_npy(write("d.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"))
              .status()
              .code() == ErrorCode::kUnsupported);
    CHECK(read_npy(write("e.npy", "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }")).status().code() ==
          ErrorCode::kUnsupported);
    CHECK(read_npy(write("f.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (")).status().code() ==
          ErrorCode::kInvalidInput);
    std::filesystem::remove_all(dir);
}

TEST_CASE("npy: write then read round-trips every dtype, scalars and empty arrays") {
    const auto dir = pare_test::temp_dir("npy_roundtrip");
    const std::vector<Tensor> tensors = {
        tensor_from_vector<float>({1.5f, -2.f, 3.f}, {3}), tensor_from_vector<int64_t>({7, -8, 9, 10}, {2, 2}),
        tensor_from_vector<uint8_t>({255}, {}), tensor_from_vector<bool>({true, false}, {1, 2, 1}),
        Tensor(DType::kF16, {0, 5})};
    for (size_t i = 0; i < tensors.size(); ++i) {
        const std::string file = (dir / ("t" + std::to_string(i) + ".npy")).string();
        REQUIRE(write_npy(file, tensors[i]).ok());
        Result<Tensor> back = read_npy(file);
        REQUIRE(back.ok());
        CHECK(back->equals(tensors[i]));
        CHECK(std::filesystem::file_size(file) % 64 == tensors[i].nbytes() % 64);  // data starts 64-byte aligned
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("npz: stored and deflated archives give the same arrays, by name or by position") {
    const std::vector<std::string> names = {"a", "b"};
    Result<Dataset> stored = Dataset::open(fixture("named_stored.npz"), names);
    Result<Dataset> deflated = Dataset::open(fixture("named_deflated.npz"), names);
    Result<Dataset> positional = Dataset::open(fixture("positional.npz"), names);
    REQUIRE(stored.ok());
    REQUIRE(deflated.ok());
    REQUIRE(positional.ok());
    CHECK(stored->samples() == 5);
    CHECK(stored->dtype(1) == DType::kI32);
    const auto all = stored->read(0, 5).value();
    for (Dataset* d : {&*deflated, &*positional}) {
        CHECK(d->format() == "npz");
        // Out of order on purpose: the readers go back and forth.
        for (auto [start, count] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {0, 2}, {1, 4}}) {
            const auto got = d->read(start, count).value();
            REQUIRE(got.size() == 2);
            const auto expected = stored->read(start, count).value();
            CHECK(got[0].equals(expected[0]));
            CHECK(got[1].equals(expected[1]));
        }
    }
    CHECK(all[0].shape() == Shape{5, 4});
}

TEST_CASE("npz: a late slice of a large deflated member decompresses correctly") {
    Result<std::shared_ptr<NpzArchive>> archive = NpzArchive::open(fixture("large_deflated.npz"));
    REQUIRE(archive.ok());
    CHECK((*archive)->keys() == std::vector<std::string>{"x"});
    auto reader = (*archive)->reader("x").value();
    for (int64_t start : {39990, 5, 20000}) {
        const Tensor rows = reader->read_rows(start, 10).value();
        for (int64_t i = 0; i < rows.numel(); ++i) CHECK(rows.data<int32_t>()[i] == (start * 4 + i) % 251);
    }
}

TEST_CASE("npz: wrong keys, members that are not arrays and missing files are invalid input") {
    Result<Dataset> wrong = Dataset::open(fixture("wrong_keys.npz"), {"a", "b"});
    CHECK(wrong.status().code() == ErrorCode::kInvalidInput);
    CHECK(wrong.status().message().find("p, q") != std::string::npos);
    CHECK(Dataset::open(fixture("not_npy.npz"), {"a"}).status().code() == ErrorCode::kInvalidInput);
    CHECK(Dataset::open(fixture("x.npy.npz"), {"a"}).status().code() == ErrorCode::kInvalidInput);
    CHECK(Dataset::open(fixture("x.npy"), {"a", "b"}).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("onnx test data: sets are concatenated along dim 0 and batches cross set boundaries") {
    Result<Dataset> data = Dataset::open(fixture("test_data"), {"x"});
    REQUIRE(data.ok());
    CHECK(data->format() == "onnx-test-data");
    CHECK(data->samples() == 5);
    const Tensor x = read_npy(fixture("x.npy")).value();
    const auto batch = data->read(2, 3).value();
    CHECK(floats(batch[0]) == std::vector<float>(x.data<float>() + 8, x.data<float>() + 20));
    Result<Dataset> one_set = Dataset::open(fixture("test_data/test_data_set_1"), {"x"});
    REQUIRE(one_set.ok());
    CHECK(one_set->samples() == 2);
    CHECK(Dataset::open(fixture("test_data"), {"x", "y"}).status().code() == ErrorCode::kInvalidInput);
    CHECK(Dataset::open(fixture("dtypes"), {"x"}).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("dataset: limits, and shape and dtype checks against the model name the input and both shapes") {
    Dataset data = Dataset::open(fixture("x.npy"), {"x"}).value();
    data.set_limit(4);
    CHECK(data.samples() == 4);
    CHECK(data.total_samples() == 10);
    CHECK(data.read(2, 3).status().code() == ErrorCode::kInvalidInput);
    data.set_limit(100);
    CHECK(data.samples() == 10);
    data.set_limit(0);
    CHECK(data.samples() == 10);

    ValueType batch_dynamic = float_input({-1, 4});
    batch_dynamic.symbolic_dims[0] = "N";
    CHECK(data.check_against({batch_dynamic}).ok());
    CHECK(data.check_against({float_input({3, 4})}).ok());  // dim 0 is the batch, not the sample count
    Status wrong = data.check_against({float_input({-1, 5})});
    CHECK(wrong.code() == ErrorCode::kInvalidInput);
    CHECK(wrong.message().find("'x'") != std::string::npos);
    CHECK(wrong.message().find("[?, 5]") != std::string::npos);
    CHECK(wrong.message().find("10x4") != std::string::npos);
    CHECK(data.check_against({float_input({-1, 2, 2})}).code() == ErrorCode::kInvalidInput);
    ValueType ints = float_input({-1, 4});
    ints.dtype = DType::kI64;
    CHECK(data.check_against({ints}).message().find("int64") != std::string::npos);
}

TEST_CASE("labels: int64 [N] and int32 [N, 1], anything else is invalid input") {
    const std::vector<int64_t> labels = read_labels(fixture("labels.npy")).value();
    CHECK(labels.size() == 10);
    CHECK(read_labels(fixture("labels_i32_col.npy")).value() == labels);
    CHECK(read_labels(fixture("x.npy")).status().code() == ErrorCode::kInvalidInput);
    CHECK(read_labels(fixture("dtypes/int64.npy")).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("dataset sha256: files hash their bytes, folders their sorted files with names") {
    CHECK(dataset_sha256(fixture("x.npy")).value().size() == 64);
    const std::string folder = dataset_sha256(fixture("test_data")).value();
    CHECK(folder.size() == 64);
    CHECK(folder != dataset_sha256(fixture("test_data/test_data_set_0")).value());
}

TEST_CASE("dataset: for_each_batch covers every sample once, the last batch partial") {
    Dataset data = Dataset::open(fixture("named_deflated.npz"), {"a", "b"}).value();
    std::vector<std::pair<int64_t, int64_t>> seen;
    const Tensor all_b = data.read(0, 5).value()[1];
    std::vector<int32_t> collected;
    REQUIRE(data.for_each_batch(2,
                                [&](int64_t start, const std::vector<Tensor>& batch) {
                                    seen.emplace_back(start, batch[0].dim(0));
                                    CHECK(batch[1].dim(0) == batch[0].dim(0));
                                    collected.insert(collected.end(), batch[1].data<int32_t>(),
                                                     batch[1].data<int32_t>() + batch[1].numel());
                                    return Status();
                                })
                .ok());
    CHECK(seen == std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 2}, {4, 1}});
    CHECK(collected == std::vector<int32_t>(all_b.data<int32_t>(), all_b.data<int32_t>() + all_b.numel()));
    const Status stop =
        data.for_each_batch(3, [](int64_t, const std::vector<Tensor>&) { return invalid_input("stop"); });
    CHECK(stop.message() == "stop");
    CHECK(data.for_each_batch(0, [](int64_t, const std::vector<Tensor>&) { return Status(); }).code() ==
          ErrorCode::kUsage);
}

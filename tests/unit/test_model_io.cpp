#include <doctest/doctest.h>

#include <random>

#include "core/file_io.h"
#include "onnx/external_data.h"
#include "onnx/model_io.h"
#include "onnx/tensor_proto.h"
#include "test_helpers.h"

using namespace pare;
using namespace pare_test;

namespace {

// Protobuf equality: both sides parsed and re-serialized, so field order in the source file does not matter.
std::string canonical(const std::string& bytes) {
    onnx::ModelProto proto;
    REQUIRE(proto.ParseFromString(bytes));
    return proto.SerializeAsString();
}

void check_round_trip(const std::string& path) {
    auto original = read_file(path);
    REQUIRE(original.ok());
    auto loaded = load_model(path);
    REQUIRE_MESSAGE(loaded.ok(), path, ": ", loaded.status().message());
    auto saved = serialize_model(loaded->model);
    REQUIRE(saved.ok());
    CHECK_MESSAGE(canonical(*saved) == canonical(*original), "round trip changed ", path);
}

}  // namespace

TEST_CASE("round trip is lossless on every libonnx-testdata model") {
    const auto models = onnx_test_models({"node", "pytorch-converted", "pytorch-operator", "simple"});
    REQUIRE(models.size() > 900);
    for (const auto& path : models) check_round_trip(path);
}

TEST_CASE("round trip is lossless on every sample model") {
    for (const auto& path : sample_models()) check_round_trip(path);
}

TEST_CASE("typed and raw payloads decode to the same values and re-encode in their own field") {
    onnx::TensorProto typed;
    typed.set_name("t");
    typed.set_data_type(onnx::TensorProto::FLOAT16);
    typed.add_dims(2);
    typed.add_int32_data(0x3c00);  // 1.0
    typed.add_int32_data(0xc000);  // -2.0
    auto stored = decode_tensor_proto(typed);
    REQUIRE(stored.ok());
    CHECK(stored->storage == TensorStorage::kTyped);
    CHECK(tensor_to_floats(stored->value) == std::vector<float>{1.0f, -2.0f});
    CHECK(encode_tensor_proto(*stored).SerializeAsString() == typed.SerializeAsString());

    onnx::TensorProto short_raw = tensor_to_proto(tensor_from_vector<float>({1, 2, 3}, {3}), "r");
    short_raw.mutable_raw_data()->resize(8);
    auto bad = decode_tensor_proto(short_raw);
    CHECK(bad.status().code() == ErrorCode::kInvalidInput);
    CHECK(bad.status().message().find("'r'") != std::string::npos);
}

TEST_CASE("external data: save, reload, and keep the layout in another directory") {
    const auto dir = temp_dir("external");
    auto loaded = load_model(source_path("sample_data/fmnist/cnn.onnx"));
    REQUIRE(loaded.ok());
    SaveOptions options;
    options.external_data = true;
    const std::string first = (dir / "a" / "m.onnx").string();
    std::filesystem::create_directories(dir / "a");
    REQUIRE(save_model(loaded->model, first, options).ok());
    CHECK(std::filesystem::exists(dir / "a" / "m.onnx.data"));
    CHECK(std::filesystem::file_size(first) < 10000);  // weights are out of line

    auto reloaded = load_model(first);
    REQUIRE_MESSAGE(reloaded.ok(), reloaded.status().message());
    CHECK(reloaded->external_bytes > 100000);
    auto inline_a = serialize_model(loaded->model);
    auto inline_b = serialize_model(reloaded->model);
    REQUIRE(inline_a.ok());
    REQUIRE(inline_b.ok());
    CHECK(*inline_a == *inline_b);  // same values once inlined

    // Saving the external model again elsewhere reproduces the file exactly (location, offsets, lengths).
    std::filesystem::create_directories(dir / "b");
    const std::string second = (dir / "b" / "m.onnx").string();
    REQUIRE(save_model(reloaded->model, second).ok());
    CHECK(*read_file(first) == *read_file(second));
    CHECK(*read_file(first + ".data") == *read_file(second + ".data"));

    // Saving next to the source never rewrites the source's data file.
    const auto before = std::filesystem::last_write_time(dir / "a" / "m.onnx.data");
    REQUIRE(save_model(reloaded->model, (dir / "a" / "copy.onnx").string()).ok());
    CHECK(std::filesystem::last_write_time(dir / "a" / "m.onnx.data") == before);
    CHECK(std::filesystem::exists(dir / "a" / "copy.onnx.data"));
    CHECK(load_model((dir / "a" / "copy.onnx").string()).ok());
    std::filesystem::remove_all(dir);
}

TEST_CASE("external data paths that leave the model directory are refused") {
    onnx::TensorProto proto;
    proto.set_name("w");
    proto.set_data_type(onnx::TensorProto::FLOAT);
    proto.add_dims(1);
    proto.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = proto.add_external_data();
    entry->set_key("location");
    for (const char* bad : {"/etc/passwd", "../secret", "a/../../b"}) {
        entry->set_value(bad);
        StoredTensor stored{proto, Tensor(), TensorStorage::kExternal};
        CHECK(read_external_tensor(stored, ".").code() == ErrorCode::kInvalidInput);
    }
}

TEST_CASE("truncated models are refused at every offset (or are exactly a shorter valid model), never crash") {
    for (const auto& path : {source_path("sample_data/fmnist/cnn.onnx"), source_path("sample_data/fmnist/vit.onnx"),
                             std::string(kOnnxTestData) + "/node/test_if/model.onnx"}) {
        auto read = read_file(path);
        REQUIRE_MESSAGE(read.ok(), read.status().message());
        const std::string bytes = *read;
        // Every offset near both ends, and a spread through the middle.
        std::vector<size_t> cuts;
        for (size_t i = 0; i < std::min<size_t>(bytes.size(), 300); ++i) cuts.push_back(i);
        for (size_t i = 0; i < 300 && i < bytes.size(); ++i) cuts.push_back(bytes.size() - 1 - i);
        for (size_t i = 1; i < 200; ++i) cuts.push_back(bytes.size() * i / 200);
        for (size_t cut : cuts) {
            const std::string prefix = bytes.substr(0, cut);
            auto model = parse_model(prefix, ".");
            if (model.ok()) {
                // A cut exactly between trailing optional top-level fields (metadata) leaves a valid, smaller model:
                // accepted only if what was kept is exactly that prefix.
                CHECK_MESSAGE(*serialize_model(*model) == prefix, path, " truncated to ", cut, " bytes was accepted");
                continue;
            }
            CHECK(model.status().code() == ErrorCode::kInvalidInput);
        }
    }
}

TEST_CASE("flipped bytes give a valid model or a clean invalid-input error") {
    auto read = read_file(source_path("sample_data/fmnist/cnn.onnx"));
    REQUIRE_MESSAGE(read.ok(), read.status().message());
    const std::string bytes = *read;
    std::mt19937 rng(1234);
    int refused = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        std::string corrupt = bytes;
        // Bias toward the structure at the ends of the file, where flips matter most.
        const size_t position = trial % 2 ? rng() % std::min<size_t>(bytes.size(), 2048)
                                          : bytes.size() - 1 - rng() % std::min<size_t>(bytes.size(), 2048);
        corrupt[position] = static_cast<char>(corrupt[position] ^ (1 << (rng() % 8)));
        auto model = parse_model(corrupt, ".");
        if (!model.ok()) {
            CHECK(model.status().code() == ErrorCode::kInvalidInput);
            ++refused;
            continue;
        }
        CHECK(serialize_model(*model).ok());
    }
    CHECK(refused > 0);
}

TEST_CASE("files that are not ONNX are refused with a clear message") {
    CHECK(parse_model("", ".").status().code() == ErrorCode::kInvalidInput);
    CHECK(parse_model("hello, this is text\n", ".").status().code() == ErrorCode::kInvalidInput);
    auto missing = load_model("/nonexistent/model.onnx");
    CHECK(missing.status().code() == ErrorCode::kInvalidInput);
    CHECK(missing.status().message().find("/nonexistent/model.onnx") != std::string::npos);
}

TEST_CASE("saving switches to external data above the inline limit") {
    const auto dir = temp_dir("auto_external");
    auto loaded = load_model(source_path("sample_data/fmnist/mlp.onnx"));
    REQUIRE(loaded.ok());
    SaveOptions options;
    options.inline_limit = 100000;  // stands in for protobuf's 2 GiB, which a unit test cannot afford
    const std::string path = (dir / "big.onnx").string();
    REQUIRE(save_model(loaded->model, path, options).ok());
    CHECK(std::filesystem::exists(path + ".data"));
    auto reloaded = load_model(path);
    REQUIRE(reloaded.ok());
    CHECK(*serialize_model(reloaded->model) == *serialize_model(loaded->model));
    CHECK(save_model(loaded->model, "-", options).code() == ErrorCode::kUsage);  // stdout cannot carry two files
    std::filesystem::remove_all(dir);
}

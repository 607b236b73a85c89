// Codes + table weights (codebook, binary, ternary, log through the one writer), 1-D k-means, and ONNX Runtime's
// MatMulNBits packing and reference kernel, against hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>

#include "exec/session.h"
#include "model_builder.h"
#include "quantize/coded_weight.h"
#include "quantize/int4_pack.h"
#include "quantize/kmeans.h"
#include "quantize/log_quant.h"
#include "quantize/matmul_nbits.h"
#include "quantize/sign_quant.h"
#include "quantize/weight_only_rewriter.h"

using namespace pare;
using pare_test::make_graph;
using pare_test::make_node;
using pare_test::value_info;

namespace {

Model model_of(Graph graph, int64_t opset, bool microsoft = false) {
    Model model;
    model.header.set_ir_version(10);
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    if (microsoft) {
        import = model.header.add_opset_import();
        import->set_domain(kMicrosoftDomain);
        import->set_version(kMicrosoftOpset);
    }
    model.graph = std::move(graph);
    return model;
}

// Runs a model (any domains it imports) once on the reference kernels.
std::vector<float> run_model(const Model& model, const Tensor& x) {
    SessionOptions options;
    options.reference_only = true;
    auto session = Session::create(model, {{model.graph.input_names()[0], x.shape()}}, options);
    REQUIRE(session.ok());
    auto y = (*session)->run({x});
    REQUIRE(y.ok());
    const Tensor out = (*y)[0];
    return std::vector<float>(out.data<float>(), out.data<float>() + out.numel());
}

// A model y = x . W with W [k, n].
Model matmul_model(const std::vector<float>& w, int64_t k, int64_t n, int64_t opset = 13) {
    Graph graph = make_graph({value_info("x", DType::kF32, {1, k})}, {value_info("y", DType::kF32, {1, n})});
    graph.set_initializer("w", tensor_from_vector<float>(w, {k, n}));
    graph.insert_node(0, make_node("MatMul", {"x", "w"}, {"y"}));
    return model_of(graph, opset);
}

}  // namespace

TEST_CASE("kmeans_1d finds obvious clusters and is deterministic") {
    // Three tight groups around -2, 0.5 and 3 (means exactly -2, 0.5, 3).
    const std::vector<float> values = {3.1f, -2.0f, 0.4f, 2.9f, -2.1f, 0.6f, 3.0f, -1.9f, 0.5f};
    const std::vector<float> centres = kmeans_1d(values, 3);
    REQUIRE(centres.size() == 3);
    CHECK(centres[0] == doctest::Approx(-2.0f));
    CHECK(centres[1] == doctest::Approx(0.5f));
    CHECK(centres[2] == doctest::Approx(3.0f));
    // Same input, same centres, bit for bit; the order of the values does not matter.
    std::vector<float> shuffled(values.rbegin(), values.rend());
    CHECK(kmeans_1d(shuffled, 3) == centres);
    std::vector<float> many(5000);
    for (size_t i = 0; i < many.size(); ++i) many[i] = std::sin(0.37f * static_cast<float>(i)) * std::cos(0.011f * i);
    const auto first = kmeans_1d(many, 16), second = kmeans_1d(many, 16);
    CHECK(first == second);
    for (size_t j = 1; j < first.size(); ++j) CHECK(first[j - 1] <= first[j]);
    // Fewer distinct values than clusters: exactly those values, the last repeated.
    CHECK(kmeans_1d({1.0f, 1.0f, -1.0f}, 4) == std::vector<float>{-1.0f, 1.0f, 1.0f, 1.0f});
    CHECK(kmeans_1d({}, 2) == std::vector<float>{0.0f, 0.0f});
}

TEST_CASE("kmeans_1d moves from its quantile start to the least-squares centres") {
    // Quantile start with k = 2 over {0, 1, 2, 10}: slices {0, 1} and {2, 10}, means 0.5 and 6; Lloyd then moves 2
    // to the first cluster: {0, 1, 2} -> 1 and {10} -> 10, a fixed point.
    CHECK(kmeans_1d({0.0f, 1.0f, 2.0f, 10.0f}, 2) == std::vector<float>{1.0f, 10.0f});
}

TEST_CASE("nearest_entry picks the nearest, the lower index on ties") {
    const std::vector<float> table = {-1.0f, 0.0f, 0.0f, 2.0f};
    CHECK(nearest_entry(-5.0f, table) == 0);
    CHECK(nearest_entry(-0.5f, table) == 0);  // tie between -1 and 0: the lower index
    CHECK(nearest_entry(-0.4f, table) == 1);
    CHECK(nearest_entry(0.0f, table) == 1);  // equal entries: the first
    CHECK(nearest_entry(1.0f, table) == 1);  // tie between 0 and 2
    CHECK(nearest_entry(1.01f, table) == 3);
    CHECK(nearest_entry(9.0f, table) == 3);
    CHECK(nearest_entry(NAN, table) == 1);
}

TEST_CASE("binary and ternary scales minimise the channel's squared error") {
    CHECK(binary_scale({1.0f, -3.0f, 0.5f, -0.5f}) == doctest::Approx(1.25f));
    CHECK(binary_scale({}) == 0.0f);
    // Magnitudes 4, 3, 0.2, 0.1: S_m^2 / m = 16, 24.5, 17.4, 13.7 -> keep two, scale 3.5.
    CHECK(ternary_scale({0.1f, -4.0f, 3.0f, 0.2f}) == doctest::Approx(3.5f));
    CHECK(ternary_scale({0.0f, 0.0f}) == 0.0f);
    // Brute force over every scale on a fine grid: none beats the chosen one once codes are the nearest entries.
    const std::vector<float> w = {0.9f, -0.05f, 0.3f, -0.7f, 0.12f, 0.5f, -0.33f, 0.01f};
    auto ternary_error = [&](double s) {
        double e = 0.0;
        for (float v : w) {
            const double q = std::fabs(v) > 0.5 * s ? (v > 0 ? s : -s) : 0.0;
            e += (v - q) * (v - q);
        }
        return e;
    };
    const double chosen = ternary_error(ternary_scale(w));
    for (int i = 1; i <= 2000; ++i) CHECK(chosen <= ternary_error(i * 0.0005) + 1e-12);
}

TEST_CASE("code_weight: binary, ternary and codebook codes of a hand case") {
    const std::vector<std::vector<float>> channels = {{1.0f, -3.0f, 0.5f, -0.5f}, {0.1f, -4.0f, 3.0f, 0.2f}};
    CodeSpec spec;
    spec.scheme = CodeScheme::kBinary;
    CodedWeight binary = *code_weight(channels, spec);
    CHECK(binary.table == std::vector<float>{-1.0f, 1.0f});
    CHECK(binary.codes[0] == std::vector<uint8_t>{1, 0, 1, 0});
    CHECK(binary.decode(0, 0) == doctest::Approx(-1.25f));
    spec.scheme = CodeScheme::kTernary;
    CodedWeight ternary = *code_weight(channels, spec);
    CHECK(ternary.codes[1] == std::vector<uint8_t>{0, 2, 1, 0});
    CHECK(ternary.decode(1, 2) == doctest::Approx(-3.5f));
    spec.scheme = CodeScheme::kCodebook;
    spec.bits = 2;
    spec.tables = CodebookTables::kPerChannel;
    CodedWeight per_channel = *code_weight(channels, spec);
    CHECK_FALSE(per_channel.shared_table);
    CHECK(per_channel.table.size() == 8);  // 2 channels x 4 entries: four distinct values each, exact
    for (size_t c = 0; c < 2; ++c) {
        for (size_t i = 0; i < 4; ++i) CHECK(per_channel.decode(c, per_channel.codes[c][i]) == channels[c][i]);
    }
    spec.tables = CodebookTables::kPerTensor;
    CodedWeight shared = *code_weight(channels, spec);
    CHECK(shared.shared_table);
    CHECK(shared.table.size() == 4);
    CHECK(shared.scales.empty());
    spec.tables = CodebookTables::kScaled;  // both channels have RMS ~2.1: one table, two scales
    CodedWeight scaled = *code_weight(channels, spec);
    CHECK(scaled.shared_table);
    CHECK(scaled.table.size() == 4);
    CHECK(scaled.scales.size() == 2);
    spec.bits = 9;
    CHECK(code_weight(channels, spec).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("the code + table writer decodes at every bit width 2..8: per-tensor, per-channel and scaled tables") {
    const int64_t k = 24, n = 3;
    std::vector<float> w(k * n), x(k);
    for (int64_t i = 0; i < k * n; ++i) w[i] = std::sin(0.9f * static_cast<float>(i)) * (1.0f + (i % n));
    for (int64_t i = 0; i < k; ++i) x[i] = 0.1f * static_cast<float>(i % 5) - 0.2f;
    for (int bits = 2; bits <= 8; ++bits) {
        for (auto tables : {CodebookTables::kPerTensor, CodebookTables::kPerChannel, CodebookTables::kScaled}) {
            CAPTURE(bits);
            CAPTURE(static_cast<int>(tables));
            const bool per_channel = tables == CodebookTables::kPerChannel, scaled = tables == CodebookTables::kScaled;
            Model model = matmul_model(w, k, n);
            WeightOnlySpec spec;
            spec.scheme = WeightOnlyScheme::kCodebook;
            spec.bits = bits;
            spec.codebook = tables;
            auto layers = rewrite_weight_only(model, spec);
            REQUIRE(layers.ok());
            CHECK(model.opset() == (bits <= 4 ? 21 : 13));
            const Graph& g = model.graph;
            REQUIRE(g.nodes.size() == (scaled ? 4 : 3));
            CHECK(g.nodes[0].op_type() == "Cast");
            CHECK(g.nodes[1].op_type() == (per_channel ? "GatherElements" : "Gather"));
            const Tensor codes = *g.constant(g.nodes[0].input(0));
            const Tensor table = *g.constant(g.nodes[1].input(0));
            std::vector<float> scales(n, 1.0f);
            if (scaled) {
                CHECK(g.nodes[2].op_type() == "Mul");
                const Tensor scale = *g.constant(g.nodes[2].input(1));
                CHECK(scale.shape() == Shape{1, n});
                scales.assign(scale.data<float>(), scale.data<float>() + n);
            }
            CHECK(codes.dtype() == (bits <= 4 ? DType::kU4 : DType::kU8));
            CHECK(codes.shape() == Shape{k, n});
            CHECK(codes.nbytes() == static_cast<size_t>(bits <= 4 ? k * n / 2 : k * n));
            CHECK(table.shape() == (per_channel ? Shape{int64_t(1) << bits, n} : Shape{int64_t(1) << bits}));
            // The expected decode: each code unpacked by hand, its table value (per column with per-channel tables)
            // times the column's scale.
            std::vector<int64_t> code_values(k * n);
            if (bits <= 4) {
                const auto* bytes = static_cast<const uint8_t*>(codes.raw());
                for (int64_t i = 0; i < k * n; ++i) code_values[i] = (bytes[i / 2] >> (4 * (i % 2))) & 0xF;
            } else {
                for (int64_t i = 0; i < k * n; ++i) code_values[i] = static_cast<const uint8_t*>(codes.raw())[i];
            }
            std::vector<float> decoded(k * n);
            double noise = 0.0;
            for (int64_t i = 0; i < k * n; ++i) {
                CHECK(code_values[i] < (int64_t(1) << bits));
                decoded[i] =
                    table.data<float>()[per_channel ? code_values[i] * n + i % n : code_values[i]] * scales[i % n];
                noise += (decoded[i] - w[i]) * (decoded[i] - w[i]);
            }
            const std::vector<float> y = run_model(model, tensor_from_vector<float>(x, {1, k}));
            for (int64_t j = 0; j < n; ++j) {
                double expected = 0.0;
                for (int64_t i = 0; i < k; ++i) expected += static_cast<double>(x[i]) * decoded[i * n + j];
                CHECK(y[j] == doctest::Approx(expected).epsilon(1e-5));
            }
            // With 2^bits >= the 72 distinct values (bits 7, 8) per-tensor k-means is exact, per channel (24 values)
            // from 5 bits.
            if ((tables == CodebookTables::kPerTensor && bits >= 7) || (per_channel && bits >= 5)) {
                CHECK(noise == doctest::Approx(0.0));
            }
        }
    }
}

TEST_CASE("per-channel tables of a Conv kernel gather along axis 1 and reshape back, and binary and ternary decode") {
    std::vector<float> w(4 * 2 * 3 * 3);
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(1.3f * static_cast<float>(i)) * (1.0f + i / 18);
    std::vector<float> x(50);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.4f * static_cast<float>(i));
    auto conv_model = [](const std::vector<float>& weight) {
        Graph graph =
            make_graph({value_info("x", DType::kF32, {1, 2, 5, 5})}, {value_info("y", DType::kF32, {1, 4, 3, 3})});
        graph.set_initializer("w", tensor_from_vector<float>(weight, {4, 2, 3, 3}));
        graph.insert_node(0, make_node("Conv", {"x", "w"}, {"y"}));
        return model_of(graph, 13);
    };
    for (auto scheme : {WeightOnlyScheme::kCodebook, WeightOnlyScheme::kBinary, WeightOnlyScheme::kTernary}) {
        Model model = conv_model(w);
        WeightOnlySpec spec;
        spec.scheme = scheme;
        spec.bits = 3;
        spec.codebook = CodebookTables::kPerChannel;
        auto layers = rewrite_weight_only(model, spec);
        REQUIRE(layers.ok());
        const Graph& g = model.graph;
        REQUIRE(g.nodes.size() == 4);
        const Tensor codes = *g.constant(g.nodes[0].input(0));
        const Tensor table = *g.constant(g.nodes[1].input(0));
        const auto unpacked = *unpack_4bit(codes);
        std::vector<float> decoded(w.size());
        if (scheme == WeightOnlyScheme::kCodebook) {
            CHECK(g.nodes[1].op_type() == "GatherElements");
            CHECK(g.nodes[1].attr_int("axis", -1) == 1);
            CHECK(codes.shape() == Shape{4, 18});
            CHECK(table.shape() == Shape{4, 8});
            CHECK(g.nodes[2].op_type() == "Reshape");
            for (size_t i = 0; i < w.size(); ++i) decoded[i] = table.data<float>()[(i / 18) * 8 + unpacked[i]];
        } else {
            CHECK(g.nodes[1].op_type() == "Gather");
            CHECK(g.nodes[2].op_type() == "Mul");
            const Tensor scale = *g.constant(g.nodes[2].input(1));
            CHECK(scale.shape() == Shape{4, 1, 1, 1});
            for (size_t i = 0; i < w.size(); ++i) {
                const float s = scale.data<float>()[i / 18];
                if (scheme == WeightOnlyScheme::kBinary) CHECK(unpacked[i] == (w[i] >= 0 ? 1 : 0));
                if (scheme == WeightOnlyScheme::kTernary) {
                    CHECK(unpacked[i] == (std::fabs(w[i]) > 0.5f * s ? (w[i] > 0 ? 1 : 2) : 0));
                }
                decoded[i] = table.data<float>()[unpacked[i]] * s;  // 0 or +/- the channel's scale
            }
        }
        // The rewritten graph computes the Conv of the decoded weights.
        const Tensor input = tensor_from_vector<float>(x, {1, 2, 5, 5});
        const auto y = run_model(model, input), expected = run_model(conv_model(decoded), input);
        for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    }
}

TEST_CASE("pack_matmul_nbits lays codes out as [N, blocks, block/2], low nibble first, code + 8") {
    // K = 20 (one full block of 16 and a partial one), N = 2; codes[k][n] = (k + 3n) % 16 - 8.
    const int64_t k = 20, n = 2, block = 16;
    std::vector<int8_t> codes(k * n);
    for (int64_t r = 0; r < k; ++r) {
        for (int64_t c = 0; c < n; ++c) codes[r * n + c] = static_cast<int8_t>((r + 3 * c) % 16 - 8);
    }
    const std::vector<float> scales = {0.5f, 2.0f, 0.25f, 4.0f};  // [blocks, N]: block 0 (0.5, 2), block 1 (0.25, 4)
    auto packed = pack_matmul_nbits(codes, scales, k, n, block, DType::kF32);
    REQUIRE(packed.ok());
    CHECK(packed->b.shape() == Shape{2, 2, 8});
    const auto* b = packed->b.data<uint8_t>();
    // Column 0, block 0: rows 0, 1 -> stored 0, 1 -> byte 0x10; column 1, block 0: rows 0, 1 -> 3, 4 -> 0x43.
    CHECK(b[0] == 0x10);
    CHECK(b[16] == 0x43);
    // Column 0, block 1: rows 16..19 -> 16 % 16 = 0 .. 3 -> bytes 0x10, 0x32, then padding 8 | 8 << 4 = 0x88.
    CHECK(b[8] == 0x10);
    CHECK(b[9] == 0x32);
    CHECK(b[10] == 0x88);
    CHECK(b[15] == 0x88);
    CHECK(packed->scales.shape() == Shape{4});
    CHECK(std::vector<float>(packed->scales.data<float>(), packed->scales.data<float>() + 4) ==
          std::vector<float>{0.5f, 0.25f, 2.0f, 4.0f});  // n-major
    CHECK(pack_matmul_nbits(codes, scales, k, n, 15, DType::kF32).status().code() == ErrorCode::kInvalidInput);
    CHECK(pack_matmul_nbits({9}, {1.0f}, 1, 1, 16, DType::kF32).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("MatMulNBits reference kernel: hand-built B, scales, packed zero points and bias") {
    // K = 4 (one block of 16, zero-padded), N = 2, bits 4. Column 0 codes 9, 7, 15, 0 with zero point 8 (default),
    // column 1 codes 1, 2, 3, 4 with zero point 2 when given. Scales 0.5 and 2.
    auto build = [](bool zero_points, bool bias) {
        Graph graph = make_graph({value_info("a", DType::kF32, {2, 4})}, {value_info("y", DType::kF32, {2, 2})});
        Tensor b(DType::kU8, {2, 1, 8});
        auto* bytes = b.data<uint8_t>();
        bytes[0] = 0x79;  // codes 9, 7
        bytes[1] = 0x0F;  // codes 15, 0
        bytes[8] = 0x21;  // codes 1, 2
        bytes[9] = 0x43;  // codes 3, 4
        graph.set_initializer("b", b);
        graph.set_initializer("s", tensor_from_vector<float>({0.5f, 2.0f}, {2}));
        std::vector<std::string> inputs = {"a", "b", "s"};
        if (zero_points) {
            graph.set_initializer("zp", tensor_from_vector<uint8_t>({8, 2}, {2}));  // one byte per column
            inputs.push_back("zp");
        }
        if (bias) {
            if (!zero_points) inputs.push_back("");
            inputs.push_back("");
            graph.set_initializer("bias", tensor_from_vector<float>({10.0f, -10.0f}, {2}));
            inputs.push_back("bias");
        }
        Node node = make_node("MatMulNBits", inputs, {"y"});
        node.proto.set_domain(kMicrosoftDomain);
        node.set_attr_int("K", 4);
        node.set_attr_int("N", 2);
        node.set_attr_int("bits", 4);
        node.set_attr_int("block_size", 16);
        graph.insert_node(0, node);
        return model_of(graph, 21, true);
    };
    // W column 0 = (1, -1, 7, -8) x 0.5; column 1 = (code - zp) x 2.
    const Tensor a = tensor_from_vector<float>({1, 2, 3, 4, -1, 0, 1, 0}, {2, 4});
    const double col0_row0 = 0.5 * (1 * 1 + 2 * -1 + 3 * 7 + 4 * -8), col0_row1 = 0.5 * (-1 * 1 + 1 * 7);
    const auto y_default = run_model(build(false, false), a);  // zero point 8 for column 1 too: codes 1..4 - 8
    CHECK(y_default[0] == doctest::Approx(col0_row0));
    CHECK(y_default[1] == doctest::Approx(2.0 * (1 * -7 + 2 * -6 + 3 * -5 + 4 * -4)));
    CHECK(y_default[2] == doctest::Approx(col0_row1));
    const auto y = run_model(build(true, true), a);
    CHECK(y[0] == doctest::Approx(col0_row0 + 10.0));
    CHECK(y[1] == doctest::Approx(2.0 * (1 * -1 + 2 * 0 + 3 * 1 + 4 * 2) - 10.0));
    CHECK(y[3] == doctest::Approx(2.0 * (-1 * -1 + 1 * 1) - 10.0));
}

TEST_CASE("int4 --format matmulnbits: MatMul becomes MatMulNBits decoding to the DequantizeLinear weights") {
    const int64_t k = 40, n = 3;
    std::vector<float> w(k * n), x(k);
    for (int64_t i = 0; i < k * n; ++i) w[i] = std::sin(0.7f * static_cast<float>(i)) * (i % 7 == 0 ? 3.0f : 1.0f);
    for (int64_t i = 0; i < k; ++i) x[i] = std::cos(0.3f * static_cast<float>(i));
    const Tensor input = tensor_from_vector<float>(x, {1, k});
    Model dq_model = matmul_model(w, k, n), nbits_model = matmul_model(w, k, n);
    WeightOnlySpec spec;
    REQUIRE(rewrite_weight_only(dq_model, spec).ok());
    spec.matmulnbits = true;
    auto layers = rewrite_weight_only(nbits_model, spec);
    REQUIRE(layers.ok());
    CHECK((*layers)[0].matmulnbits);
    REQUIRE(nbits_model.graph.nodes.size() == 1);
    const Node& node = nbits_model.graph.nodes[0];
    CHECK(node.op_type() == "MatMulNBits");
    CHECK(node.domain() == kMicrosoftDomain);
    CHECK(node.attr_int("K", 0) == k);
    CHECK(node.attr_int("block_size", 0) == 32);
    CHECK(nbits_model.opset(kMicrosoftDomain) == kMicrosoftOpset);
    CHECK(nbits_model.opset() == 13);  // no INT4 tensor left: the ai.onnx opset stays
    CHECK(nbits_model.graph.constant(node.input(1))->shape() == Shape{n, 2, 16});
    const auto expected = run_model(dq_model, input), y = run_model(nbits_model, input);
    for (int64_t j = 0; j < n; ++j) CHECK(y[j] == doctest::Approx(expected[j]).epsilon(1e-6));
    // A block size MatMulNBits cannot take keeps the DequantizeLinear form.
    Model odd = matmul_model(w, k, n);
    spec.block_size = 24;
    REQUIRE(rewrite_weight_only(odd, spec).ok());
    CHECK(odd.graph.nodes[0].op_type() == "DequantizeLinear");
}

TEST_CASE("int4 --format matmulnbits: a Gemm with transB and a bias becomes MatMulNBits with the bias input") {
    const int64_t k = 32, n = 3;
    std::vector<float> w(n * k), x(2 * k);
    for (int64_t i = 0; i < n * k; ++i) w[i] = std::cos(0.45f * static_cast<float>(i));
    for (int64_t i = 0; i < 2 * k; ++i) x[i] = std::sin(0.2f * static_cast<float>(i));
    auto gemm_model = [&]() {
        Graph graph = make_graph({value_info("x", DType::kF32, {2, k})}, {value_info("y", DType::kF32, {2, n})});
        graph.set_initializer("w", tensor_from_vector<float>(w, {n, k}));
        graph.set_initializer("c", tensor_from_vector<float>({1.0f, -2.0f, 3.0f}, {1, n}));
        Node gemm = make_node("Gemm", {"x", "w", "c"}, {"y"});
        gemm.set_attr_int("transB", 1);
        graph.insert_node(0, gemm);
        return model_of(graph, 13);
    };
    Model dq_model = gemm_model(), nbits_model = gemm_model();
    WeightOnlySpec spec;
    REQUIRE(rewrite_weight_only(dq_model, spec).ok());
    spec.matmulnbits = true;
    REQUIRE(rewrite_weight_only(nbits_model, spec).ok());
    REQUIRE(nbits_model.graph.nodes.size() == 1);
    const Node& node = nbits_model.graph.nodes[0];
    CHECK(node.op_type() == "MatMulNBits");
    REQUIRE(node.num_inputs() == 6);
    CHECK(node.input(3).empty());
    CHECK(nbits_model.graph.constant(node.input(5))->shape() == Shape{n});
    CHECK(node.attr_int("transB", -1) == -1);  // Gemm's attributes are gone
    const Tensor input = tensor_from_vector<float>(x, {2, k});
    const auto expected = run_model(dq_model, input), y = run_model(nbits_model, input);
    for (size_t j = 0; j < y.size(); ++j) CHECK(y[j] == doctest::Approx(expected[j]).epsilon(1e-6));
}

TEST_CASE("choose_log_scale: no scale on a fine sweep decodes the channel with less squared error") {
    std::vector<float> values(300);
    for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.83f * i) * std::exp(-0.01f * (i % 50));
    const std::vector<float> codebook = log_codebook(4);
    auto error = [&](float scale) {
        double e = 0.0;
        for (float v : values) {
            const double d = v - static_cast<double>(codebook[log_encode(v, scale, 4)]) * scale;
            e += d * d;
        }
        return e;
    };
    const float chosen = choose_log_scale(values, 4);
    const double chosen_error = error(chosen);
    float largest = 0.0f;
    for (float v : values) largest = std::max(largest, std::fabs(v));
    // The old rule (scale = max |w|) and a sweep of 2000 scales over two octaves below it.
    CHECK(chosen_error <= error(largest));
    for (int i = 0; i < 2000; ++i) {
        const float scale = largest * std::exp2(-2.0f * static_cast<float>(i) / 2000.0f);
        CHECK(chosen_error <= error(scale) * (1.0 + 1e-3));
    }
    CHECK(choose_log_scale({0.0f, 0.0f}, 4) == 1.0f);
}

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include "calibration/calibration_table.h"
#include "calibration/monotone_map.h"
#include "calibration/range_methods.h"
#include "calibration/tensor_stats.h"
#include "model_builder.h"
#include "test_helpers.h"

using namespace pare;
using namespace pare_test;

namespace {

std::vector<float> fixture_values() {
    std::ifstream in(source_path("tests/fixtures/calibration_values.f32"), std::ios::binary);
    std::vector<float> values(10000);
    in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
    REQUIRE(in.gcount() == static_cast<std::streamsize>(values.size() * sizeof(float)));
    return values;
}

nlohmann::json fixture_stats() {
    std::ifstream in(source_path("tests/fixtures/calibration_values.json"));
    return nlohmann::json::parse(in);
}

Histogram histogram_of(const std::vector<float>& values) {
    Histogram h;
    h.add(values.data(), static_cast<int64_t>(values.size()));
    return h;
}

}  // namespace

TEST_CASE("histogram bins hand-checked values") {
    Histogram h;
    const std::vector<float> values = {0.0f, 0.5f, -0.5f, 0.75f};
    h.add(values.data(), 4);
    CHECK(h.exponent() == 0);  // max |x| = 0.75 < 2^0
    CHECK(h.bin_width() == doctest::Approx(2.0 / Histogram::kBins));
    const auto& c = h.counts();
    CHECK(c[Histogram::kBins / 2] == 1);                             // 0.0
    CHECK(c[Histogram::kBins / 2 + Histogram::kBins / 4] == 1);      // 0.5 = a quarter of the bins above zero
    CHECK(c[Histogram::kBins / 4] == 1);                             // -0.5
    CHECK(c[Histogram::kBins / 2 + 3 * Histogram::kBins / 8] == 1);  // 0.75
    CHECK(h.total() == 4);
    h.widen_to(1);                                                        // doubling the range merges bin pairs
    CHECK(h.counts()[Histogram::kBins / 2 + Histogram::kBins / 8] == 1);  // 0.5 now at an eighth
    CHECK(h.total() == 4);
}

TEST_CASE("widening by many doublings at once equals widening one doubling at a time") {
    // Values over the whole range, so every bin holds a different count and a misplaced bin shows.
    Histogram h;
    std::vector<float> values;
    for (int i = 0; i < 3 * Histogram::kBins; ++i) values.push_back(std::ldexp(float(i % 997) - 498.0f, -12));
    h.add(values.data(), static_cast<int64_t>(values.size()));
    for (int doublings : {1, 2, 5, 12, 13, 14, 40}) {
        Histogram stepwise = h, at_once = h;
        for (int d = 1; d <= doublings; ++d) stepwise.widen_to(h.exponent() + d);
        at_once.widen_to(h.exponent() + doublings);
        CAPTURE(doublings);
        CHECK(at_once.exponent() == stepwise.exponent());
        CHECK(at_once.counts() == stepwise.counts());
        CHECK(at_once.total() == h.total());
    }
}

TEST_CASE("histograms are identical whatever the batch grouping and merge order") {
    const std::vector<float> values = fixture_values();
    const Histogram whole = histogram_of(values);
    // One value at a time, and in batches of 64 merged in reverse order.
    Histogram single;
    for (float v : values) single.add(&v, 1);
    CHECK(single.counts() == whole.counts());
    CHECK(single.exponent() == whole.exponent());
    std::vector<Histogram> batches;
    for (size_t i = 0; i < values.size(); i += 64) {
        batches.push_back(Histogram());
        batches.back().add(values.data() + i, static_cast<int64_t>(std::min<size_t>(64, values.size() - i)));
    }
    Histogram merged;
    for (auto it = batches.rbegin(); it != batches.rend(); ++it) merged.merge(*it);
    CHECK(merged.counts() == whole.counts());
    CHECK(merged.exponent() == whole.exponent());
}

TEST_CASE("range methods against numpy on a heavy-tailed activation") {
    const std::vector<float> values = fixture_values();
    const nlohmann::json numpy = fixture_stats();
    const Histogram h = histogram_of(values);
    MinMax range;
    for (float v : values) range.add(v);
    CHECK(range.max == doctest::Approx(numpy["max"].get<double>()));
    // The histogram rule, recomputed independently in numpy.
    CHECK(h.exponent() == numpy["histogram_exponent"].get<int>());
    for (const auto& [bin, count] : numpy["histogram_nonzero_bins"].items()) {
        CHECK(h.counts()[std::stoul(bin)] == count.get<uint64_t>());
    }

    const MethodRange minmax = compute_range(range, h, RangeMethod::kMinMax, {});
    CHECK(minmax.asymmetric.lo == 0.0);
    CHECK(minmax.asymmetric.hi == doctest::Approx(numpy["max"].get<double>()));
    CHECK(minmax.symmetric.hi == -minmax.symmetric.lo);

    // Percentiles from the histogram are within one bin of numpy's exact ones.
    for (auto [p, key] : {std::pair<double, const char*>{99.0, "percentile_99"}, {99.5, "percentile_99_5"}}) {
        RangeOptions options;
        options.percentile = p;
        const MethodRange r = compute_range(range, h, RangeMethod::kPercentile, options);
        CHECK(std::fabs(r.asymmetric.hi - numpy[key].get<double>()) <= h.bin_width());
    }
    RangeOptions p99;
    p99.percentile = 99.0;
    CHECK(std::fabs(compute_range(range, h, RangeMethod::kPercentile, p99).symmetric.hi -
                    numpy["abs_percentile_99"].get<double>()) <= h.bin_width());

    // Entropy: TensorRT's KL threshold, as numpy computes it from the same histogram.
    const MethodRange entropy = compute_range(range, h, RangeMethod::kEntropy, {});
    CHECK(std::fabs(entropy.symmetric.hi - numpy["entropy_threshold_int8"].get<double>()) <= h.bin_width());
    CHECK(entropy.asymmetric.lo == 0.0);
    // MSE clips the 10 outliers (8..12) instead of spreading 255 levels over them, but not the body.
    const MethodRange mse = compute_range(range, h, RangeMethod::kMse, {});
    CHECK(mse.asymmetric.hi < range.max);
    CHECK(mse.asymmetric.hi > numpy["percentile_99"].get<double>());
}

TEST_CASE("MSE picks the scaling a direct sum over every bin finds best") {
    // The expected error computed bin by bin (clipping error outside, step^2/12 inside) for each of the 199
    // candidate scalings; the method must choose the same one, symmetric and asymmetric.
    const std::vector<float> values = fixture_values();
    const Histogram h = histogram_of(values);
    MinMax range;
    for (float v : values) range.add(v);
    auto direct_best = [&](double lo, double hi, int steps) {
        double best_error = INFINITY, best_alpha = 1.0;
        for (int i = 200; i >= 2; --i) {
            const double a = i / 200.0, l = lo * a, u = hi * a, step = (u - l) / steps;
            if (u <= l) continue;
            double error = 0.0;
            for (int b = 0; b < Histogram::kBins; ++b) {
                const double x = h.bin_lower(b) + h.bin_width() / 2, c = static_cast<double>(h.counts()[b]);
                error += c * (x < l ? (l - x) * (l - x) : x > u ? (x - u) * (x - u) : step * step / 12.0);
            }
            if (error < best_error) best_error = error, best_alpha = a;
        }
        return best_alpha;
    };
    const MethodRange mse = compute_range(range, h, RangeMethod::kMse, {});
    const double max_abs = std::max(std::fabs(range.min), std::fabs(range.max));
    CHECK(mse.symmetric.hi == doctest::Approx(max_abs * direct_best(-max_abs, max_abs, 254)).epsilon(1e-12));
    CHECK(mse.asymmetric.hi == doctest::Approx(range.max * direct_best(range.min, range.max, 255)).epsilon(1e-12));
    CHECK(mse.asymmetric.hi < range.max);  // the fixture has outliers: the check above is not trivially 1.0
}

TEST_CASE("MSE keeps the full range when there are no outliers") {
    std::vector<float> uniform(4096);
    for (size_t i = 0; i < uniform.size(); ++i) uniform[i] = static_cast<float>(i) / 4095.0f * 2.0f - 1.0f;
    MinMax range;
    for (float v : uniform) range.add(v);
    const MethodRange mse = compute_range(range, histogram_of(uniform), RangeMethod::kMse, {});
    CHECK(mse.asymmetric.hi == doctest::Approx(1.0).epsilon(0.01));
    CHECK(mse.asymmetric.lo == doctest::Approx(-1.0).epsilon(0.01));
}

TEST_CASE("tensor stats: NaN names the tensor and sample, halves and settling are batch-size independent") {
    TensorStats stats("conv1", 1, 4);
    Tensor batch(DType::kF32, {2, 3});
    batch.data<float>()[4] = NAN;  // sample 1 of this batch
    const Status status = stats.add(batch, 10, 2);
    CHECK(status.code() == ErrorCode::kInvalidInput);
    CHECK(status.message().find("'conv1'") != std::string::npos);
    CHECK(status.message().find("sample 11") != std::string::npos);

    // Four samples, per-channel over axis 1, fed as one batch of 4 and as batches of 1.
    const std::vector<float> data = {1, -2, 3, 4, 5, -6, 0.5f, 0, 1, 9, 9, 9};
    Tensor all = tensor_from_vector<float>(data, {4, 3});
    TensorStats together("t", 1, 4), apart("t", 1, 4);
    REQUIRE(together.add(all, 0, 4).ok());
    for (int64_t i = 0; i < 4; ++i) {
        Tensor row = tensor_from_vector<float>({data.begin() + i * 3, data.begin() + i * 3 + 3}, {1, 3});
        REQUIRE(apart.add(row, i, 1).ok());
    }
    for (TensorStats* s : {&together, &apart}) {
        CHECK(s->range().min == -6);
        CHECK(s->range().max == 9);
        CHECK(s->first_half().max == 5);
        CHECK(s->second_half().min == 0);
        REQUIRE(s->channels().size() == 3);
        CHECK(s->channels()[1].min == -2);
        CHECK(s->channels()[2].max == 9);
        CHECK(s->settled_at() == 4);  // the last sample raised max |x| from 6 to 9
    }
    CHECK(together.histogram().counts() == apart.histogram().counts());
}

TEST_CASE("tensor stats: large samples are histogrammed through runs of values that ignore the batching") {
    // 12 samples of 3000 values (enough for the threads to share the batch): each sample contributes runs of 4
    // values, one every 48 (4 x ceil(3000 / kHistogramValuesPerSample)), from an offset set by its index; min/max
    // see every value.
    REQUIRE(kHistogramValuesPerSample == 256);
    REQUIRE(kHistogramRun == 4);
    const int64_t per_sample = 3000, samples = 12, period = 48, low_at = 1500;
    std::vector<float> data(static_cast<size_t>(per_sample * samples), 0.25f);
    for (int64_t s = 0; s < samples; ++s) data[static_cast<size_t>(s * per_sample + low_at)] = -8.0f;
    TensorStats together("t", -1, samples), apart("t", -1, samples);
    REQUIRE(together.add(tensor_from_vector<float>(data, {samples, per_sample}), 0, samples).ok());
    for (int64_t s = 0; s < samples; ++s) {
        const std::vector<float> row(data.begin() + s * per_sample, data.begin() + (s + 1) * per_sample);
        REQUIRE(apart.add(tensor_from_vector<float>(row, {1, per_sample}), s, 1).ok());
    }
    CHECK(together.histogram().counts() == apart.histogram().counts());
    CHECK(together.range().min == -8.0f);
    // Sample s counts the positions p >= its offset with (p - offset) mod 48 below 4: count them one by one.
    int64_t expected_total = 0, expected_low = 0;
    for (int64_t s = 0; s < samples; ++s) {
        const int64_t offset = histogram_run_offset(s, period);
        for (int64_t p = offset; p < per_sample; ++p) {
            if ((p - offset) % period >= kHistogramRun) continue;
            ++expected_total;
            expected_low += p == low_at;
        }
    }
    CHECK(expected_low > 0);
    CHECK(expected_low < samples);
    const Histogram& h = together.histogram();
    CHECK(h.total() == uint64_t(expected_total));
    CHECK(h.counts()[static_cast<size_t>(std::floor(-8.0 / h.bin_width())) + Histogram::kBins / 2] ==
          uint64_t(expected_low));
}

TEST_CASE("tensor stats: a batch whose later rows widen the histogram counts the same as one value at a time") {
    // Batch 1 sets the range to [-1, 1); in batch 2 the first half of the rows stay inside it (counted in a tally at
    // that range) and the second half reach 40 (counted after the histogram widens). Both batches are large enough
    // for the threads to split them. The result must equal binning every value straight into a histogram.
    const int64_t rows = 16, per_row = 4000;
    std::vector<float> small(static_cast<size_t>(rows * per_row)), mixed(small.size());
    for (size_t i = 0; i < small.size(); ++i) {
        small[i] = static_cast<float>(i % 997) / 997.0f - 0.5f;
        const bool late_row = static_cast<int64_t>(i) / per_row >= rows / 2;
        mixed[i] = late_row ? static_cast<float>(i % 401) / 10.0f : -static_cast<float>(i % 89) / 100.0f;
    }
    TensorStats stats("t", -1, 2 * rows);
    REQUIRE(stats.add(tensor_from_vector<float>(small, {rows, per_row}), 0, rows).ok());
    REQUIRE(stats.histogram().exponent() == 0);
    REQUIRE(stats.add(tensor_from_vector<float>(mixed, {rows, per_row}), rows, rows).ok());
    CHECK(stats.histogram().exponent() == 6);

    // The same picks, one value at a time.
    Histogram expected;
    for (const std::vector<float>* batch : {&small, &mixed}) {
        const int64_t first = batch == &small ? 0 : rows;
        const int64_t period = kHistogramRun * ((per_row + kHistogramValuesPerSample - 1) / kHistogramValuesPerSample);
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t offset = histogram_run_offset(first + r, period);
            for (int64_t p = offset; p < per_row; ++p) {
                if ((p - offset) % period < kHistogramRun)
                    expected.add(&(*batch)[static_cast<size_t>(r * per_row + p)], 1);
            }
        }
    }
    expected.widen_to(stats.histogram().exponent());
    CHECK(stats.histogram().counts() == expected.counts());
}

TEST_CASE("tensor stats: histogram run offsets of consecutive samples spread over the period") {
    // Fibonacci hashing: (s x 2654435761 mod 2^32) x period / 2^32, checked against values computed by hand.
    CHECK(histogram_run_offset(0, 48) == 0);
    CHECK(histogram_run_offset(1, 48) == 29);
    CHECK(histogram_run_offset(2, 48) == 11);
    CHECK(histogram_run_offset(3, 48) == 40);
    for (int64_t s = 0; s < 1000; ++s) {
        CHECK(histogram_run_offset(s, 48) >= 0);
        CHECK(histogram_run_offset(s, 48) < 48);
    }
}

TEST_CASE("tensor stats: a mapped tensor's statistics from its input's extremes equal those of a full scan") {
    // 8 samples of 3000 values of an input and of each map's output; batches of 4. add_mapped takes each row's
    // extremes from the input's; everything must match adding the output by itself, and a batch the input did not
    // see falls back to the scan.
    const int64_t per_sample = 3000, samples = 8, batch = 4;
    std::vector<float> x(static_cast<size_t>(per_sample * samples));
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * (1.0 + static_cast<double>(i % 97)) / 8.0);
    }
    using Kind = MonotoneMap::Kind;
    // Relu6 (biting on both sides: x spans about -12..12), and arithmetic that keeps or swaps the ends.
    const std::vector<std::pair<MonotoneMap, std::function<float(float)>>> maps = {
        {{"x", Kind::kClamp, 0.0f, 6.0f}, [](float v) { return std::min(std::max(v, 0.0f), 6.0f); }},
        {{"x", Kind::kAdd, 1.25f}, [](float v) { return v + 1.25f; }},
        {{"x", Kind::kMul, -0.3f}, [](float v) { return v * -0.3f; }},
        {{"x", Kind::kDiv, 1.41421356f}, [](float v) { return v / 1.41421356f; }},
        {{"x", Kind::kSubtractFrom, 2.0f}, [](float v) { return 2.0f - v; }}};
    for (const auto& [map, f] : maps) {
        CAPTURE(static_cast<int>(map.kind));
        std::vector<float> y(x.size());
        std::transform(x.begin(), x.end(), y.begin(), f);
        TensorStats input("x", -1, samples), scanned("y", -1, samples), mapped("y", -1, samples);
        for (int64_t first = 0; first < samples; first += batch) {
            const auto slice = [&](const std::vector<float>& v) {
                return tensor_from_vector<float>(
                    std::vector<float>(v.begin() + first * per_sample, v.begin() + (first + batch) * per_sample),
                    {batch, per_sample});
            };
            REQUIRE(input.add(slice(x), first, batch).ok());
            REQUIRE(scanned.add(slice(y), first, batch).ok());
            REQUIRE(mapped.add_mapped(slice(y), first, batch, input, map).ok());
        }
        CHECK(mapped.range().min == scanned.range().min);
        CHECK(mapped.range().max == scanned.range().max);
        CHECK(mapped.first_half().max == scanned.first_half().max);
        CHECK(mapped.second_half().min == scanned.second_half().min);
        CHECK(mapped.settled_at() == scanned.settled_at());
        CHECK(mapped.histogram().counts() == scanned.histogram().counts());
        // The input saw samples 4..7 last: for samples 0..3 the mapped stats scan their own values.
        TensorStats fallback("y", -1, samples);
        std::vector<float> shifted(y.begin(), y.begin() + batch * per_sample);
        shifted[5] = 100.0f;  // outside what the map of the input could give: only a scan sees it
        REQUIRE(
            fallback.add_mapped(tensor_from_vector<float>(shifted, {batch, per_sample}), 0, batch, input, map).ok());
        CHECK(fallback.range().max == 100.0);
    }
}

TEST_CASE("tensor stats: a map that overflows falls back to the scan, which names the sample") {
    // x * 1e38 overflows to infinity for |x| > 3.4: the mapped extremes are infinite, so the scan runs and reports.
    const std::vector<float> x = {0.5f, -1.0f, 2.0f, 1.0f, 7.0f, -0.25f};
    std::vector<float> y(x.size());
    std::transform(x.begin(), x.end(), y.begin(), [](float v) { return v * 1e38f; });
    TensorStats input("x", -1, 2), mapped("y", -1, 2);
    REQUIRE(input.add(tensor_from_vector<float>(x, {2, 3}), 0, 2).ok());
    const Status status = mapped.add_mapped(tensor_from_vector<float>(y, {2, 3}), 0, 2, input,
                                            MonotoneMap{"x", MonotoneMap::Kind::kMul, 1e38f});
    CHECK(status.code() == ErrorCode::kInvalidInput);
    CHECK(status.message() == "tensor 'y' has Inf for sample 1");
}

TEST_CASE("monotone values: Relu, Clip and arithmetic with a scalar constant, the right way round") {
    Graph graph;
    const auto scalar = [&](const std::string& name, float v) {
        graph.set_initializer(name, tensor_from_vector<float>({v}, {}));
        return name;
    };
    const auto node = [&](const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
        graph.nodes.push_back(pare_test::make_node(op, inputs, {output}));
    };
    node("Relu", {"x"}, "relu");
    node("Clip", {"x", scalar("zero", 0.0f), scalar("six", 6.0f)}, "relu6");
    node("Add", {scalar("c_add", 1.5f), "x"}, "add");
    node("Sub", {"x", scalar("c_sub", 2.0f)}, "sub");
    node("Sub", {"c_sub", "x"}, "sub_from");
    node("Mul", {"x", scalar("c_mul", -3.0f)}, "mul");
    node("Mul", {"x", "zero"}, "by_zero");
    node("Div", {"x", scalar("c_div", 4.0f)}, "div");
    node("Div", {"c_div", "x"}, "reciprocal");
    node("Add", {"x", "x"}, "twice");
    const auto maps = monotone_values(graph);
    using Kind = MonotoneMap::Kind;
    const auto kind_of = [&](const std::string& name) { return maps.at(name).kind; };
    CHECK(kind_of("relu") == Kind::kClamp);
    CHECK(kind_of("relu6") == Kind::kClamp);
    CHECK(maps.at("relu6").b == 6.0f);
    CHECK(kind_of("add") == Kind::kAdd);
    CHECK(maps.at("add").a == 1.5f);
    CHECK(kind_of("sub") == Kind::kAdd);
    CHECK(maps.at("sub").a == -2.0f);
    CHECK(kind_of("sub_from") == Kind::kSubtractFrom);
    CHECK(kind_of("mul") == Kind::kMul);
    CHECK(kind_of("div") == Kind::kDiv);
    CHECK(maps.at("div").input == "x");
    CHECK(maps.count("by_zero") == 0);     // all zeros: their signs are the scan's to find
    CHECK(maps.count("reciprocal") == 0);  // 4 / x is not monotone across zero
    CHECK(maps.count("twice") == 0);
}

TEST_CASE("calibration table round-trips through JSON") {
    CalibrationTable table;
    table.model_sha256 = "abc";
    table.samples = 10000;
    TensorStats stats("x", -1, 10000);
    const std::vector<float> values = fixture_values();
    REQUIRE(stats.add(tensor_from_vector<float>(values, {10000}), 0, 10000).ok());
    table.tensors.emplace("x", stats);
    const RangeOptions options;
    const auto json = table.to_json(options);
    auto back = CalibrationTable::from_json(nlohmann::json::parse(json.dump()));
    REQUIRE(back.ok());
    CHECK(back->to_json(options).dump() == json.dump());
    CHECK(back->tensors.at("x").histogram().counts() == stats.histogram().counts());
    CHECK(CalibrationTable::from_json(nlohmann::json::parse("{\"schema\": \"other\"}")).status().code() ==
          ErrorCode::kInvalidInput);
}

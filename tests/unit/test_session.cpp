#include <doctest/doctest.h>

#include <random>

#include "data/npy.h"
#include "exec/memory_plan.h"
#include "exec/session.h"
#include "onnx/model_io.h"
#include "test_helpers.h"

using namespace pare;
using namespace pare_test;

namespace {

// The first `count` evaluation images.
Tensor eval_images(int64_t count) {
    auto file = NpyFile::open(source_path("sample_data/fmnist/eval_x.npy"));
    REQUIRE(file.ok());
    auto rows = (*file)->read_rows(0, count);
    REQUIRE(rows.ok());
    return *rows;
}

std::vector<Tensor> run_model(const Model& model, const Tensor& images, SessionOptions options) {
    auto session = Session::create(model, {{"input", images.shape()}}, options);
    REQUIRE_MESSAGE(session.ok(), session.status().message());
    auto outputs = (*session)->run({images});
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    return *outputs;
}

}  // namespace

TEST_CASE("shared arena: outputs are identical with and without buffer reuse, on every sample model") {
    const Tensor images = eval_images(8);
    for (const auto& path : sample_models()) {
        auto loaded = load_model(path);
        REQUIRE(loaded.ok());
        SessionOptions reuse, fresh;
        fresh.reuse_buffers = false;
        const auto a = run_model(loaded->model, images, reuse);
        const auto b = run_model(loaded->model, images, fresh);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(a[i].equals(b[i]), path);
        // A second run of the same session reuses the arena and gives the same bytes.
        auto session = Session::create(loaded->model, {{"input", images.shape()}}, reuse);
        REQUIRE(session.ok());
        CHECK((*session)->run({images})->at(0).equals((*session)->run({images})->at(0)));
    }
}

TEST_CASE("observers see every observed value, and observing does not change the outputs") {
    auto loaded = load_model(source_path("sample_data/fmnist/resnet.onnx"));
    REQUIRE(loaded.ok());
    const Tensor images = eval_images(4);
    SessionOptions observing;
    std::set<std::string> wanted;
    for (const Node& node : loaded->model.graph.nodes) wanted.insert(node.output(0));
    observing.observed = wanted;
    auto session = Session::create(loaded->model, {{"input", images.shape()}}, observing);
    REQUIRE(session.ok());
    std::map<std::string, Tensor> seen;
    (*session)->set_observer([&](const std::string& name, const Tensor& value) { seen[name] = value.clone(); });
    auto observed = (*session)->run({images});
    REQUIRE(observed.ok());
    for (const auto& name : wanted) CHECK_MESSAGE(seen.count(name), name);
    const auto plain = run_model(loaded->model, images, SessionOptions());
    // Observed values block fusions, which may change float rounding: equal within a tight tolerance.
    const Tensor& a = observed->at(0);
    for (int64_t i = 0; i < a.numel(); ++i) {
        CHECK(a.element_as_double(i) == doctest::Approx(plain[0].element_as_double(i)).epsilon(1e-4));
    }
}

TEST_CASE("arena plan never overlaps buffers that are alive at the same time") {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<BufferLifetime> buffers(1 + rng() % 30);
        for (auto& b : buffers) {
            b.bytes = 1 + rng() % 5000;
            b.first_step = static_cast<int>(rng() % 40);
            b.last_step = b.first_step + static_cast<int>(rng() % 10);
        }
        const ArenaPlan plan = plan_arena(buffers);
        for (size_t i = 0; i < buffers.size(); ++i) {
            CHECK(plan.offsets[i] % 64 == 0);
            CHECK(plan.offsets[i] + buffers[i].bytes <= plan.total_bytes);
            for (size_t j = i + 1; j < buffers.size(); ++j) {
                const bool overlap_in_time = buffers[i].first_step <= buffers[j].last_step &&
                                             buffers[j].first_step <= buffers[i].last_step;
                const bool overlap_in_space = plan.offsets[i] < plan.offsets[j] + buffers[j].bytes &&
                                              plan.offsets[j] < plan.offsets[i] + buffers[i].bytes;
                CHECK_FALSE((overlap_in_time && overlap_in_space));
            }
        }
    }
}

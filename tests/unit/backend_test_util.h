// Shared by the backend kernel tests: deterministic random tensors, running one node on a chosen kernel, and
// comparing tensors with tolerances. Independent of any particular backend.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "ops/registry.h"

namespace pare_test {

/// Deterministic random values (std::mt19937 with a fixed seed; the distributions used are exact integer maps, so
/// cases are the same on every platform).
class Random {
public:
    explicit Random(uint32_t seed) : gen_(seed) {}
    int64_t integer(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1)); }
    bool coin() { return gen_() & 1u; }
    float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(gen_() >> 8) / 16777216.0f; }
    template <class T>
    const T& pick(const std::vector<T>& values) { return values[integer(0, static_cast<int64_t>(values.size()) - 1)]; }

    pare::Tensor floats(const pare::Shape& shape, float lo = -2.0f, float hi = 2.0f) {
        pare::Tensor t(pare::DType::kF32, shape);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = uniform(lo, hi);
        return t;
    }
    /// Integers in [lo, hi] stored as `dtype` (any integer type of at least 8 bits).
    pare::Tensor integers(pare::DType dtype, const pare::Shape& shape, int64_t lo, int64_t hi) {
        pare::Tensor t(pare::DType::kI64, shape);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = integer(lo, hi);
        return t.cast(dtype);
    }

private:
    std::mt19937 gen_;
};

/// A node of the given op type, inputs ("in0", "in1"... unless named) and outputs.
inline pare::Node op_node(const std::string& op, int inputs, int outputs = 1, const std::string& domain = "") {
    onnx::NodeProto proto;
    proto.set_op_type(op);
    proto.set_name("test_" + op);
    proto.set_domain(domain);
    for (int i = 0; i < inputs; ++i) proto.add_input("in" + std::to_string(i));
    for (int i = 0; i < outputs; ++i) proto.add_output("out" + std::to_string(i));
    return pare::Node(std::move(proto));
}

/// "" if `actual` matches `expected` (same dtype and shape, |a - e| <= atol + rtol * |e| everywhere), else a line
/// naming the worst element.
inline std::string compare(const pare::Tensor& actual, const pare::Tensor& expected, double rtol, double atol) {
    std::ostringstream out;
    if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) {
        out << "got " << pare::dtype_name(actual.dtype()) << " " << pare::shape_to_string(actual.shape()) << ", want "
            << pare::dtype_name(expected.dtype()) << " " << pare::shape_to_string(expected.shape());
        return out.str();
    }
    double worst = 0.0;
    int64_t worst_index = -1;
    for (int64_t i = 0; i < actual.numel(); ++i) {
        const double a = actual.element_as_double(i), e = expected.element_as_double(i);
        const double excess = std::isnan(e) ? (std::isnan(a) ? 0.0 : 1.0) : std::fabs(a - e) - (atol + rtol * std::fabs(e));
        if (excess > worst || std::isnan(excess)) {
            worst = std::isnan(excess) ? 1e300 : excess;
            worst_index = i;
        }
    }
    if (worst_index < 0) return "";
    out << "element " << worst_index << ": got " << actual.element_as_double(worst_index) << ", want "
        << expected.element_as_double(worst_index) << " (rtol " << rtol << ", atol " << atol << ")";
    return out.str();
}

/// The outputs of one node run by one kernel implementation, and whether it ran natively (false when a fast kernel
/// handed this configuration to the reference kernel).
struct KernelRun {
    pare::Status status;
    std::vector<pare::Tensor> outputs;
    bool native = true;
};

/// Builds the kernel with `entry`, prepares it (inputs flagged in `constant` are given to prepare as values, like
/// weights at compile time) and runs it once.
KernelRun run_kernel(const pare::KernelEntry& entry, const pare::Node& node, int64_t opset,
                     const std::vector<pare::Tensor>& inputs, const std::vector<bool>& constant);

/// The best non-reference implementation of `node`'s op on `backend` that accepts it, or nullptr.
const pare::KernelEntry* fast_entry(const pare::Node& node, int64_t opset, pare::Backend backend);

}  // namespace pare_test

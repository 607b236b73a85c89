// Float32 Add, Sub, Mul, Div, and two-input Max and Min. When one operand repeats along leading dims (a bias over
// the last dims, a scalar) Add, Sub, Mul and Div run a plain vectorized loop: oneDNN's broadcasting binary measured
// 1.6x slower than it on transformer bias and scale shapes, and cannot broadcast its first operand. Otherwise
// oneDNN's binary runs; it broadcasts only its second operand (dims of 1), so the operands of a commutative op swap
// when the first one is the broadcast one, and a Sub or Div that broadcasts its first operand that way, or a
// broadcast of both, runs on the reference kernel.
#include <omp.h>

#include "core/simd.h"
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using alg = dnnl::algorithm;

// How many elements of `y` the operand of shape `other` (already padded to y's rank) covers before it repeats, when
// it repeats along leading dims only: its dims are 1 up to some axis and y's from there on. 0 when it does not.
int64_t trailing_block(const Shape& y, const Shape& other) {
    size_t axis = 0;
    while (axis < other.size() && other[axis] == 1) ++axis;
    int64_t block = 1;
    for (size_t a = axis; a < y.size(); ++a) {
        if (other[a] != y[a]) return 0;
        block *= y[a];
    }
    return block;
}

// Rows first_row..end_row-1 of dst[r * block + i] = op(full[r * block + i], part[i]) (operands the other way round
// when `part_first`); a block of 1 (a scalar) is one flat loop.
template <class Op>
inline __attribute__((always_inline)) void repeat_rows(Op op, const float* full, const float* part, float* dst,
                                                       int64_t first_row, int64_t end_row, int64_t block,
                                                       bool part_first) {
    if (block == 1) {
        const float c = part[0];
        for (int64_t i = first_row; i < end_row; ++i) dst[i] = part_first ? op(c, full[i]) : op(full[i], c);
        return;
    }
    for (int64_t r = first_row; r < end_row; ++r) {
        const float* src = full + r * block;
        float* out = dst + r * block;
        if (part_first) {
            for (int64_t i = 0; i < block; ++i) out[i] = op(part[i], src[i]);
        } else {
            for (int64_t i = 0; i < block; ++i) out[i] = op(src[i], part[i]);
        }
    }
}

PARE_SIMD_CLONES void repeat_rows(alg algorithm, const float* full, const float* part, float* dst, int64_t first_row,
                                  int64_t end_row, int64_t block, bool part_first) {
    const auto run = [&](auto op) { repeat_rows(op, full, part, dst, first_row, end_row, block, part_first); };
    switch (algorithm) {
        case alg::binary_add:
            return run([](float a, float b) { return a + b; });
        case alg::binary_sub:
            return run([](float a, float b) { return a - b; });
        case alg::binary_mul:
            return run([](float a, float b) { return a * b; });
        default:
            return run([](float a, float b) { return a / b; });
    }
}

bool has_plain_loop(alg algorithm) {
    return algorithm == alg::binary_add || algorithm == alg::binary_sub || algorithm == alg::binary_mul ||
           algorithm == alg::binary_div;
}

class DnnlBinary : public DnnlKernel {
public:
    DnnlBinary(const KernelContext& context, alg algorithm, bool commutative)
        : DnnlKernel(context), algorithm_(algorithm), commutative_(commutative) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 2));
        if (inputs[0].dtype != DType::kF32 || inputs[1].dtype != DType::kF32) return unsupported("only float32");
        if (opset() > 0 && opset() < 7 && n.attr_int("broadcast", 0) != 0) return unsupported("legacy broadcast");
        PARE_ASSIGN_OR_RETURN(const Shape y, broadcast_shapes(inputs[0].shape, inputs[1].shape));
        outputs = {OutputInfo{DType::kF32, y}};
        if (shape_numel(y) == 0) return unsupported("an empty tensor");
        swapped_ = inputs[0].shape != y;
        // The operand with y's shape (if either has it), and the other one padded with leading 1s to y's rank.
        const Shape& full = inputs[swapped_ ? 1 : 0].shape;
        const Shape& other = inputs[swapped_ ? 0 : 1].shape;
        Shape padded(y.size() - other.size(), 1);
        padded.insert(padded.end(), other.begin(), other.end());
        block_ = has_plain_loop(algorithm_) && full == y && other != y ? trailing_block(y, padded) : 0;
        if (block_ > 0) {
            rows_ = shape_numel(y) / block_;
            set_work(static_cast<double>(shape_numel(y)), 8.0 * static_cast<double>(shape_numel(y)));
            return Status();
        }
        if (swapped_ && (!commutative_ || full != y)) return unsupported("the first operand broadcasts");
        set_work(static_cast<double>(shape_numel(y)), 12.0 * static_cast<double>(shape_numel(y)));
        const dnnl::memory::desc src0 = plain_desc(full, DType::kF32), src1 = plain_desc(padded, DType::kF32);
        const dnnl::binary::primitive_desc pd(dnnl::binary::desc(algorithm_, src0, src1, src0), dnnl_engine());
        step_ = DnnlStep(dnnl::binary(pd), {});
        step_.bind(DNNL_ARG_SRC_0, dnnl::memory(src0, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_SRC_1, dnnl::memory(src1, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_DST, dnnl::memory(src0, dnnl_engine(), DNNL_MEMORY_NONE));
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        if (block_ > 0) {
            const float* full = inputs[swapped_ ? 1 : 0].data<float>();
            const float* part = inputs[swapped_ ? 0 : 1].data<float>();
            float* dst = outputs[0].data<float>();
#pragma omp parallel
            {
                const int64_t team = omp_get_num_threads(), thread = omp_get_thread_num();
                repeat_rows(algorithm_, full, part, dst, rows_ * thread / team, rows_ * (thread + 1) / team, block_,
                            swapped_);
            }
            return Status();
        }
        step_.set_data(DNNL_ARG_SRC_0, inputs[swapped_ ? 1 : 0].raw());
        step_.set_data(DNNL_ARG_SRC_1, inputs[swapped_ ? 0 : 1].raw());
        step_.set_data(DNNL_ARG_DST, outputs[0].raw());
        step_.execute();
        return Status();
    }

private:
    alg algorithm_;
    bool commutative_;
    bool swapped_ = false;          // input 1 is the full-shape one
    int64_t block_ = 0, rows_ = 0;  // > 0: the plain loop, the other operand repeating every block_ elements
    DnnlStep step_;
};

}  // namespace

void register_onednn_binary_kernels(KernelRegistry& registry) {
    const std::tuple<const char*, alg, bool> ops[] = {{"Add", alg::binary_add, true}, {"Sub", alg::binary_sub, false},
                                                      {"Mul", alg::binary_mul, true}, {"Div", alg::binary_div, false},
                                                      {"Max", alg::binary_max, true}, {"Min", alg::binary_min, true}};
    for (const auto& [op, algorithm, commutative] : ops) {
        const alg a = algorithm;
        const bool c = commutative;
        registry.add(
            KernelEntry{"", op, "onednn", Backend::kCpu, 10, [a, c](const KernelContext& context) -> Result<KernelPtr> {
                            if (context.node.num_inputs() != 2) return unsupported("not two inputs");
                            return KernelPtr(new DnnlBinary(context, a, c));
                        }});
    }
}

}  // namespace pare

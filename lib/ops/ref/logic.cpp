// Comparisons (bool output), boolean logic, Not and Where. Comparisons with NaN are false, as in IEEE and numpy.
#include "ops/ref/binary_kernel.h"
#include "ops/register_kernels.h"

namespace pare {

namespace {

struct EqualOp {
    static constexpr DTypeSet kTypes = DTypeSet::kAll;
    static constexpr bool kBoolOutput = true;
    template <class C> bool operator()(C a, C b) const { return a == b; }
};

struct GreaterOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = true;
    template <class C> bool operator()(C a, C b) const { return a > b; }
};

struct GreaterOrEqualOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = true;
    template <class C> bool operator()(C a, C b) const { return a >= b; }
};

struct LessOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = true;
    template <class C> bool operator()(C a, C b) const { return a < b; }
};

struct LessOrEqualOp {
    static constexpr DTypeSet kTypes = DTypeSet::kNumeric;
    static constexpr bool kBoolOutput = true;
    template <class C> bool operator()(C a, C b) const { return a <= b; }
};

struct AndOp {
    static constexpr DTypeSet kTypes = DTypeSet::kBool;
    static constexpr bool kBoolOutput = true;
    bool operator()(bool a, bool b) const { return a && b; }
};

struct OrOp {
    static constexpr DTypeSet kTypes = DTypeSet::kBool;
    static constexpr bool kBoolOutput = true;
    bool operator()(bool a, bool b) const { return a || b; }
};

struct XorOp {
    static constexpr DTypeSet kTypes = DTypeSet::kBool;
    static constexpr bool kBoolOutput = true;
    bool operator()(bool a, bool b) const { return a != b; }
};

class NotKernel : public Kernel {
public:
    explicit NotKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, {DType::kBool}));
        outputs = {OutputInfo{DType::kBool, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const bool* src = inputs[0].data<bool>();
        bool* dst = outputs[0].data<bool>();
        const int64_t n = inputs[0].numel();
        for (int64_t i = 0; i < n; ++i) dst[i] = !src[i];
        return Status();
    }

private:
    const Node& node_;
};

// Where(condition, X, Y): X where condition holds, else Y, all three broadcast together.
class WhereKernel : public Kernel {
public:
    explicit WhereKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 3));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, {DType::kBool}));
        const DType dtype = inputs[1].dtype;
        if (inputs[2].dtype != dtype) {
            return invalid_input(node_.describe() + ": X and Y have different dtypes " + dtype_name(dtype) + " and " +
                                 dtype_name(inputs[2].dtype));
        }
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kAll));
        PARE_ASSIGN_OR_RETURN(Shape shape, broadcast_input_shapes(node_, inputs, 0, 3));
        outputs = {OutputInfo{dtype, shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& cond = inputs[0];
        const Tensor& x = inputs[1];
        const Tensor& y = inputs[2];
        Tensor& dst = outputs[0];
        const BroadcastLoop loop({cond.shape(), x.shape(), y.shape()}, dst.shape());
        return dispatch_dtype<DTypeSet::kAll>(x.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            broadcast_map(loop, dst.data<T>(), [](bool c, T a, T b) { return c ? a : b; }, cond.data<bool>(),
                          x.data<T>(), y.data<T>());
        });
    }

private:
    const Node& node_;
};

}  // namespace

void register_logic_kernels(KernelRegistry& registry) {
    add_binary<EqualOp>(registry, "Equal");
    add_binary<GreaterOp>(registry, "Greater");
    add_binary<GreaterOrEqualOp>(registry, "GreaterOrEqual");
    add_binary<LessOp>(registry, "Less");
    add_binary<LessOrEqualOp>(registry, "LessOrEqual");
    add_binary<AndOp>(registry, "And");
    add_binary<OrOp>(registry, "Or");
    add_binary<XorOp>(registry, "Xor");
    registry.add_reference("Not", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new NotKernel(context.node));
    });
    registry.add_reference("Where", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new WhereKernel(context.node));
    });
}

}  // namespace pare

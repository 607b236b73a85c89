#include "report/model_runner.h"

#include <chrono>
#include <cstring>

#include "core/log.h"

namespace pare {

namespace {

// A batch of `rows` samples grown to `batch` rows with zeros after the data.
Result<Tensor> pad_rows(const Tensor& src, int64_t batch) {
    Shape shape = src.shape();
    shape[0] = batch;
    PARE_ASSIGN_OR_RETURN(Tensor dst, Tensor::make(src.dtype(), shape));
    std::memcpy(dst.raw(), src.raw(), src.nbytes());
    return dst;
}

// The first `rows` samples of a tensor (a copy, so the session's memory is not kept alive).
Tensor first_rows(const Tensor& src, int64_t rows) {
    Shape shape = src.shape();
    shape[0] = rows;
    Tensor dst(src.dtype(), shape);
    std::memcpy(dst.raw(), src.raw(), dst.nbytes());
    return dst;
}

}  // namespace

ModelRunner::ModelRunner(const Model& model, SessionOptions options, std::string label)
    : model_(model), options_(std::move(options)), label_(std::move(label)) {
    input_names_ = model.graph.input_names();
    for (const auto& name : input_names_)
        input_types_.push_back(value_type_from_proto(*model.graph.find_value_info(name)));
    for (const auto& type : input_types_) {
        const int64_t dim0 = type.has_shape && !type.shape.empty() ? type.shape[0] : -1;
        if (dim0 <= 0 || (fixed_batch_ && dim0 != fixed_batch_)) {
            fixed_batch_ = 0;
            break;
        }
        fixed_batch_ = dim0;
    }
}

ModelRunner::~ModelRunner() = default;

const std::vector<std::string>& ModelRunner::output_names() const {
    static const std::vector<std::string> kNone;
    return sessions_.empty() ? kNone : sessions_.begin()->second->output_names();
}

void ModelRunner::set_observer(Observer observer) {
    observer_ = std::move(observer);
    for (auto& [shapes, session] : sessions_) session->set_observer(observer_);
}

Result<Session*> ModelRunner::session_for(const std::vector<Shape>& shapes) {
    auto found = sessions_.find(shapes);
    if (found != sessions_.end()) return found->second.get();
    std::map<std::string, Shape> bound;
    for (size_t i = 0; i < shapes.size() && i < input_names_.size(); ++i) bound[input_names_[i]] = shapes[i];
    const auto start = std::chrono::steady_clock::now();
    PARE_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model_, bound, options_));
    compile_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (sessions_.empty()) log_kernel_choices(*session, label_);
    session->set_observer(observer_);
    Session* raw = session.get();
    sessions_.emplace(shapes, std::move(session));
    return raw;
}

Result<std::vector<Tensor>> ModelRunner::run(const std::vector<Tensor>& inputs) {
    if (inputs.empty() || inputs[0].rank() == 0) return invalid_input("a batch needs inputs with a sample dimension");
    const int64_t rows = inputs[0].dim(0);
    const int64_t target = fixed_batch_ > 0 ? fixed_batch_ : pad_to_;
    const bool pad = rows < target;
    std::vector<Tensor> fed;
    std::vector<Shape> shapes;
    for (const Tensor& input : inputs) {
        if (pad) {
            PARE_ASSIGN_OR_RETURN(Tensor padded, pad_rows(input, target));
            fed.push_back(std::move(padded));
        } else {
            fed.push_back(input);
        }
        shapes.push_back(fed.back().shape());
    }
    PARE_ASSIGN_OR_RETURN(Session * session, session_for(shapes));
    PARE_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session->run(fed));
    if (pad) {
        for (Tensor& output : outputs) {
            if (output.rank() > 0 && output.dim(0) == target) output = first_rows(output, rows);
        }
    }
    return outputs;
}

void log_kernel_choices(const Session& session, const std::string& label) {
    if (log_level() < LogLevel::kVerbose) return;
    const auto choices = session.kernel_choices();
    log_verbose("kernels of " + label + " (" + std::to_string(choices.size()) + " steps):");
    for (const auto& [node, implementation] : choices) log_verbose("  " + node + ": " + implementation);
}

}  // namespace pare

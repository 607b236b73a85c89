// Runs a model on batches of any size: one Session is compiled per set of input shapes and kept for reuse, so the
// last, partial batch of a dataset gets its own session. Models whose batch dimension is fixed get partial batches
// zero-padded to that size, and their outputs trimmed back.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/session.h"

namespace pare {

class ModelRunner {
  public:
    /// `model` must outlive the runner. `options.observed` and the observer apply to every session it compiles.
    /// `label` names the model in --verbose logs (its path).
    ModelRunner(const Model& model, SessionOptions options, std::string label);
    ~ModelRunner();

    /// Declared types of the model's inputs, in input order.
    const std::vector<std::string>& input_names() const { return input_names_; }
    const std::vector<ValueType>& input_types() const { return input_types_; }
    const std::vector<std::string>& output_names() const;

    /// The batch size the model fixes on every input's dim 0, or 0 when dim 0 is dynamic.
    int64_t fixed_batch() const { return fixed_batch_; }

    void set_observer(Observer observer);

    /// Zero-pads partial batches to `rows` samples, as for a model with a fixed batch, so one session (one arena,
    /// one set of primitives) serves every batch of a run. Outputs are trimmed back; observers see the padded rows.
    void pad_batches_to(int64_t rows) { pad_to_ = rows; }

    /// Runs one batch (dim 0 of every input is the sample count). Compiles a session for new shapes first.
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);

    /// Compiles (or finds) the session for these input shapes without running it.
    Result<Session*> session_for(const std::vector<Shape>& shapes);
    /// Seconds spent compiling sessions so far.
    double compile_seconds() const { return compile_seconds_; }

  private:
    const Model& model_;
    SessionOptions options_;
    std::string label_;
    std::vector<std::string> input_names_;
    std::vector<ValueType> input_types_;
    int64_t fixed_batch_ = 0;
    int64_t pad_to_ = 0;
    Observer observer_;
    std::map<std::vector<Shape>, std::unique_ptr<Session>> sessions_;
    double compile_seconds_ = 0;
};

/// Logs, with --verbose, the kernel chosen for every node of a session.
void log_kernel_choices(const Session& session, const std::string& label);

}  // namespace pare

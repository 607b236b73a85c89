// Datasets: one array per model input, all with the same number of samples along dim 0, read in batches.
// Formats: .npy (models with one input), .npz (keys = input names, or arr_0, arr_1... in input order), and ONNX
// test-data folders (test_data_set_N/input_i.pb). Arrays are read a batch at a time, never whole.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/npy.h"
#include "graph/graph.h"

namespace pare {

class Dataset {
  public:
    /// Opens `path` for a model whose inputs are `input_names` (in graph order). Fails with kInvalidInput when the
    /// data cannot be read or does not provide exactly one array per input with a common sample count.
    static Result<Dataset> open(const std::string& path, const std::vector<std::string>& input_names);

    Dataset(Dataset&&) noexcept;
    Dataset& operator=(Dataset&&) noexcept;
    ~Dataset();

    const std::string& path() const { return path_; }
    const std::string& format() const { return format_; }  // "npy", "npz" or "onnx-test-data"
    const std::vector<std::string>& input_names() const { return input_names_; }
    /// Element type and full shape (dim 0 = samples) of the array feeding input i.
    DType dtype(size_t input) const;
    const Shape& shape(size_t input) const;

    /// Samples available (after set_limit).
    int64_t samples() const { return samples_; }
    /// Samples in the data, before any limit.
    int64_t total_samples() const { return total_samples_; }
    /// Keeps only the first `limit` samples; 0 or a limit above the sample count keeps them all.
    void set_limit(int64_t limit);

    /// Checks every array against the model's declared input types: same dtype, same rank, equal dims where the
    /// model fixes them (dim 0 is the batch and may differ). A mismatch names the input and both shapes.
    Status check_against(const std::vector<ValueType>& model_inputs) const;

    /// Samples [start, start + count) of every input, in input order.
    Result<std::vector<Tensor>> read(int64_t start, int64_t count);

    /// Reads every sample in order in batches of `batch_size` (the last batch may be smaller) and calls `visit`
    /// with each batch and the index of its first sample; stops at the first error.
    Status for_each_batch(int64_t batch_size,
                          const std::function<Status(int64_t start, const std::vector<Tensor>& batch)>& visit);

  private:
    Dataset();
    std::string path_;
    std::string format_;
    std::vector<std::string> input_names_;
    std::vector<std::unique_ptr<ArrayReader>> readers_;
    int64_t samples_ = 0;
    int64_t total_samples_ = 0;
};

/// Class labels from a .npy of int64 or int32 with shape [N] or [N, 1].
Result<std::vector<int64_t>> read_labels(const std::string& path);

/// SHA-256 of a dataset's bytes: the file itself, or for a folder every file under it in sorted path order, each
/// preceded by its relative path and a NUL byte.
Result<std::string> dataset_sha256(const std::string& path);

}  // namespace pare

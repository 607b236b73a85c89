// Datasets: one array per model input, all with the same number of samples along dim 0, read in batches.
// Formats: .npy (models with one input), .npz (keys = input names, or arr_0, arr_1... in input order), ONNX
// test-data folders (test_data_set_N/input_i.pb), and for models with one input, image folders and image list files
// (.txt/.lst) turned into float32 tensors by ImageOptions. Data is read a batch at a time, never whole.
//
// Samples have three numberings: the source index (position in the file, folder or list, counting images left out
// by --skip-bad), the sample index (0..total_samples()-1, the samples that can be read) and the position (0..samples()
// -1, the read order after set_order and set_limit). read(start, count) takes positions.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/image_options.h"
#include "data/npy.h"
#include "graph/graph.h"

namespace pare {

class Dataset {
  public:
    /// Opens `path` for a model whose inputs are `input_names` (in graph order). Fails with kInvalidInput when the
    /// data cannot be read or does not provide exactly one array per input with a common sample count. The format
    /// follows the path: a folder of test_data_set_N is ONNX test data, another folder is read for images, .npz and
    /// .txt/.lst (image list) by extension, anything else as .npy. `image` applies to image data only: settings
    /// other than the defaults with another format are kUsage.
    static Result<Dataset> open(const std::string& path, const std::vector<std::string>& input_names,
                                const ImageOptions& image = ImageOptions());

    Dataset(Dataset&&) noexcept;
    Dataset& operator=(Dataset&&) noexcept;
    ~Dataset();

    const std::string& path() const { return path_; }
    /// "npy", "npz", "onnx-test-data", "image-folder" or "image-list".
    const std::string& format() const { return format_; }
    /// The image settings used (defaults for other formats).
    const ImageOptions& image_options() const { return image_options_; }
    const std::vector<std::string>& input_names() const { return input_names_; }
    /// Element type and full shape (dim 0 = samples) of the array feeding input i.
    DType dtype(size_t input) const;
    const Shape& shape(size_t input) const;

    /// Samples available (after set_limit).
    int64_t samples() const { return samples_; }
    /// Samples in the data, before any limit.
    int64_t total_samples() const { return total_samples_; }
    /// Keeps only the first `limit` positions (after set_order: a seeded random subset); 0 or a limit above the
    /// sample count keeps them all.
    void set_limit(int64_t limit);
    /// Reads the samples in the order of seeded_permutation(total_samples(), seed) (core/random.h), the same for a
    /// given seed and sample count on every platform. Works for every format; npy and npz rows are gathered a batch
    /// at a time (a shuffled deflated .npz decompresses its members once per batch).
    void set_order(uint64_t seed);
    /// True after set_order.
    bool shuffled() const { return !order_.empty(); }

    /// Sample index read at `position` (0 <= position < samples()).
    int64_t sample_index(int64_t position) const;
    /// Source index read at `position`: for image data this counts the images left out as unreadable.
    int64_t source_index(int64_t position) const;
    /// Samples in the source, counting images left out as unreadable (total_samples() without them).
    int64_t source_samples() const { return source_samples_; }
    /// Messages naming each image left out as unreadable (with ImageOptions::skip_bad), in source order.
    const std::vector<std::string>& skipped() const { return skipped_; }

    /// True when the data carries its own labels (an image list with a label column).
    bool has_labels() const { return !labels_.empty(); }
    /// The data's own labels of positions 0..samples()-1, in read order (empty without has_labels()).
    std::vector<int64_t> labels() const;
    /// Labels given per source sample (e.g. by read_labels: one per row of the data, or per image of a folder or
    /// list in source order, unreadable ones included) put in read order: element i labels position i. kInvalidInput
    /// when their count is not source_samples().
    Result<std::vector<int64_t>> arrange_labels(const std::vector<int64_t>& by_source) const;

    /// Checks every array against the model's declared input types: same dtype, same rank, equal dims where the
    /// model fixes them (dim 0 is the batch and may differ). A mismatch names the input and both shapes.
    Status check_against(const std::vector<ValueType>& model_inputs) const;

    /// Positions [start, start + count) of every input, in input order.
    Result<std::vector<Tensor>> read(int64_t start, int64_t count);

    /// Reads every position in order (shuffled after set_order) in batches of `batch_size` (the last batch may be
    /// smaller) and calls `visit` with each batch and its first position; stops at the first error.
    Status for_each_batch(int64_t batch_size,
                          const std::function<Status(int64_t start, const std::vector<Tensor>& batch)>& visit);

  private:
    Dataset();
    Status open_image_data(const std::string& path);
    std::string path_;
    std::string format_;
    ImageOptions image_options_;
    std::vector<std::string> input_names_;
    std::vector<std::unique_ptr<ArrayReader>> readers_;
    int64_t samples_ = 0;
    int64_t total_samples_ = 0;
    int64_t source_samples_ = 0;
    std::vector<int64_t> order_;    // sample index per position; empty: the identity
    std::vector<int64_t> sources_;  // source index per sample index; empty: the identity
    std::vector<int64_t> labels_;   // per sample index; empty: none
    std::vector<std::string> skipped_;
};

/// Class labels from a .npy of int64 or int32 with shape [N] or [N, 1].
Result<std::vector<int64_t>> read_labels(const std::string& path);

/// SHA-256 of a dataset's bytes: the file itself, or for a folder every file under it in sorted path order, each
/// preceded by its relative path and a NUL byte. An image list hashes its own bytes, then each image it names in
/// list order (an image that cannot be opened adds nothing).
Result<std::string> dataset_sha256(const std::string& path);

}  // namespace pare

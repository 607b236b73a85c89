#include "data/dataset.h"

#include <algorithm>
#include <filesystem>

#include "core/random.h"
#include "core/sha256.h"
#include "data/image_dataset.h"
#include "data/npz.h"
#include "data/onnx_test_data.h"

namespace fs = std::filesystem;

namespace pare {

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string join(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? "(none)" : text;
}

// The archive key feeding each input: the input names when all are present, else arr_0, arr_1... (np.savez with
// positional arguments).
Result<std::vector<std::string>> npz_keys_for_inputs(const NpzArchive& archive,
                                                     const std::vector<std::string>& input_names) {
    const auto& keys = archive.keys();
    auto has = [&](const std::string& key) { return std::find(keys.begin(), keys.end(), key) != keys.end(); };
    if (std::all_of(input_names.begin(), input_names.end(), has)) return input_names;
    std::vector<std::string> positional;
    for (size_t i = 0; i < input_names.size(); ++i) positional.push_back("arr_" + std::to_string(i));
    if (std::all_of(positional.begin(), positional.end(), has)) return positional;
    return invalid_input("'" + archive.path() + "' holds arrays " + join(keys) + "; the model's inputs are " +
                         join(input_names) + " (name the arrays after the inputs, or arr_0, arr_1... in input order)");
}

}  // namespace

Dataset::Dataset() = default;
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;
Dataset::~Dataset() = default;

Status Dataset::open_image_data(const std::string& path) {
    if (input_names_.size() != 1) {
        return invalid_input("the model has " + std::to_string(input_names_.size()) + " inputs (" +
                             join(input_names_) + ") but images feed one: use an .npz with one array per input");
    }
    ImageSource source;
    if (format_ == "image-folder") {
        PARE_ASSIGN_OR_RETURN(source, find_images(path));
    } else {
        PARE_ASSIGN_OR_RETURN(source, read_image_list(path));
    }
    PARE_ASSIGN_OR_RETURN(ImageDataset images, open_images(source, image_options_));
    readers_.push_back(std::move(images.reader));
    source_samples_ = static_cast<int64_t>(source.files.size());
    skipped_ = std::move(images.skipped);
    if (!skipped_.empty()) sources_ = images.kept;
    if (!source.labels.empty()) {
        for (int64_t kept : images.kept) labels_.push_back(source.labels[static_cast<size_t>(kept)]);
    }
    return Status();
}

Result<Dataset> Dataset::open(const std::string& path, const std::vector<std::string>& input_names,
                              const ImageOptions& image) {
    Dataset dataset;
    dataset.path_ = path;
    dataset.input_names_ = input_names;
    dataset.image_options_ = image;
    PARE_RETURN_IF_ERROR(image.validate());
    std::error_code error;
    if (!fs::exists(path, error)) return invalid_input("cannot open data '" + path + "': no such file or directory");
    if (fs::is_directory(path, error)) {
        if (is_onnx_test_data_folder(path)) {
            dataset.format_ = "onnx-test-data";
        } else if (folder_has_images(path)) {
            dataset.format_ = "image-folder";
        } else {
            return invalid_input("data folder '" + path + "' holds no test_data_set_N folders and no PNG, JPEG or "
                                 "BMP images");
        }
    } else if (is_image_list_path(path)) {
        dataset.format_ = "image-list";
    } else {
        dataset.format_ = ends_with(path, ".npz") ? "npz" : "npy";
    }
    const bool images = dataset.format_ == "image-folder" || dataset.format_ == "image-list";
    if (!images && !image.is_default()) {
        return usage_error("image settings (" + describe_image_options(image) + ") apply to image folders and lists, "
                           "but '" + path + "' is " + dataset.format_ + " data");
    }
    if (images) {
        PARE_RETURN_IF_ERROR(dataset.open_image_data(path));
    } else if (dataset.format_ == "onnx-test-data") {
        PARE_ASSIGN_OR_RETURN(dataset.readers_, open_onnx_test_data(path, input_names.size()));
    } else if (dataset.format_ == "npz") {
        dataset.format_ = "npz";
        PARE_ASSIGN_OR_RETURN(std::shared_ptr<NpzArchive> archive, NpzArchive::open(path));
        PARE_ASSIGN_OR_RETURN(std::vector<std::string> keys, npz_keys_for_inputs(*archive, input_names));
        for (const auto& key : keys) {
            PARE_ASSIGN_OR_RETURN(std::unique_ptr<ArrayReader> reader, archive->reader(key));
            dataset.readers_.push_back(std::move(reader));
        }
    } else {
        if (input_names.size() != 1) {
            return invalid_input("the model has " + std::to_string(input_names.size()) + " inputs (" +
                                 join(input_names) + ") but '" + path +
                                 "' is one array: use an .npz with one array per input");
        }
        PARE_ASSIGN_OR_RETURN(std::unique_ptr<NpyFile> file, NpyFile::open(path));
        dataset.readers_.push_back(std::move(file));
    }
    for (size_t i = 0; i < dataset.readers_.size(); ++i) {
        const Shape& shape = dataset.readers_[i]->shape();
        if (shape.empty()) {
            return invalid_input("data for input '" + input_names[i] + "' is a scalar: it has no samples along dim 0");
        }
        if (i == 0) dataset.total_samples_ = shape[0];
        if (shape[0] != dataset.total_samples_) {
            return invalid_input("data for input '" + input_names[i] + "' has " + std::to_string(shape[0]) +
                                 " samples but input '" + input_names[0] + "' has " +
                                 std::to_string(dataset.total_samples_));
        }
    }
    dataset.samples_ = dataset.total_samples_;
    if (!images) dataset.source_samples_ = dataset.total_samples_;
    return dataset;
}

DType Dataset::dtype(size_t input) const {
    return readers_[input]->dtype();
}
const Shape& Dataset::shape(size_t input) const {
    return readers_[input]->shape();
}

void Dataset::set_limit(int64_t limit) {
    samples_ = limit > 0 ? std::min(limit, total_samples_) : total_samples_;
}

void Dataset::set_order(uint64_t seed) { order_ = seeded_permutation(total_samples_, seed); }

int64_t Dataset::sample_index(int64_t position) const {
    return order_.empty() ? position : order_[static_cast<size_t>(position)];
}

int64_t Dataset::source_index(int64_t position) const {
    const int64_t sample = sample_index(position);
    return sources_.empty() ? sample : sources_[static_cast<size_t>(sample)];
}

std::vector<int64_t> Dataset::labels() const {
    std::vector<int64_t> ordered;
    if (labels_.empty()) return ordered;
    for (int64_t position = 0; position < samples_; ++position) {
        ordered.push_back(labels_[static_cast<size_t>(sample_index(position))]);
    }
    return ordered;
}

Result<std::vector<int64_t>> Dataset::arrange_labels(const std::vector<int64_t>& by_source) const {
    if (static_cast<int64_t>(by_source.size()) != source_samples_) {
        return invalid_input(std::to_string(by_source.size()) + " labels for the " + std::to_string(source_samples_) +
                             " samples of '" + path_ + "'");
    }
    std::vector<int64_t> ordered;
    for (int64_t position = 0; position < samples_; ++position) {
        ordered.push_back(by_source[static_cast<size_t>(source_index(position))]);
    }
    return ordered;
}

Status Dataset::check_against(const std::vector<ValueType>& model_inputs) const {
    if (model_inputs.size() != readers_.size()) {
        return invalid_input("the model has " + std::to_string(model_inputs.size()) + " inputs but the data has " +
                             std::to_string(readers_.size()) + " arrays");
    }
    for (size_t i = 0; i < readers_.size(); ++i) {
        const ValueType& want = model_inputs[i];
        const Shape& have = readers_[i]->shape();
        if (readers_[i]->dtype() != want.dtype) {
            return invalid_input("input '" + input_names_[i] + "': the model expects " + dtype_onnx_name(want.dtype) +
                                 " but the data is " + dtype_onnx_name(readers_[i]->dtype()));
        }
        if (!want.has_shape) continue;
        bool match = want.shape.size() == have.size();
        for (size_t d = 1; match && d < have.size(); ++d) match = want.shape[d] < 0 || want.shape[d] == have[d];
        if (!match) {
            // Dims as the model declares them: numbers, symbols ("N"), or "?".
            std::string declared = "[";
            for (size_t d = 0; d < want.shape.size(); ++d) {
                const bool symbolic = d < want.symbolic_dims.size() && !want.symbolic_dims[d].empty();
                declared += d ? ", " : "";
                declared += want.shape[d] >= 0 ? std::to_string(want.shape[d]) : symbolic ? want.symbolic_dims[d] : "?";
            }
            return invalid_input("input '" + input_names_[i] + "': the model expects shape " + declared +
                                 "] but the data has shape " + shape_to_string(have));
        }
    }
    return Status();
}

Result<std::vector<Tensor>> Dataset::read(int64_t start, int64_t count) {
    if (start < 0 || count < 0 || start + count > samples_) {
        return invalid_input("samples " + std::to_string(start) + ".." + std::to_string(start + count) +
                             " are outside the " + std::to_string(samples_) + " samples of '" + path_ + "'");
    }
    std::vector<int64_t> rows;
    if (!order_.empty()) rows.assign(order_.begin() + start, order_.begin() + start + count);
    std::vector<Tensor> batch;
    for (size_t i = 0; i < readers_.size(); ++i) {
        PARE_ASSIGN_OR_RETURN(Tensor slice, order_.empty() ? readers_[i]->read_rows(start, count)
                                                           : readers_[i]->read_indices(rows));
        batch.push_back(std::move(slice));
    }
    return batch;
}

Status Dataset::for_each_batch(int64_t batch_size,
                               const std::function<Status(int64_t start, const std::vector<Tensor>& batch)>& visit) {
    if (batch_size <= 0) return usage_error("the batch size must be positive");
    for (int64_t start = 0; start < samples_; start += batch_size) {
        PARE_ASSIGN_OR_RETURN(std::vector<Tensor> batch, read(start, std::min(batch_size, samples_ - start)));
        PARE_RETURN_IF_ERROR(visit(start, batch));
    }
    return Status();
}

Result<std::vector<int64_t>> read_labels(const std::string& path) {
    PARE_ASSIGN_OR_RETURN(Tensor labels, read_npy(path));
    const bool column = labels.rank() == 2 && labels.dim(1) == 1;
    if (labels.rank() != 1 && !column) {
        return invalid_input("labels '" + path + "' have shape " + shape_to_string(labels.shape()) +
                             "; expected [N] or [N, 1]");
    }
    if (labels.dtype() != DType::kI64 && labels.dtype() != DType::kI32) {
        return invalid_input("labels '" + path + "' are " + dtype_onnx_name(labels.dtype()) +
                             "; expected int64 or int32");
    }
    return tensor_to_int64s(labels);
}

Result<std::string> dataset_sha256(const std::string& path) {
    std::error_code error;
    if (is_image_list_path(path) && !fs::is_directory(path, error)) {
        PARE_ASSIGN_OR_RETURN(ImageSource source, read_image_list(path));
        Sha256 hasher;
        PARE_RETURN_IF_ERROR(hasher.update_from_file(path));
        for (const auto& file : source.files) {
            if (fs::is_regular_file(file, error)) PARE_RETURN_IF_ERROR(hasher.update_from_file(file));
        }
        return hasher.hex_digest();
    }
    if (!fs::is_directory(path, error)) return sha256_file(path);
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(path, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    Sha256 hasher;
    for (const auto& file : files) {
        const std::string relative = fs::relative(file, path).generic_string();
        hasher.update(relative.data(), relative.size() + 1);  // with its NUL terminator
        PARE_RETURN_IF_ERROR(hasher.update_from_file(file.string()));
    }
    return hasher.hex_digest();
}

}  // namespace pare

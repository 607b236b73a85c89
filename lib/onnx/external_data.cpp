#include "onnx/external_data.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "core/file_io.h"

namespace pare {

namespace {

constexpr int64_t kAlignment = 64;

int64_t align_up(int64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

std::string join_path(const std::string& directory, const std::string& name) {
    return directory.empty() || directory == "." ? name : directory + "/" + name;
}

}  // namespace

Result<ExternalLocation> external_location(const onnx::TensorProto& proto) {
    ExternalLocation where;
    for (const auto& entry : proto.external_data()) {
        try {
            if (entry.key() == "location") where.location = entry.value();
            if (entry.key() == "offset") where.offset = std::stoll(entry.value());
            if (entry.key() == "length") where.length = std::stoll(entry.value());
        } catch (const std::exception&) {
            return invalid_input("tensor '" + proto.name() + "' has a malformed external-data " + entry.key() +
                                 " '" + entry.value() + "'");
        }
    }
    if (where.location.empty()) return invalid_input("external tensor '" + proto.name() + "' has no location");
    // Like ONNX Runtime, refuse paths that could read outside the model's directory.
    if (where.location[0] == '/' || where.location == ".." || where.location.rfind("../", 0) == 0 ||
        where.location.find("/../") != std::string::npos) {
        return invalid_input("external tensor '" + proto.name() + "' has location '" + where.location +
                             "' outside the model's directory");
    }
    if (where.offset < 0 || where.length < -1) {
        return invalid_input("external tensor '" + proto.name() + "' has a negative offset or length");
    }
    return where;
}

Status read_external_tensor(StoredTensor& stored, const std::string& base_directory) {
    const onnx::TensorProto& proto = stored.header;
    PARE_ASSIGN_OR_RETURN(ExternalLocation where, external_location(proto));
    const DType dtype = dtype_from_onnx(proto.data_type());
    const Shape shape(proto.dims().begin(), proto.dims().end());
    PARE_ASSIGN_OR_RETURN(Tensor value, Tensor::make(dtype, shape));
    const std::string path = join_path(base_directory, where.location);
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return invalid_input("external data file '" + path + "' of tensor '" + proto.name() + "': " +
                             std::strerror(errno));
    }
    const int64_t needed = static_cast<int64_t>(value.nbytes());
    const int64_t length = where.length < 0 ? info.st_size - where.offset : where.length;
    if (length != needed || where.offset + needed > info.st_size) {
        return invalid_input("external tensor '" + proto.name() + "' needs " + std::to_string(needed) + " bytes at offset " +
                             std::to_string(where.offset) + " of '" + path + "' (" + std::to_string(info.st_size) +
                             " bytes, length given " + std::to_string(where.length) + ")");
    }
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return invalid_input("cannot open external data file '" + path + "': " + std::strerror(errno));
    const bool ok = std::fseek(file, static_cast<long>(where.offset), SEEK_SET) == 0 &&
                    (needed == 0 || std::fread(value.raw(), 1, static_cast<size_t>(needed), file) == static_cast<size_t>(needed));
    std::fclose(file);
    if (!ok) return invalid_input("cannot read external data of tensor '" + proto.name() + "' from '" + path + "'");
    stored.value = std::move(value);
    return Status();
}

ExternalDataPlan::ExternalDataPlan(const Model& model, const std::string& directory, const std::string& default_file,
                                   const std::string& protected_directory, bool move_large_tensors, size_t threshold)
    : directory_(directory) {
    auto protected_path = [&](const std::string& location) {
        return !protected_directory.empty() &&
               same_file(join_path(protected_directory, location), join_path(directory, location));
    };
    for_each_stored_tensor(model.graph, [&](const StoredTensor& stored) {
        if (stored.storage == TensorStorage::kOpaque || !stored.value.defined()) return;
        if (stored.storage == TensorStorage::kExternal) {
            auto where = external_location(stored.header);
            if (where.ok() && !protected_path(where->location)) {
                place(stored, where->location, where->offset);
            } else {
                place(stored, default_file, -1);
            }
        } else if (move_large_tensors && stored.value.nbytes() >= threshold) {
            place(stored, default_file, -1);
        }
    });
    // Keep the source offsets only if they all still fit without overlap; otherwise lay the file out afresh.
    for (size_t f = 0; f < files_.size(); ++f) {
        File& file = files_[f];
        std::vector<Placement> sorted = file.placements;
        std::sort(sorted.begin(), sorted.end(), [](const Placement& a, const Placement& b) { return a.offset < b.offset; });
        bool keep = true;
        int64_t end = 0;
        for (const auto& placement : sorted) {
            if (placement.offset < end) keep = false;
            end = placement.offset + static_cast<int64_t>(placement.stored->value.nbytes());
        }
        if (!keep) {
            int64_t next = 0;
            for (auto& placement : file.placements) {
                placement.offset = next;
                next = align_up(next + static_cast<int64_t>(placement.stored->value.nbytes()));
            }
        }
        for (size_t p = 0; p < file.placements.size(); ++p) index_[file.placements[p].stored] = {f, p};
    }
}

void ExternalDataPlan::place(const StoredTensor& stored, const std::string& location, int64_t original_offset) {
    auto it = std::find_if(files_.begin(), files_.end(), [&](const File& file) { return file.location == location; });
    if (it == files_.end()) {
        files_.push_back(File{location, {}});
        it = files_.end() - 1;
    }
    const bool same_length = [&] {
        auto where = external_location(stored.header);
        return where.ok() && where->length == static_cast<int64_t>(stored.value.nbytes());
    }();
    // -1 overlaps everything at offset 0 and so forces a fresh layout of this file.
    it->placements.push_back({&stored, original_offset >= 0 && same_length ? original_offset : -1});
}

bool ExternalDataPlan::apply(const StoredTensor& stored, onnx::TensorProto& proto) const {
    auto found = index_.find(&stored);
    if (found == index_.end()) return false;
    {
        const auto& position = found->second;
        const File& file = files_[position.first];
        const Placement& placement = file.placements[position.second];
        proto.clear_raw_data();
        proto.clear_float_data();
        proto.clear_int32_data();
        proto.clear_int64_data();
        proto.clear_double_data();
        proto.clear_uint64_data();
        proto.clear_external_data();
        proto.set_data_location(onnx::TensorProto::EXTERNAL);
        auto add_entry = [&](const std::string& key, const std::string& value) {
            auto* entry = proto.add_external_data();
            entry->set_key(key);
            entry->set_value(value);
        };
        // Keep the source's entries (and their order) where they exist, updating offset and length.
        bool wrote_offset = false, wrote_length = false;
        for (const auto& entry : stored.header.external_data()) {
            if (entry.key() == "location") add_entry("location", file.location);
            else if (entry.key() == "offset") add_entry("offset", std::to_string(placement.offset)), wrote_offset = true;
            else if (entry.key() == "length") add_entry("length", std::to_string(stored.value.nbytes())), wrote_length = true;
            else add_entry(entry.key(), entry.value());
        }
        if (stored.header.external_data_size() == 0) add_entry("location", file.location);
        if (!wrote_offset) add_entry("offset", std::to_string(placement.offset));
        if (!wrote_length) add_entry("length", std::to_string(stored.value.nbytes()));
    }
    return true;
}

Status ExternalDataPlan::write() const {
    for (const File& file : files_) {
        std::vector<Placement> sorted = file.placements;
        std::sort(sorted.begin(), sorted.end(), [](const Placement& a, const Placement& b) { return a.offset < b.offset; });
        PARE_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::open(join_path(directory_, file.location)));
        int64_t position = 0;
        const std::string padding(kAlignment, '\0');
        for (const auto& placement : sorted) {
            while (position < placement.offset) {
                const int64_t gap = std::min<int64_t>(placement.offset - position, kAlignment);
                PARE_RETURN_IF_ERROR(out.write(padding.data(), static_cast<size_t>(gap)));
                position += gap;
            }
            const Tensor& value = placement.stored->value;
            PARE_RETURN_IF_ERROR(out.write(value.raw(), value.nbytes()));
            position += static_cast<int64_t>(value.nbytes());
        }
        PARE_RETURN_IF_ERROR(out.commit());
    }
    return Status();
}

}  // namespace pare

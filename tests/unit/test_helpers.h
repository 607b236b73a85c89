// Paths shared by the unit tests.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace pare_test {

inline std::string source_path(const std::string& relative) { return std::string(PARE_SOURCE_DIR) + "/" + relative; }

inline const char* kOnnxTestData = "/usr/share/libonnx-testdata/data";

/// model.onnx of every case in the named suites of Debian's libonnx-testdata, sorted.
inline std::vector<std::string> onnx_test_models(const std::vector<std::string>& suites) {
    std::vector<std::string> models;
    for (const auto& suite : suites) {
        const std::filesystem::path dir = std::filesystem::path(kOnnxTestData) / suite;
        if (!std::filesystem::exists(dir)) continue;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            const auto model = entry.path() / "model.onnx";
            if (std::filesystem::exists(model)) models.push_back(model.string());
        }
    }
    std::sort(models.begin(), models.end());
    return models;
}

/// The bundled sample models.
inline std::vector<std::string> sample_models() {
    std::vector<std::string> models;
    for (const char* name : {"mlp", "cnn", "resnet", "mobilenet", "vit", "student"}) {
        models.push_back(source_path(std::string("sample_data/fmnist/") + name + ".onnx"));
    }
    return models;
}

/// A fresh empty directory under the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("pare_test_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace pare_test

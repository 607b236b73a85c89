# Thin wrapper: every target installs what is missing, configures, builds, then does its job.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
PARE := $(BUILD)/apps/pare/pare

.PHONY: all deps configure build demo test testdata ort sanitize clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

# The full 10k Fashion-MNIST test set as .npy, for evaluations larger than the bundled 2000 images.
testdata: deps
	@/usr/bin/python3 sample_data/export_test_set.py $(BUILD)/data

# The main job on the bundled sample: int8 quantization of the ResNet, measured against the float model.
demo: build testdata
	@mkdir -p $(BUILD)/demo
	$(PARE) inspect sample_data/fmnist/resnet.onnx
	$(PARE) quantize sample_data/fmnist/resnet.onnx --data sample_data/fmnist/calib_x.npy \
	    --eval-data sample_data/fmnist/eval_x.npy --labels sample_data/fmnist/eval_y.npy \
	    -o $(BUILD)/demo/resnet_int8.onnx --report $(BUILD)/demo/resnet_int8.json

# ONNX Runtime for the cross-checks in tests/ort, pinned by tests/ort/package-lock.json and installed into the build
# tree. ONNXRUNTIME_NODE_INSTALL=skip: the CPU binaries ship inside the package; its install script would otherwise
# try a download. Without npm or the registry the ORT tests skip instead of failing.
ort: deps
	@mkdir -p $(BUILD)/ort
	@if cmp -s tests/ort/package-lock.json $(BUILD)/ort/package-lock.json && \
	    [ -f $(BUILD)/ort/node_modules/onnxruntime-node/package.json ]; then :; else \
	    cp tests/ort/package.json tests/ort/package-lock.json $(BUILD)/ort/ && \
	    (cd $(BUILD)/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error) || \
	    echo "make: warning: onnxruntime-node could not be installed; the ORT cross-checks will skip" >&2; fi

test: build testdata ort
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
sanitize:
	@$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARE_SANITIZE=ON"

clean:
	rm -rf $(BUILD) build-asan

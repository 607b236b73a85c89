# Thin wrapper: every target installs what is missing, configures, builds, then does its job.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
PARE := $(BUILD)/apps/pare/pare

.PHONY: all deps configure build demo test testdata sanitize clean

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

demo: build testdata
	$(PARE) inspect sample_data/fmnist/resnet.onnx

test: build testdata
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
sanitize:
	@$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARE_SANITIZE=ON"

clean:
	rm -rf $(BUILD) build-asan

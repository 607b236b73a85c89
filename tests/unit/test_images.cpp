// Image datasets: folders and list files, the preprocessing arithmetic against values computed independently by
// tests/fixtures/make_image_fixtures.py, unreadable images (errors naming them, --skip-bad), the parsing of the image
// flags, and seeded shuffling with limits for every dataset format.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/random.h"
#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/image_options.h"
#include "test_helpers.h"

using namespace pare;

namespace {

std::string images(const std::string& name) { return pare_test::source_path("tests/fixtures/images/" + name); }
std::string data_fixture(const std::string& name) { return pare_test::source_path("tests/fixtures/data/" + name); }

std::vector<float> floats(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

// Row `row` of a batch as floats.
std::vector<float> sample(const Tensor& batch, int64_t row) {
    const int64_t size = batch.numel() / batch.dim(0);
    return std::vector<float>(batch.data<float>() + row * size, batch.data<float>() + (row + 1) * size);
}

// Opens the folder fixture with `text` flags and checks sample 0 (a.png) against expected/<name>.npy.
void check_against_expected(const ImageOptionStrings& text, const std::string& name, int64_t row = 0) {
    CAPTURE(name);
    Result<ImageOptions> options = parse_image_options(text);
    REQUIRE(options.ok());
    Result<Dataset> data = Dataset::open(images("folder"), {"image"}, *options);
    REQUIRE_MESSAGE(data.ok(), data.status().message());
    const Tensor expected = read_npy(images("expected/" + name + ".npy")).value();
    Shape want = expected.shape();
    want.insert(want.begin(), data->samples());
    CHECK(data->shape(0) == want);
    const std::vector<Tensor> batch = data->read(row, 1).value();
    const std::vector<float> got = floats(batch[0]);
    const std::vector<float> wanted = floats(expected);
    REQUIRE(got.size() == wanted.size());
    for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(std::fabs(got[i] - wanted[i]) <= 1e-6f * std::max(1.0f, std::fabs(wanted[i])));
    }
}

ImageOptionStrings sized(const std::string& size) {
    ImageOptionStrings text;
    text.image_size = size;
    return text;
}

bool mentions(const Status& status, const std::string& text) {
    return status.message().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("image folder: every PNG/JPEG/BMP at any depth, sorted by path, other files ignored") {
    Result<Dataset> data = Dataset::open(images("folder"), {"image"});
    REQUIRE(data.ok());
    CHECK(data->format() == "image-folder");
    CHECK(data->samples() == 5);  // a.png, gray.png, rgba.png, sub/b.bmp, sub/c.JPG; not notes.txt
    CHECK(data->dtype(0) == DType::kF32);
    CHECK(data->shape(0) == Shape{5, 3, 3, 4});
    CHECK_FALSE(data->has_labels());
    const Tensor batch = data->read(0, 5).value()[0];
    // Default settings: the size is kept, RGB, NCHW, pixel / 255. a.png pixel k = 4y + x has R = 20k + 5.
    CHECK(batch.data<float>()[0] == static_cast<float>(5.0 / 255.0));
    CHECK(batch.data<float>()[1] == static_cast<float>(25.0 / 255.0));
    // rgba.png is b.bmp with an alpha channel, which is dropped.
    CHECK(sample(batch, 2) == sample(batch, 3));
    // c.JPG is a flat (200, 100, 50); JPEG is lossy, so within a step or two.
    const std::vector<float> jpeg = sample(batch, 4);
    for (size_t i = 0; i < jpeg.size(); ++i) {
        const double want = (i < 12 ? 200.0 : i < 24 ? 100.0 : 50.0) / 255.0;
        CHECK(std::fabs(jpeg[i] - want) <= 2.0 / 255.0);
    }
}

TEST_CASE("image preprocessing matches the documented arithmetic") {
    // Checked by hand for one value: stretching 3x4 to 2x2 samples output (0, 0) at source (0.25, 0.5), so
    // R = 0.75 * (0.5 * 5 + 0.5 * 25) + 0.25 * (0.5 * 85 + 0.5 * 105) = 35.
    Dataset data = Dataset::open(images("folder"), {"image"}, parse_image_options(sized("2x2")).value()).value();
    CHECK(data.read(0, 1).value()[0].data<float>()[0] == static_cast<float>(35.0 / 255.0));

    check_against_expected(sized("2x2"), "stretch_2x2");
    ImageOptionStrings text = sized("5x7");
    text.color = "bgr";
    text.layout = "nhwc";
    text.mean = "0.485,0.456,0.406";
    text.std = "0.229,0.224,0.225";
    check_against_expected(text, "stretch_5x7_bgr_nhwc_norm");
    text = sized("2x2");
    text.color = "gray";
    check_against_expected(text, "gray_2x2");
    text = ImageOptionStrings();
    text.color = "gray";
    text.scale = "1";
    check_against_expected(text, "gray_file", 1);  // a gray file keeps its own values
    text.color = "rgb";
    check_against_expected(text, "gray_file_rgb", 1);  // and is replicated into RGB
    text = sized("2x2");
    text.resize = "shorter-side";
    check_against_expected(text, "shorter_side_2x2");
    text = sized("4x4");
    text.resize = "letterbox";
    text.pad_value = "114";
    text.scale = "1";
    check_against_expected(text, "letterbox_4x4");
    text = sized("2x2");
    text.crop = "center";
    text.scale = "1";
    check_against_expected(text, "crop_2x2");
    text = sized("5x6");
    text.crop = "center";
    text.pad_value = "7";
    text.scale = "1";
    check_against_expected(text, "crop_5x6_pad");
    text = sized("2x2");
    text.resize = "shorter-side";
    text.resize_size = "4";
    text.crop = "center";
    text.scale = "1/2";
    text.mean = "1";
    text.std = "2";
    check_against_expected(text, "resize_4x4_crop_2x2");
}

TEST_CASE("image list: paths relative to the list, labels in the second column") {
    Result<Dataset> data = Dataset::open(images("list.txt"), {"image"});
    REQUIRE(data.ok());
    CHECK(data->format() == "image-list");
    CHECK(data->samples() == 3);
    CHECK(data->has_labels());
    CHECK(data->labels() == std::vector<int64_t>{3, 1, 7});
    Dataset folder = Dataset::open(images("folder"), {"image"}).value();
    const Tensor listed = data->read(0, 3).value()[0];
    const Tensor found = folder.read(0, 5).value()[0];
    CHECK(sample(listed, 0) == sample(found, 0));  // folder/a.png
    CHECK(sample(listed, 1) == sample(found, 3));  // folder/sub/b.bmp
    CHECK(sample(listed, 2) == sample(found, 1));  // folder/gray.png

    Result<Dataset> unlabeled = Dataset::open(images("list_unlabeled.lst"), {"image"});
    REQUIRE(unlabeled.ok());
    CHECK_FALSE(unlabeled->has_labels());
    CHECK(unlabeled->labels().empty());

    Result<Dataset> mixed = Dataset::open(images("list_mixed.txt"), {"image"});
    CHECK(mixed.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(mixed.status(), "line 1 has a label but line 2 has none"));

    // Paths with spaces, absolute paths, and an image list given by an absolute path to a list elsewhere.
    const auto dir = pare_test::temp_dir("image_list");
    std::filesystem::create_directories(dir / "with space");
    std::filesystem::copy_file(images("folder/a.png"), dir / "with space" / "a b.png");
    std::ofstream(dir / "list.txt") << "with space/a b.png 5\n" << images("folder/sub/b.bmp") << " 6\n";
    Result<Dataset> spaced = Dataset::open((dir / "list.txt").string(), {"image"});
    REQUIRE_MESSAGE(spaced.ok(), spaced.status().message());
    CHECK(spaced->labels() == std::vector<int64_t>{5, 6});
    CHECK(sample(spaced->read(0, 2).value()[0], 1) == sample(found, 3));
    std::filesystem::remove_all(dir);
}

TEST_CASE("images: missing data, empty folders, size mismatches and multi-input models are invalid input") {
    CHECK(Dataset::open(images("no_such_folder"), {"image"}).status().code() == ErrorCode::kInvalidInput);
    const auto dir = pare_test::temp_dir("image_errors");
    std::ofstream(dir / "readme.md") << "no images\n";
    Result<Dataset> empty = Dataset::open(dir.string(), {"image"});
    CHECK(empty.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(empty.status(), "no PNG, JPEG or BMP"));

    Result<Dataset> sizes = Dataset::open(images("sizes"), {"image"});
    CHECK(sizes.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(sizes.status(), "5x6"));
    CHECK(mentions(sizes.status(), "--image-size"));
    Result<Dataset> resized = Dataset::open(images("sizes"), {"image"}, parse_image_options(sized("8x8")).value());
    REQUIRE(resized.ok());
    CHECK(resized->shape(0) == Shape{2, 3, 8, 8});

    CHECK(Dataset::open(images("folder"), {"a", "b"}).status().code() == ErrorCode::kInvalidInput);

    // Image settings with non-image data are a usage error, not silently ignored.
    Result<Dataset> npy = Dataset::open(data_fixture("x.npy"), {"x"}, parse_image_options(sized("2x2")).value());
    CHECK(npy.status().code() == ErrorCode::kUsage);

    // A file that is not an image at all fails when the dataset opens, naming it.
    std::filesystem::copy_file(images("folder/a.png"), dir / "a.png");
    std::ofstream(dir / "b.png") << "definitely not a PNG";
    Result<Dataset> garbage = Dataset::open(dir.string(), {"image"});
    CHECK(garbage.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(garbage.status(), "b.png' is not a PNG, JPEG or BMP image"));
    // A JPEG that ends inside a marker segment it skips over (this once made the marker search spin forever).
    std::ofstream(dir / "c.jpg", std::ios::binary) << std::string("\xff\xd8\xff\xe0\x00\x10", 6);
    ImageOptions skip;
    skip.skip_bad = true;
    Result<Dataset> skipped = Dataset::open(dir.string(), {"image"}, skip);
    REQUIRE(skipped.ok());
    CHECK(skipped->samples() == 1);
    REQUIRE(skipped->skipped().size() == 2);
    CHECK(mentions(Status(ErrorCode::kInvalidInput, skipped->skipped()[1]), "c.jpg"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("images: a JPEG Huffman table with more than 256 codes is refused before stb_image sees it") {
    // stb_image 2.27 would write past its tables. c.JPG's first DHT segment starts at byte 177; its 16 code counts
    // follow the marker, the length and the table class byte.
    std::ifstream in(images("folder/sub/c.JPG"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.compare(177, 2, "\xff\xc4") == 0);
    for (size_t i = 0; i < 16; ++i) bytes[177 + 5 + i] = 0x20;
    const auto dir = pare_test::temp_dir("image_dht");
    const std::string file = (dir / "huge_table.jpg").string();
    std::ofstream(file, std::ios::binary) << bytes;
    CHECK(probe_image(file).ok());  // the table comes after the frame header, where probing stops
    Result<DecodedImage> decoded = decode_image(file, 3);
    CHECK(decoded.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(decoded.status(), "huge_table.jpg"));
    CHECK(mentions(decoded.status(), "512 codes"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("images: damage past the header fails when read, naming the file, and --skip-bad leaves it out") {
    // bad/: a_good.png, b_truncated.png, d_truncated.bmp, e_good.png. The truncated files have whole headers.
    Result<Dataset> data = Dataset::open(images("bad"), {"image"});
    REQUIRE(data.ok());
    CHECK(data->samples() == 4);
    CHECK(data->read(0, 1).ok());
    Result<std::vector<Tensor>> png = data->read(0, 2);
    CHECK(png.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(png.status(), "b_truncated.png"));
    CHECK(mentions(png.status(), "--skip-bad"));
    // stb_image would fill the missing BMP rows with zeros; the read past the end is caught.
    Result<std::vector<Tensor>> bmp = data->read(2, 1);
    CHECK(bmp.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(bmp.status(), "d_truncated.bmp' is truncated"));

    ImageOptions skip;
    skip.skip_bad = true;
    Result<Dataset> kept = Dataset::open(images("bad"), {"image"}, skip);
    REQUIRE(kept.ok());
    CHECK(kept->samples() == 2);  // exact before reading
    CHECK(kept->total_samples() == 2);
    CHECK(kept->source_samples() == 4);
    REQUIRE(kept->skipped().size() == 2);
    CHECK(mentions(Status(ErrorCode::kInvalidInput, kept->skipped()[0]), "b_truncated.png"));
    CHECK(mentions(Status(ErrorCode::kInvalidInput, kept->skipped()[1]), "d_truncated.bmp"));
    CHECK(kept->source_index(1) == 3);
    const Tensor batch = kept->read(0, 2).value()[0];
    Dataset good = Dataset::open(images("folder"), {"image"}).value();
    CHECK(sample(batch, 0) == sample(good.read(0, 1).value()[0], 0));  // a_good.png is folder/a.png
    // Labels from elsewhere are given per source image, so they stay aligned when images are left out.
    CHECK(kept->arrange_labels({10, 11, 12, 13}).value() == std::vector<int64_t>{10, 13});
    CHECK(kept->arrange_labels({10, 13}).status().code() == ErrorCode::kInvalidInput);

    // A list: the missing file and the truncated one are left out with their labels.
    Result<Dataset> list = Dataset::open(images("bad_list.txt"), {"image"}, skip);
    REQUIRE(list.ok());
    CHECK(list->labels() == std::vector<int64_t>{0, 3});
    Result<Dataset> strict = Dataset::open(images("bad_list.txt"), {"image"});
    CHECK(strict.status().code() == ErrorCode::kInvalidInput);
    CHECK(mentions(strict.status(), "missing.png"));
}

TEST_CASE("image options: parsing, defaults and the checks between flags") {
    const ImageOptions defaults = parse_image_options(ImageOptionStrings()).value();
    CHECK(defaults.is_default());
    CHECK(describe_image_options(defaults) ==
          "image-size=original resize=stretch crop=none pad-value=0 color=rgb layout=nchw scale=0.00392156862745098 "
          "mean=0 std=1 skip-bad=false");
    ImageOptionStrings text = sized("224");
    text.resize = "shorter-side";
    text.resize_size = "256x256";
    text.crop = "center";
    text.color = "bgr";
    text.layout = "nhwc";
    text.scale = "1/255";
    text.mean = "0.485,0.456,0.406";
    text.std = "0.229,0.224,0.225";
    text.skip_bad = true;
    const ImageOptions full = parse_image_options(text).value();
    CHECK(full.size == ImageSize{224, 224});
    CHECK(full.resize_size == ImageSize{256, 256});
    CHECK(full.center_crop);
    CHECK(full.scale == 1.0 / 255.0);
    CHECK(full.mean == std::vector<double>{0.485, 0.456, 0.406});
    CHECK(describe_image_options(full) ==
          "image-size=224x224 resize=shorter-side resize-size=256x256 crop=center pad-value=0 color=bgr layout=nhwc "
          "scale=0.00392156862745098 mean=0.485,0.456,0.406 std=0.229,0.224,0.225 skip-bad=true");

    auto usage = [](const ImageOptionStrings& bad, const std::string& flag) {
        Result<ImageOptions> parsed = parse_image_options(bad);
        CAPTURE(flag);
        CHECK(parsed.status().code() == ErrorCode::kUsage);
        CHECK(mentions(parsed.status(), flag));
    };
    for (const char* size : {"0x4", "4x", "x4", "-3", "3x4x5", "abc", "70000"}) usage(sized(size), "--image-size");
    text = sized("4");
    text.resize = "fill";
    usage(text, "--resize");
    text = ImageOptionStrings();
    text.resize = "letterbox";
    usage(text, "--resize needs --image-size");
    text = ImageOptionStrings();
    text.crop = "center";
    usage(text, "--crop center needs --image-size");
    text = sized("4");
    text.resize_size = "8";
    usage(text, "--resize-size needs --crop center");
    text.crop = "center";
    text.resize_size = "2";
    usage(text, "smaller than --image-size");
    text = sized("4");
    text.pad_value = "3";
    usage(text, "--pad-value only applies");
    text = ImageOptionStrings();
    text.color = "hsv";
    usage(text, "--color");
    text.color = "gray";
    text.mean = "0.1,0.2,0.3";
    usage(text, "--mean has 3 values");
    text = ImageOptionStrings();
    text.std = "1,0,1";
    usage(text, "--std values must be non-zero");
    text.std = "1,nan,1";
    usage(text, "--std");
    text = ImageOptionStrings();
    text.scale = "1/0";
    usage(text, "--scale");
    text.scale = " 1";
    usage(text, "--scale");
    text = ImageOptionStrings();
    text.layout = "chw";
    usage(text, "--layout");
}

TEST_CASE("seeded permutation: fixed by the seed alone, a permutation, uniform-looking") {
    // Pinned (values from an independent Python mt19937_64 and the documented Fisher-Yates): the permutation must
    // not change across platforms or standard libraries.
    CHECK(seeded_permutation(10, 0) == std::vector<int64_t>{7, 2, 0, 8, 3, 9, 6, 1, 5, 4});
    CHECK(seeded_permutation(10, 42) == std::vector<int64_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6});
    CHECK(seeded_permutation(10, 0) != seeded_permutation(10, 1));
    CHECK(seeded_permutation(0, 5).empty());
    CHECK(seeded_permutation(1, 5) == std::vector<int64_t>{0});
    std::vector<int64_t> sorted = seeded_permutation(1000, 42);
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 1000; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
    // Where element 0 lands over many seeds: each of 4 places about a quarter of the time.
    int64_t counts[4] = {0, 0, 0, 0};
    for (uint64_t seed = 0; seed < 4000; ++seed) {
        const std::vector<int64_t> order = seeded_permutation(4, seed);
        ++counts[std::find(order.begin(), order.end(), 0) - order.begin()];
    }
    for (int64_t count : counts) CHECK(std::abs(count - 1000) < 120);
}

TEST_CASE("dataset order: every format reads a seeded permutation of its unshuffled rows, then limits") {
    struct Case {
        std::string path;
        std::vector<std::string> inputs;
    };
    const std::vector<Case> cases = {{data_fixture("x.npy"), {"x"}},
                                     {data_fixture("named_deflated.npz"), {"a", "b"}},
                                     {data_fixture("named_stored.npz"), {"a", "b"}},
                                     {data_fixture("test_data"), {"x"}},
                                     {images("folder"), {"image"}}};
    for (const Case& c : cases) {
        CAPTURE(c.path);
        Dataset plain = Dataset::open(c.path, c.inputs).value();
        Dataset shuffled = Dataset::open(c.path, c.inputs).value();
        shuffled.set_order(7);
        CHECK(shuffled.shuffled());
        const int64_t n = plain.samples();
        const std::vector<int64_t> order = seeded_permutation(n, 7);
        const std::vector<Tensor> all = plain.read(0, n).value();
        // Batches of 2 (the last one shorter) in shuffled order give the unshuffled rows at the permuted indices.
        for (int64_t start = 0; start < n; start += 2) {
            const int64_t count = std::min<int64_t>(2, n - start);
            const std::vector<Tensor> batch = shuffled.read(start, count).value();
            REQUIRE(batch.size() == all.size());
            for (size_t input = 0; input < all.size(); ++input) {
                const size_t row_bytes = all[input].nbytes() / static_cast<size_t>(n);
                for (int64_t i = 0; i < count; ++i) {
                    CHECK(shuffled.sample_index(start + i) == order[static_cast<size_t>(start + i)]);
                    const char* got = static_cast<const char*>(batch[input].raw()) + i * row_bytes;
                    const char* want = static_cast<const char*>(all[input].raw()) +
                                       static_cast<size_t>(order[static_cast<size_t>(start + i)]) * row_bytes;
                    CHECK(std::equal(got, got + row_bytes, want));
                }
            }
        }
        // The same seed gives the same batches; a limit keeps the first positions of the shuffled order.
        Dataset again = Dataset::open(c.path, c.inputs).value();
        again.set_order(7);
        again.set_limit(3);
        CHECK(again.samples() == 3);
        const std::vector<Tensor> limited = again.read(0, 3).value();
        const std::vector<Tensor> first = shuffled.read(0, 3).value();
        for (size_t input = 0; input < all.size(); ++input) CHECK(limited[input].equals(first[input]));
        CHECK(again.read(1, 3).status().code() == ErrorCode::kInvalidInput);
    }
}

TEST_CASE("dataset order: list labels and labels from elsewhere follow the shuffle") {
    Dataset list = Dataset::open(images("list.txt"), {"image"}).value();
    list.set_order(3);
    const std::vector<int64_t> order = seeded_permutation(3, 3);
    const std::vector<int64_t> by_index = {3, 1, 7};
    std::vector<int64_t> want;
    for (int64_t index : order) want.push_back(by_index[static_cast<size_t>(index)]);
    CHECK(list.labels() == want);
    CHECK(list.arrange_labels(by_index).value() == want);
    list.set_limit(2);
    CHECK(list.labels() == std::vector<int64_t>(want.begin(), want.begin() + 2));

    Dataset npy = Dataset::open(data_fixture("x.npy"), {"x"}).value();
    const std::vector<int64_t> labels = read_labels(data_fixture("labels.npy")).value();
    CHECK(npy.arrange_labels(labels).value() == labels);
    npy.set_order(11);
    const std::vector<int64_t> arranged = npy.arrange_labels(labels).value();
    for (int64_t i = 0; i < npy.samples(); ++i) {
        CHECK(arranged[static_cast<size_t>(i)] == labels[static_cast<size_t>(npy.sample_index(i))]);
    }
}

TEST_CASE("dataset sha256 of an image list covers the images it names") {
    const auto dir = pare_test::temp_dir("image_sha");
    std::filesystem::copy_file(images("folder/a.png"), dir / "x.png");
    std::ofstream(dir / "list.txt") << "x.png\n";
    const std::string before = dataset_sha256((dir / "list.txt").string()).value();
    std::filesystem::remove(dir / "x.png");
    std::filesystem::copy_file(images("folder/sub/b.bmp"), dir / "x.png");
    CHECK(dataset_sha256((dir / "list.txt").string()).value() != before);
    std::filesystem::remove_all(dir);
}

TEST_CASE("image names: extensions in any case") {
    CHECK(is_image_file_name("a/b.PNG"));
    CHECK(is_image_file_name("c.jpeg"));
    CHECK(is_image_file_name("c.Jpg"));
    CHECK(is_image_file_name("x.bmp"));
    CHECK_FALSE(is_image_file_name("x.gif"));
    CHECK_FALSE(is_image_file_name("png"));
    CHECK_FALSE(is_image_file_name("dir.png/file"));
}

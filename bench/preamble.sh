# Sourced first by every benchmark script, which passes on its arguments: BUILD_DIR ($1, default build/) and
# MODEL_DIR ($2, default sample_data/fmnist). Sets $here (bench/), $build, $models, $pare (the CLI) and $work, a
# temporary folder removed when the script exits.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
models=${2:-$here/../sample_data/fmnist}
pare="$build/apps/pare/pare"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

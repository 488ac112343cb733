#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets from the repo's programs.
#
#   fuzz/seed.sh            # uses $TINYVM, else ../target/release/tinyvm
#
# corpus/source_frontend/: the source programs themselves
#   (tests/programs/*.tvm, shared conformance *.lox, shared classic examples).
# corpus/tvmc_loader/: each program that compiles, as a bare payload (the
#   .tvmc file without its 20-byte header: magic 4, version 2, flags 2,
#   length 4, checksum 8) and, for a few, also as the whole file (the target
#   sends inputs starting with "TVMC" through the full-file decoder).
# corpus/tvmc_exec/: the same payloads and files as corpus/tvmc_loader/.
# corpus/opt_diff/: 64 pseudo-random byte strings of 64 B to 4 KB (SHA-512
#   chains of "opt_diff seed N", so always the same): the target's input
#   only steers its program generator, so any bytes make a program.
#
# Files are named by content hash, so rerunning is idempotent and merges
# into whatever the fuzzer has already added to corpus/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
shared="${SHARED:-$(cd "$repo/.." && pwd)/shared}"
tinyvm="${TINYVM:-$repo/target/release/tinyvm}"

opt_dir="$here/corpus/opt_diff"
mkdir -p "$opt_dir"
for n in $(seq 1 64); do
    blocks=$(( 1 << (n % 7) ))   # 1..64 blocks of 64 bytes
    h="opt_diff seed $n"
    : > "$opt_dir/.seed"
    for _ in $(seq 1 "$blocks"); do
        h="$(printf '%s' "$h" | sha512sum | cut -d' ' -f1)"
        printf '%s' "$h" | xxd -r -p >> "$opt_dir/.seed"
    done
    h="$(sha1sum "$opt_dir/.seed" | cut -d' ' -f1)"
    mv "$opt_dir/.seed" "$opt_dir/$h"
done
echo "seed.sh: 64 generator inputs -> $opt_dir ($(ls "$opt_dir" | wc -l) files)"

if [[ ! -x "$tinyvm" ]]; then
    echo "seed.sh: $tinyvm not found; run 'cargo build --release' in $repo or set TINYVM" >&2
    exit 1
fi

src_dir="$here/corpus/source_frontend"
bc_dir="$here/corpus/tvmc_loader"
exec_dir="$here/corpus/tvmc_exec"
mkdir -p "$src_dir" "$bc_dir" "$exec_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

sources=()
for f in "$repo"/tests/programs/*.tvm "$shared"/examples/classic/*.tvm; do
    [[ -f "$f" ]] && sources+=("$f")
done
if [[ -d "$shared/conformance/lox" ]]; then
    while IFS= read -r -d '' f; do sources+=("$f"); done \
        < <(find "$shared/conformance/lox" -name '*.lox' -print0 | sort -z)
fi

add() { # add FILE DIR: copy FILE into DIR under its content hash
    local h
    h="$(sha1sum "$1" | cut -d' ' -f1)"
    [[ -e "$2/$h" ]] || cat "$1" > "$2/$h"
}

compiled=0 full=0
for f in "${sources[@]}"; do
    add "$f" "$src_dir"
    out="$tmp/out.tvmc"
    if "$tinyvm" compile "$f" -o "$out" >/dev/null 2>&1; then
        tail -c +21 "$out" > "$tmp/payload"
        add "$tmp/payload" "$bc_dir"
        add "$tmp/payload" "$exec_dir"
        compiled=$((compiled + 1))
        # Every 8th program also as a whole file, for the header/checksum path.
        if (( compiled % 8 == 1 )); then
            add "$out" "$bc_dir"
            add "$out" "$exec_dir"
            full=$((full + 1))
        fi
    fi
done

echo "seed.sh: ${#sources[@]} sources -> $src_dir ($(ls "$src_dir" | wc -l) files)"
echo "seed.sh: $compiled payloads + $full full files -> $bc_dir ($(ls "$bc_dir" | wc -l) files)"
echo "seed.sh: the same -> $exec_dir ($(ls "$exec_dir" | wc -l) files)"

#!/usr/bin/env bash
# Installs the TinyVM toolchain under PREFIX (default: /usr/local):
#   PREFIX/bin/tinyvm                                  the compiler, runtime and linker driver
#   PREFIX/share/man/man1/tinyvm.1                     the man page (`tinyvm man`)
#   PREFIX/share/bash-completion/completions/tinyvm    shell completions (`tinyvm completions`)
#   PREFIX/share/zsh/site-functions/_tinyvm
#   PREFIX/share/fish/vendor_completions.d/tinyvm.fish
# The runtime's static archive and the gdb printers are embedded in the
# binary, so `tinyvm build` and `tinyvm gdb` work from any directory with
# only a C compiler driver (`cc`, and gdb for debugging) installed.
#
# Usage: scripts/install.sh [PREFIX [BINARY]]
# Builds with `cargo build --release --locked` and installs the binary from
# wherever cargo put it (CARGO_TARGET_DIR or build.target-dir honoured: cargo
# says where). With BINARY, installs that binary instead of building one.
set -euo pipefail
prefix="${1:-/usr/local}"
binary="${2:-}"
cd "$(dirname "$0")/.."
if [ -z "$binary" ]; then
    cargo build --release --locked -p tinyvm
    # Ask cargo where its target directory is rather than assume ./target.
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    if [ -z "$target_dir" ]; then
        echo "install.sh: cannot find cargo's target directory" >&2
        exit 1
    fi
    binary="$target_dir/release/tinyvm"
fi
if [ ! -x "$binary" ]; then
    echo "install.sh: no tinyvm binary at $binary" >&2
    exit 1
fi
install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
install -m 755 "$binary" "$prefix/bin/tinyvm"
"$prefix/bin/tinyvm" man >"$prefix/share/man/man1/tinyvm.1"
"$prefix/bin/tinyvm" completions bash >"$prefix/share/bash-completion/completions/tinyvm"
"$prefix/bin/tinyvm" completions zsh >"$prefix/share/zsh/site-functions/_tinyvm"
"$prefix/bin/tinyvm" completions fish >"$prefix/share/fish/vendor_completions.d/tinyvm.fish"
echo "installed: $prefix/bin/tinyvm"
"$prefix/bin/tinyvm" --version

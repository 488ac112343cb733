#!/usr/bin/env bash
# Installs the TinyVM toolchain under PREFIX (default: /usr/local):
#   PREFIX/bin/tinyvm                 the compiler, runtime and linker driver
# The runtime's static archive and the gdb printers are embedded in the
# binary, so `tinyvm build` and `tinyvm gdb` work from any directory with
# only a C compiler driver (`cc`, and gdb for debugging) installed.
set -euo pipefail
prefix="${1:-/usr/local}"
cd "$(dirname "$0")/.."
cargo build --release -p tinyvm
install -d "$prefix/bin"
install -m 755 target/release/tinyvm "$prefix/bin/tinyvm"
echo "installed: $prefix/bin/tinyvm"
"$prefix/bin/tinyvm" --version

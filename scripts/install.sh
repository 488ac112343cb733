#!/usr/bin/env bash
# Installs the TinyVM toolchain under PREFIX (default: /usr/local):
#   PREFIX/bin/tinyvm                 the compiler, runtime and linker driver
#   PREFIX/share/tinyvm/              the gdb value printers (tinyvm-gdb.py)
# The runtime's static archive is embedded in the binary, so `tinyvm build`
# works from any directory with only a C compiler driver (`cc`) installed.
set -euo pipefail
prefix="${1:-/usr/local}"
cd "$(dirname "$0")/.."
cargo build --release -p tinyvm
install -d "$prefix/bin" "$prefix/share/tinyvm"
install -m 755 target/release/tinyvm "$prefix/bin/tinyvm"
if [ -f runtime/gdb/tinyvm-gdb.py ]; then
  install -m 644 runtime/gdb/tinyvm-gdb.py "$prefix/share/tinyvm/tinyvm-gdb.py"
fi
echo "installed: $prefix/bin/tinyvm"
"$prefix/bin/tinyvm" --version

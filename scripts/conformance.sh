#!/usr/bin/env bash
# Runs the Lox conformance suite (../shared/conformance/lox_suite.py) against
# TinyVM in every available mode:
#   run          tinyvm run --error-format=short FILE
#   jit-always   tinyvm run --jit=always --error-format=short FILE
#   gc-stress    tinyvm run --error-format=short FILE with TINYVM_GC_STRESS=1
#   opt-eager    the same with TINYVM_OPT=eager (the optimizing tier at every first call)
#   deopt-stress the same with TINYVM_OPT=eager TINYVM_DEOPT_STRESS=1 (every guard fails once)
#   build        tinyvm build --error-format=short SRC -o EXE, then EXE
#                (only when `tinyvm build` builds and runs a trivial program;
#                the executable optimizes its code at load, as by default)
#   build-stress the same with TINYVM_DEOPT_STRESS=1 (every guard of the
#                executable's optimized code fails once)
# and prints each mode's closing line ('N passed, N failed, N skipped').
#
# Usage: scripts/conformance.sh [-v] [CONFORMANCE_DIR]
#   CONFORMANCE_DIR   test directory (default: ../shared/conformance/lox from the repo root)
#   -v                print every FAIL block of a failing mode (default: its first 40 lines)
# Environment: TINYVM (default target/release/tinyvm in the repo root),
#   JOBS (parallel tests, default: the suite's default), PYTHON (default python3).
# Exit status: 0 when every mode passes, 1 otherwise.
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
verbose=0
dir=""
for a in "$@"; do
    case "$a" in
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -v|--verbose) verbose=1 ;;
        -*) echo "conformance.sh: unknown option $a" >&2; exit 2 ;;
        *) if [ -n "$dir" ]; then echo "conformance.sh: one directory only" >&2; exit 2; fi; dir="$a" ;;
    esac
done
dir="${dir:-$root/../shared/conformance/lox}"
tinyvm="${TINYVM:-$root/target/release/tinyvm}"
python="${PYTHON:-python3}"

if [ ! -d "$dir" ]; then echo "conformance.sh: no test directory $dir" >&2; exit 2; fi
dir="$(cd "$dir" && pwd)"
suite="$(dirname "$dir")/lox_suite.py"
[ -f "$suite" ] || suite="$root/../shared/conformance/lox_suite.py"
if [ ! -f "$suite" ]; then echo "conformance.sh: lox_suite.py not found" >&2; exit 2; fi
if [ ! -x "$tinyvm" ]; then echo "conformance.sh: $tinyvm not found (cargo build --release, or set TINYVM)" >&2; exit 2; fi

common=()
[ -n "${JOBS:-}" ] && common+=(--jobs "$JOBS")

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Does `tinyvm build` work? Try a trivial program.
printf 'print "ok";\n' > "$tmp/probe.lox"
build_ok=0
if "$tinyvm" build "$tmp/probe.lox" -o "$tmp/probe" >"$tmp/probe.log" 2>&1 \
   && [ -x "$tmp/probe" ] && [ "$("$tmp/probe" 2>/dev/null)" = "ok" ]; then
    build_ok=1
fi

q() { printf '%q' "$1"; }
status=0
run_mode() {  # NAME ENV-ASSIGNMENT-OR-'' SUITE-ARGS...
    local name="$1" envs="$2"; shift 2
    local out rc
    if [ -n "$envs" ]; then
        out="$(env "$envs" "$python" "$suite" "${common[@]}" "$@" "$dir" 2>&1)"
    else
        out="$("$python" "$suite" "${common[@]}" "$@" "$dir" 2>&1)"
    fi
    rc=$?
    if [ $rc -ne 0 ]; then
        # Everything but the closing line: FAIL blocks, or a crash of the suite itself.
        local body n
        body="$(printf '%s\n' "$out" | sed '$d')"
        n="$(printf '%s\n' "$body" | wc -l)"
        if [ "$verbose" = 1 ] || [ "$n" -le 40 ]; then
            printf '%s\n' "$body" | sed "s/^/[$name] /"
        else
            printf '%s\n' "$body" | head -n 40 | sed "s/^/[$name] /"
            echo "[$name] ... $((n - 40)) more lines (-v shows them)"
        fi
    fi
    printf '%-12s %s%s\n' "$name:" "$(printf '%s\n' "$out" | tail -n 1)" "$([ $rc -ne 0 ] && echo "  <-- FAILED (exit $rc)")"
    [ $rc -eq 0 ] || status=1
}

t="$(q "$tinyvm")"
run_mode run        ''                   --run "$t run --error-format=short {}"
run_mode jit-always ''                   --run "$t run --jit=always --error-format=short {}"
run_mode gc-stress  TINYVM_GC_STRESS=1   --run "$t run --error-format=short {}"
run_mode opt-eager  TINYVM_OPT=eager     --run "$t run --error-format=short {}"
run_mode deopt-stress TINYVM_OPT=eager   --run "env TINYVM_DEOPT_STRESS=1 $t run --error-format=short {}"
if [ "$build_ok" = 1 ]; then
    run_mode build  ''                   --build "$t build --error-format=short {src} -o {exe}"
    run_mode build-stress TINYVM_DEOPT_STRESS=1 --build "$t build --error-format=short {src} -o {exe}"
else
    echo "build:       skipped: \`tinyvm build\` does not build a trivial program: $(head -n 1 "$tmp/probe.log")"
fi
exit $status

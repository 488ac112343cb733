#!/usr/bin/env python3
"""The runtime's module dependencies, from `crate::` paths in its sources.

Lists, for runtime/src, which top-level module (a folder such as `vm/`,
or a file such as `stats.rs`) names which, the cycles among them (strongly
connected components), and each file's cycle at file level. With
--check, exits 1 when a module names a module above it in the intended
layering (LAYERS below), or when vm/, heap/ or object/ name codegen.

Usage: scripts/module_deps.py [--files] [--check] [--root runtime/src]
Test modules (`#[cfg(test)] mod tests`) are left out.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lowest first. A module may name modules of its own or lower layers.
LAYERS = [
    ["value", "bytecode", "output", "signals"],
    ["object"],
    ["heap"],
    ["print"],
    ["vm"],
    ["sync"],
    ["natives", "stats"],
    ["codegen"],
    ["program", "lib"],
]

PATH = re.compile(r"crate::([a-z_]+)(?:::([a-z_]+))?")


def source_files(root):
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def without_tests(text):
    cut = text.find("#[cfg(test)]\nmod tests")
    return text if cut < 0 else text[:cut]


def module_of(root, path):
    rel = os.path.relpath(path, root)
    top = rel.split(os.sep)[0]
    return top[:-3] if top.endswith(".rs") else top


def file_key(root, path):
    return os.path.relpath(path, root)


def references(root):
    """(from file, from module, to module, to submodule) for every crate:: path."""
    for path in source_files(root):
        text = without_tests(open(path, encoding="utf-8").read())
        # `use crate::vm::{call, error}` names vm; group contents are submodules.
        for m in PATH.finditer(text):
            yield path, module_of(root, path), m.group(1), m.group(2)


def sccs(nodes, edges):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.path.join(ROOT, "runtime", "src"))
    parser.add_argument("--files", action="store_true", help="also list file-level cycles")
    parser.add_argument("--check", action="store_true", help="exit 1 on an upward dependency")
    args = parser.parse_args()
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    edges, why = {}, {}
    refs = list(references(args.root))
    for path, src, dst, sub in refs:
        if dst == src or dst not in layer:
            continue
        edges.setdefault(src, set()).add(dst)
        why.setdefault((src, dst), set()).add(file_key(args.root, path))
    nodes = set(layer) & ({m for m in edges} | {d for s in edges.values() for d in s})
    print("module dependencies (module -> modules it names):")
    for src in sorted(edges, key=lambda m: (layer.get(m, 99), m)):
        print(f"  {src:8} -> {', '.join(sorted(edges[src], key=lambda m: (layer[m], m)))}")
    cycles = sccs(nodes, edges)
    print(f"module cycles: {len(cycles)}")
    for c in cycles:
        print("  " + " <-> ".join(c))
    upward = [(s, d) for s in edges for d in edges[s] if layer.get(s, 99) < layer[d]]
    print(f"upward dependencies: {len(upward)}")
    for s, d in sorted(upward):
        print(f"  {s} -> {d}: {', '.join(sorted(why[(s, d)]))}")
    codegen_names = sorted(
        {(file_key(args.root, p), sub) for p, src, dst, sub in refs if dst == "codegen" and src in ("vm", "heap", "object")}
    )
    print(f"codegen named by vm/, heap/, object/: {len(codegen_names)}")
    for f, sub in codegen_names:
        print(f"  {f}: codegen::{sub}")
    if args.files:
        file_edges = {}
        files = {file_key(args.root, p) for p in source_files(args.root)}
        by_module = {}
        for f in files:
            by_module.setdefault(f.split(os.sep)[0].removesuffix(".rs"), []).append(f)
        for path, src, dst, sub in refs:
            f = file_key(args.root, path)
            targets = [t for t in by_module.get(dst, []) if sub and os.path.basename(t)[:-3] == sub]
            if not targets:
                targets = [t for t in by_module.get(dst, []) if t.endswith("mod.rs") or t == dst + ".rs"]
            for t in targets:
                if t != f:
                    file_edges.setdefault(f, set()).add(t)
        file_cycles = sccs(files, file_edges)
        print(f"file cycles: {len(file_cycles)}")
        for c in file_cycles:
            print(f"  {len(c)} files: {', '.join(c)}")
    if args.check and (upward or codegen_names):
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fails when the folders of a source tree include each other in a loop.

Usage: folder_loops.py SRC_DIR

Every `#include "x/y.h"` (resolved against SRC_DIR, then against the including file's folder)
in every .h and .cpp under SRC_DIR is an edge from the including file's top folder to the
included file's top folder (files directly in SRC_DIR form the folder "."). A strongly
connected set of two or more folders is a loop: the script prints each one with the include
lines that make it and exits 1. Exit 0 with a one-line summary when there is none.
"""
import os
import re
import sys

INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"')


def top(rel):
    return rel.split('/')[0] if '/' in rel else '.'


def edges_of(root):
    """(folder, folder) -> the include lines between them, and the number of files read."""
    edges, files_read = {}, 0
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(('.h', '.cpp', '.def')):
                continue
            path = os.path.join(d, f)
            files_read += 1
            src = top(os.path.relpath(path, root))
            with open(path, encoding='utf-8', errors='replace') as fh:
                for line in fh:
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if os.path.exists(os.path.join(root, inc)):
                        dst = top(inc)
                    elif os.path.exists(os.path.join(d, inc)):
                        dst = top(os.path.relpath(os.path.join(d, inc), root))
                    else:
                        continue  # a system or another module's header
                    if dst != src:
                        edges.setdefault((src, dst), []).append(
                            f'{os.path.relpath(path, root)} -> {inc}')
    return edges, files_read


def loops(edges):
    """Tarjan's strongly connected components of more than one folder."""
    nodes = sorted({a for a, _ in edges} | {b for _, b in edges})
    adj = {n: sorted(b for (a, b) in edges if a == n) for n in nodes}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
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
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in nodes:
        if n not in index:
            visit(n)
    return out, len(nodes)


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print(__doc__)
        return 2
    edges, files_read = edges_of(sys.argv[1])
    found, count = loops(edges)
    if files_read == 0:
        print(f'FAIL: no source file under {sys.argv[1]}')
        return 1
    for comp in found:
        print('include loop between folders: ' + ', '.join(comp))
        for a in comp:
            for b in comp:
                for line in edges.get((a, b), [])[:5]:
                    print(f'  {line}')
    if found:
        return 1
    print(f'ok: {files_read} files, {count} folders with includes between them, '
          f'{len(edges)} folder dependencies, no loop')
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""No file circles: within each crate, the graph "file A uses crate::B" has no cycles.

For every crate under crates/*/src this builds a file-level import graph and prints each cycle as
`crate: a.rs -> b.rs -> a.rs`, exiting 1 if there is any. `--crate NAME` checks one crate.

What counts as "A uses B": in A's code (comments and string literals left out), a `crate::` path
(in a `use`, grouped `use crate::{x, y::z}` included, or written out in an expression) and a
`super::` path. The path names the deepest module file that exists: `crate::client::Response` is
`client/mod.rs` (a module directory is its module, its other files are nodes of their own) and
`crate::StartAt` is the crate root. `super::` inside an inline `mod tests { ... }` is the file
itself, and a file using itself is no edge. A parent reaching its children through their plain
names (`mod h1; use h1::Conn;`) is no edge either: declaring a child is not a circle.

For the binary crate `brood`, files under `src/commands/` must also not import each other: a file
of one command (`commands/run.rs`, or any file under `commands/run/`) using another command's file
is reported. Using `commands/mod.rs` is allowed.

PENDING lists crates being restructured elsewhere: their cycles and command imports are printed as
warnings and do not fail the check. Take a crate out of PENDING once it is clean.
"""

import argparse
import re
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ROOT / "crates"

# Crates whose findings are warnings, not errors, while they are being restructured.
PENDING: set[str] = set()

# The binary crate whose command files must not import each other.
COMMANDS_CRATE = "brood"
COMMANDS_DIR = "commands"


def tokens(text):
    """Rust tokens that matter for paths: identifiers, `::`, braces, and other single characters.

    Comments, string, byte-string, raw-string and char literals are skipped; `$crate` is dropped.
    """
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            i = skip_block_comment(text, i)
        elif c == '"':
            i = skip_string(text, i + 1)
        elif prefixed_literal(text, i):
            i = prefixed_literal(text, i)
        elif c == "'":
            i = skip_char_or_lifetime(text, i)
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if not (i > 0 and text[i - 1] == "$"):
                yield text[i:j]
            i = j
        elif text.startswith("::", i):
            yield "::"
            i += 2
        else:
            yield c
            i += 1


def skip_block_comment(text, i):
    depth, i = 1, i + 2
    while i < len(text) and depth:
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def skip_string(text, i):
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


PREFIXED = re.compile(r"(?:b|c)?r(#*)\"|(?:b|c)\"|b'")


def prefixed_literal(text, i):
    """The index after a prefixed literal (b"..", r#".."#, br"..", b'x') starting at i, or 0."""
    match = PREFIXED.match(text, i)
    if not match:
        return 0
    if match.group(0) == "b'":
        return skip_char(text, i + 1)
    if match.group(1) is None:
        return skip_string(text, match.end())
    end = text.find('"' + match.group(1), match.end())
    return len(text) if end < 0 else end + 1 + len(match.group(1))


def skip_char(text, i):
    j = i + 1
    while j < len(text) and text[j] != "'":
        j += 2 if text[j] == "\\" else 1
    return j + 1


def skip_char_or_lifetime(text, i):
    """A char literal ('a', '\\n') is skipped whole; a lifetime ('a) only its quote."""
    if text.startswith("'\\", i) or (i + 2 < len(text) and text[i + 2] == "'"):
        return skip_char(text, i)
    return i + 1


def use_paths(toks, k):
    """The paths of the `use` tree starting at toks[k], and the index after it."""
    paths, k = use_tree(toks, k, [])
    return paths, k


def use_tree(toks, k, prefix):
    paths = []
    while k < len(toks):
        t = toks[k]
        if t == "{":
            k += 1
            while k < len(toks) and toks[k] != "}":
                sub, k = use_tree(toks, k, prefix)
                paths += sub
                if k < len(toks) and toks[k] == ",":
                    k += 1
            return paths, k + 1
        if t in (",", "}", ";"):
            return paths or [prefix], k
        if t == "as":
            return [prefix], k + 2
        if t == "::":
            k += 1
        elif t == "*":
            return [prefix], k + 1
        else:
            prefix = prefix + [t]
            k += 1
    return paths or [prefix], k


def written_path(toks, k):
    """The path written at toks[k] (`crate::a::b::f(...)`), without a trailing fn or macro name."""
    path = [toks[k]]
    while k + 2 < len(toks) and toks[k + 1] == "::" and is_ident(toks[k + 2]):
        path.append(toks[k + 2])
        k += 2
    if k + 1 < len(toks) and toks[k + 1] in ("(", "!"):
        path.pop()
    return path


def is_ident(tok):
    return tok[0].isalpha() or tok[0] == "_"


class Crate:
    def __init__(self, name, src):
        self.name = name
        self.src = src
        self.root = "lib.rs" if (src / "lib.rs").exists() else "main.rs"

    def files(self):
        return sorted(str(p.relative_to(self.src)) for p in self.src.rglob("*.rs"))

    def module_of(self, rel):
        """The module path of a file: `client/h1.rs` is [client, h1], `client/mod.rs` [client]."""
        parts = rel[: -len(".rs")].split("/")
        if parts[-1] == "mod" or rel == self.root:
            parts = parts[:-1]
        return parts

    def file_of(self, module):
        """The deepest existing file for a module path (the crate root when none matches)."""
        for end in range(len(module), 0, -1):
            base = "/".join(module[:end])
            for rel in (base + ".rs", base + "/mod.rs"):
                if (self.src / rel).exists():
                    return rel
        return self.root

    def uses(self, rel):
        """The files that `rel` uses through `crate::` and `super::` paths."""
        toks = list(tokens((self.src / rel).read_text(encoding="utf-8")))
        here = self.module_of(rel)
        found = set()
        for module in self.module_paths(toks, here):
            target = self.file_of(module)
            if target != rel:
                found.add(target)
        return found

    def module_paths(self, toks, here):
        """Every module path named from a file whose module is `here`."""
        inline = []  # (name, brace depth) of the inline `mod name {` blocks we are in
        depth = 0
        k = 0
        while k < len(toks):
            t = toks[k]
            if t == "mod" and k + 2 < len(toks) and is_ident(toks[k + 1]) and toks[k + 2] == "{":
                inline.append((toks[k + 1], depth))
                k += 2
                continue
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if inline and inline[-1][1] == depth:
                    inline.pop()
            elif t == "use":
                paths, k = use_paths(toks, k + 1)
                for path in paths:
                    module = self.resolve(path, here + [m for m, _ in inline])
                    if module is not None:
                        yield module
                continue
            elif t in ("crate", "super") and k + 1 < len(toks) and toks[k + 1] == "::":
                if k == 0 or toks[k - 1] != "::":
                    module = self.resolve(written_path(toks, k), here + [m for m, _ in inline])
                    if module is not None:
                        yield module
            k += 1

    @staticmethod
    def resolve(path, current):
        """The module path `path` names from module `current`, or None if not crate-relative."""
        if not path:
            return None
        if path[0] == "crate":
            return path[1:]
        if path[0] != "super":
            return None
        module = list(current)
        while path and path[0] == "super":
            module = module[:-1]
            path = path[1:]
        return module + [p for p in path if p != "self"]

    def graph(self):
        return {rel: self.uses(rel) for rel in self.files()}


def strongly_connected(graph):
    """Tarjan's algorithm, iteratively: the graph's strongly connected components."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comps.append(pop_component(stack, on_stack, node))
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return comps


def pop_component(stack, on_stack, node):
    comp = set()
    while True:
        top = stack.pop()
        on_stack.discard(top)
        comp.add(top)
        if top == node:
            return comp


def shortest_path(graph, start, goal, within):
    prev = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = []
            while node is not None:
                path.append(node)
                node = prev[node]
            return path[::-1]
        for child in sorted(graph[node] & within):
            if child not in prev:
                prev[child] = node
                queue.append(child)
    return None


def cycles(graph):
    """One shortest cycle through every edge that lies on a cycle, each cycle printed once."""
    found = []
    seen = set()
    for comp in strongly_connected(graph):
        if len(comp) < 2:
            continue
        for a in sorted(comp):
            for b in sorted(graph[a] & comp):
                cycle = [a] + shortest_path(graph, b, a, comp)
                key = rotate(cycle[:-1])
                if key not in seen:
                    seen.add(key)
                    found.append(list(key) + [key[0]])
    return found


def rotate(cycle):
    start = cycle.index(min(cycle))
    return tuple(cycle[start:] + cycle[:start])


def command_of(rel):
    """The command a file under commands/ belongs to, or None (also for commands/mod.rs)."""
    parts = rel.split("/")
    if len(parts) < 2 or parts[0] != COMMANDS_DIR or parts[1] == "mod.rs":
        return None
    return parts[1][: -len(".rs")] if parts[1].endswith(".rs") else parts[1]


def command_imports(graph):
    """Edges from one command's file to another command's file."""
    found = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if command_of(a) and command_of(b) and command_of(a) != command_of(b):
                found.append((a, b))
    return found


def check(crate):
    """The crate's findings as printable lines."""
    graph = crate.graph()
    lines = [f"{crate.name}: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    if crate.name == COMMANDS_CRATE:
        lines += [
            f"{crate.name}: {a} -> {b} (commands must not import each other)"
            for a, b in command_imports(graph)
        ]
    return lines


def crates(only):
    found = sorted(p.parent for p in CRATES.glob("*/src") if p.is_dir())
    if only is not None:
        found = [p for p in found if p.name == only]
        if not found:
            sys.exit(f"check-structure: no crate named {only} under {CRATES}")
    return [Crate(p.name, p / "src") for p in found]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crate", help="check only this crate (its directory name under crates/)")
    args = parser.parse_args()
    failed = False
    for crate in crates(args.crate):
        for line in check(crate):
            if crate.name in PENDING:
                print(f"warning (pending): {line}")
            else:
                print(line)
                failed = True
    if failed:
        print("check-structure: file circles found (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check Swift and Kotlin sources for syntax errors with tree-sitter.

There is no Swift toolchain or Android SDK on the build machines, so this
parser-only check is what stops a broken .swift, .kt or .kts file from landing. It
finds syntax errors only: names, types and imports are not resolved.

Usage:
    syntax-check.py swift DIR...
    syntax-check.py kotlin DIR...
    syntax-check.py --self-test

Exits 1 when any file has a syntax error, when a directory does not exist or
when no file was found, so a wrong path cannot pass as "no errors".
"""

import importlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# PyPI requirements and module names of the parser and its grammars, limited
# to the releases this script was tested with (tree-sitter 0.26.1,
# tree-sitter-swift 0.7.4, tree-sitter-kotlin 1.1.0), because another grammar
# release may parse the same file differently.
PARSER_PACKAGE = ("tree-sitter>=0.26,<0.27", "tree_sitter")
GRAMMAR_PACKAGES = {
    "swift": ("tree-sitter-swift>=0.7.4,<0.8", "tree_sitter_swift"),
    "kotlin": ("tree-sitter-kotlin>=1.1,<2", "tree_sitter_kotlin"),
}
FILE_SUFFIXES = {
    "swift": (".swift",),
    "kotlin": (".kt", ".kts"),
}

# UniFFI-generated Swift marks its internal helpers with this attribute, which
# tree-sitter-swift 0.7.4 does not parse. Only this exact attribute is blanked
# out, so any other syntax error in the same file is still reported.
SWIFT_PRIVATE_DOC_ATTRIBUTE = re.compile(rb"@_documentation\(\s*visibility\s*:\s*private\s*\)")


def import_or_install(requirement, module_name):
    """Import a module, installing its PyPI requirement quietly if it is missing."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        pass

    print(f"syntax-check: installing {requirement} with pip", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
        check=True,
    )
    importlib.invalidate_caches()
    return importlib.import_module(module_name)


def make_parser(language):
    """Build a tree-sitter parser for "swift" or "kotlin"."""
    tree_sitter = import_or_install(*PARSER_PACKAGE)
    grammar = import_or_install(*GRAMMAR_PACKAGES[language])
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def blank_out(match):
    """Replace a match with spaces, keeping line breaks so positions stay the same."""
    return re.sub(rb"[^\n]", b" ", match.group(0))


def prepare_source(language, source):
    """Return the bytes to parse, with the unsupported Swift attribute blanked out."""
    if language == "swift":
        return SWIFT_PRIVATE_DOC_ATTRIBUTE.sub(blank_out, source)
    return source


def find_syntax_errors(tree):
    """Return (line, column, kind) for every ERROR and MISSING node, 1-based.

    Walks iteratively because generated bindings nest deeply, and skips
    subtrees that tree-sitter already marked as error-free.
    """
    errors = []
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        if node.is_error or node.is_missing:
            kind = "missing " + node.type if node.is_missing else "unexpected syntax"
            row, column = node.start_point
            errors.append((row + 1, column + 1, kind))
        if node.has_error:
            pending.extend(reversed(node.children))
    return sorted(errors)


def find_source_files(language, directories):
    """List the source files of a language under the directories, sorted."""
    files = []
    for directory in directories:
        path = Path(directory)
        if path.is_file():
            files.append(path)
            continue
        for suffix in FILE_SUFFIXES[language]:
            files.extend(path.rglob("*" + suffix))
    return sorted(set(files))


def check_files(language, directories):
    """Parse every source file, print each error, and return (files checked, files with errors)."""
    parser = make_parser(language)
    files = find_source_files(language, directories)
    files_with_errors = 0

    for path in files:
        source = prepare_source(language, path.read_bytes())
        errors = find_syntax_errors(parser.parse(source))
        if not errors:
            continue
        files_with_errors += 1
        for line, column, kind in errors:
            print(f"{path}:{line}:{column}: {kind}")

    print(f"{language} syntax: {len(files)} files checked, {files_with_errors} with errors")
    return len(files), files_with_errors


# Each self-test case is (language, file name, source, whether it must be reported).
SELF_TEST_CASES = [
    # The attribute inside `#if swift(>=5.8)`, as UniFFI emits it, fails to
    # parse unless it is blanked out.
    (
        "swift",
        "Valid.swift",
        b"public struct Helper {}\n"
        b"\n"
        b"extension Helper {\n"
        b"#if swift(>=5.8)\n"
        b"    @_documentation(visibility: private)\n"
        b"#endif\n"
        b"    public static func double(_ value: Int) -> Int { value * 2 }\n"
        b"}\n",
        False,
    ),
    (
        "swift",
        "MissingBrace.swift",
        b"public struct Broken {\n"
        b"    func run() {\n"
        b"        let total = 1 +\n"
        b"    }\n",
        True,
    ),
    (
        "swift",
        "BrokenAfterAttribute.swift",
        b"@_documentation(visibility: private)\n"
        b"public func helper( -> Int { return 1 }\n",
        True,
    ),
    (
        "kotlin",
        "Valid.kt",
        b"package app.example\n\n"
        b"suspend fun double(value: Int): Int = value * 2\n",
        False,
    ),
    (
        "kotlin",
        "Broken.kt",
        b"package app.example\n\n"
        b"class Broken {\n"
        b"    fun run( { val x = }\n",
        True,
    ),
]


def run_self_test():
    """Check that valid files pass and broken ones are reported, and return the exit code."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="syntax-check-self-test-") as temp:
        for index, (language, name, source, must_fail) in enumerate(SELF_TEST_CASES):
            case_dir = Path(temp) / f"case-{index}"
            case_dir.mkdir()
            (case_dir / name).write_bytes(source)
            expectation = "errors expected" if must_fail else "no errors expected"
            print(f"self-test case {name}: {expectation}")

            checked, with_errors = check_files(language, [case_dir])
            if checked != 1:
                failures.append(f"{name}: expected 1 file checked, got {checked}")
            elif must_fail and with_errors == 0:
                failures.append(f"{name}: syntax error was not detected")
            elif not must_fail and with_errors != 0:
                failures.append(f"{name}: valid file was reported as an error")

        empty_dir = Path(temp) / "empty"
        empty_dir.mkdir()
        if main(["swift", str(empty_dir)]) != 1:
            failures.append("empty directory: expected exit code 1 when no file is found")

    for failure in failures:
        print(f"self-test failed: {failure}")
    if failures:
        return 1
    print(f"syntax-check self-test: {len(SELF_TEST_CASES)} cases passed")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return run_self_test()

    if len(argv) < 2 or argv[0] not in GRAMMAR_PACKAGES:
        print(__doc__.strip(), file=sys.stderr)
        return 2

    language, directories = argv[0], argv[1:]
    missing = [directory for directory in directories if not Path(directory).exists()]
    if missing:
        print(f"syntax-check: directory not found: {' '.join(missing)}", file=sys.stderr)
        return 1

    checked, with_errors = check_files(language, directories)
    if checked == 0:
        print(f"syntax-check: no {language} files found under {' '.join(directories)}", file=sys.stderr)
        return 1
    return 1 if with_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

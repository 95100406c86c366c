#!/usr/bin/env bash
# Compiles the generated Kotlin bindings with the Android SDK's JVM sources and
# tests, then runs every test class with JUnit 4 on the desktop JVM, loading
# the host-built Rust library through JNA.
#
# Usage: tests/lib/kotlin-jvm.sh <generated-kotlin-dir> <native-lib-dir>
#
#   generated-kotlin-dir  output of `uniffi-bindgen generate --language kotlin`
#   native-lib-dir        directory that contains libsharepay_ffi.so
#
# Environment:
#   KOTLINC_HOME     Kotlin compiler (the unpacked npm package kotlin-compiler);
#                    default ${SHAREPAY_CACHE:-$HOME/.cache/sharepay}/kotlin-compiler/package,
#                    which is installed with npm when missing.
#   SHAREPAY_TEST_*  passed through to the tests (see ClientSkeletonTest.kt).
#
# Prints JUnit's report, then "kotlin-jvm: N passed, M failed". Exits non-zero
# when compilation fails or any test fails.
set -euo pipefail

readonly KOTLIN_COMPILER_VERSION="2.4.20"
readonly JAVA_DIR="/usr/share/java"

usage() {
    echo "usage: $0 <generated-kotlin-dir> <native-lib-dir>" >&2
    exit 2
}

fail() {
    echo "kotlin-jvm: $*" >&2
    exit 1
}

[[ $# -eq 2 ]] || usage
generated_dir="$(cd "$1" && pwd)" || fail "generated Kotlin directory not found: $1"
native_lib_dir="$(cd "$2" && pwd)" || fail "native library directory not found: $2"
[[ -f "$native_lib_dir/libsharepay_ffi.so" ]] \
    || fail "libsharepay_ffi.so not found in $native_lib_dir; build the sharepay-ffi crate first"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sdk_dir="$repo_root/android/sdk"
build_dir="$repo_root/build/kotlin"
classes_dir="$build_dir/classes"

# Kotlin compiler: use KOTLINC_HOME when set, else the cached npm package,
# installing it into the cache on first use.
install_kotlin_compiler() {
    local cache_dir="$1"
    echo "kotlin-jvm: installing kotlin-compiler@$KOTLIN_COMPILER_VERSION into $cache_dir" >&2
    mkdir -p "$cache_dir"
    local download_dir
    download_dir="$(mktemp -d)"
    (cd "$download_dir" && npm pack --silent "kotlin-compiler@$KOTLIN_COMPILER_VERSION" >/dev/null)
    rm -rf "$cache_dir/package"
    tar -xzf "$download_dir/kotlin-compiler-$KOTLIN_COMPILER_VERSION.tgz" -C "$cache_dir"
    rm -rf "$download_dir"
}

if [[ -n "${KOTLINC_HOME:-}" ]]; then
    [[ -x "$KOTLINC_HOME/bin/kotlinc" ]] || fail "KOTLINC_HOME=$KOTLINC_HOME has no bin/kotlinc"
else
    compiler_cache="${SHAREPAY_CACHE:-$HOME/.cache/sharepay}/kotlin-compiler"
    KOTLINC_HOME="$compiler_cache/package"
    [[ -x "$KOTLINC_HOME/bin/kotlinc" ]] || install_kotlin_compiler "$compiler_cache"
fi
kotlin_lib="$KOTLINC_HOME/lib"

# JNA and JUnit 4 come from Debian packages, and JUnit 4 needs hamcrest-core at run time.
java_jars=("$JAVA_DIR/jna.jar" "$JAVA_DIR/junit4.jar" "$JAVA_DIR/hamcrest-core.jar")
missing_jars=()
for jar in "${java_jars[@]}"; do
    [[ -f "$jar" ]] || missing_jars+=("$jar")
done
if [[ ${#missing_jars[@]} -gt 0 ]]; then
    if [[ $EUID -ne 0 ]]; then
        fail "missing ${missing_jars[*]}; install them with: sudo apt-get install -y libjna-java junit4"
    fi
    echo "kotlin-jvm: installing libjna-java and junit4 with apt-get" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjna-java junit4 >/dev/null
fi

library_jars=(
    "$JAVA_DIR/jna.jar"
    "$kotlin_lib/kotlinx-coroutines-core-jvm.jar"
    "$kotlin_lib/kotlin-test.jar"
    "$kotlin_lib/kotlin-test-junit.jar"
    "$JAVA_DIR/junit4.jar"
    "$JAVA_DIR/hamcrest-core.jar"
)
compile_classpath="$(IFS=:; echo "${library_jars[*]}")"
run_classpath="$classes_dir:$kotlin_lib/kotlin-stdlib.jar:$compile_classpath"

# One kotlinc invocation for everything, because each start of the compiler
# costs about 20 seconds and 640 MB of memory (measured with /usr/bin/time on a
# 2-core Debian 12 machine).
rm -rf "$classes_dir"
mkdir -p "$classes_dir"
echo "kotlin-jvm: compiling $generated_dir, $sdk_dir/src/main/kotlin and $sdk_dir/src/test/kotlin"
if ! "$KOTLINC_HOME/bin/kotlinc" \
    -jvm-target 17 \
    -classpath "$compile_classpath" \
    -d "$classes_dir" \
    "$generated_dir" \
    "$sdk_dir/src/main/kotlin" \
    "$sdk_dir/src/test/kotlin"; then
    fail "kotlinc failed; see the errors above"
fi

# Test classes are the top-level classes compiled from src/test/kotlin, found by
# the Kotlin convention that a file's directory matches its package.
test_classes=()
while IFS= read -r source_file; do
    relative="${source_file#"$sdk_dir/src/test/kotlin/"}"
    class_name="${relative%.kt}"
    if [[ -f "$classes_dir/$class_name.class" ]]; then
        test_classes+=("${class_name//\//.}")
    fi
done < <(find "$sdk_dir/src/test/kotlin" -name '*Test.kt' | sort)
[[ ${#test_classes[@]} -gt 0 ]] || fail "no compiled test classes found for $sdk_dir/src/test/kotlin"

echo "kotlin-jvm: running ${test_classes[*]}"
report="$build_dir/junit-report.txt"
junit_status=0
java \
    -Djna.library.path="$native_lib_dir" \
    -cp "$run_classpath" \
    org.junit.runner.JUnitCore \
    "${test_classes[@]}" | tee "$report" || junit_status=$?

# JUnit 4 ends with "OK (N tests)" or "Tests run: N,  Failures: M".
if ok_line="$(grep -E '^OK \([0-9]+ tests?\)' "$report")"; then
    passed="$(grep -oE '[0-9]+' <<<"$ok_line" | head -n 1)"
    failed=0
elif summary_line="$(grep -E '^Tests run: [0-9]+, +Failures: [0-9]+' "$report")"; then
    run="$(sed -E 's/^Tests run: ([0-9]+),.*/\1/' <<<"$summary_line")"
    failed="$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary_line")"
    passed=$((run - failed))
else
    fail "JUnit printed no summary line (exit status $junit_status); see $report"
fi

echo "kotlin-jvm: $passed passed, $failed failed"
if [[ $junit_status -ne 0 || $failed -ne 0 ]]; then
    exit 1
fi

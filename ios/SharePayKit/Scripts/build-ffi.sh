#!/usr/bin/env bash
# Builds the Rust core for Apple platforms and places the generated parts into
# the SharePayKit package:
#   Frameworks/SharePayFFIFFI.xcframework      static libraries, C header, module map
#   Sources/SharePayFFI/SharePayFFI.swift       UniFFI Swift bindings
#
# Usage: ios/SharePayKit/Scripts/build-ffi.sh [debug|release]   (default: release)
#
# Runs on macOS with Xcode's command line tools and rustup.
# NOTE: written without a Mac at hand, so this script has only been checked
# with `bash -n`; the first run on macOS may need fixes.
set -euo pipefail

profile="${1:-release}"
if [[ "$profile" != "debug" && "$profile" != "release" ]]; then
    echo "usage: $0 [debug|release]" >&2
    exit 2
fi

package_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_root="$(cd "$package_dir/../.." && pwd)"
work_dir="$repo_root/build/apple"
generated_dir="$repo_root/build/generated/swift"
cd "$repo_root"

# Apple platforms have no system OpenSSL for SQLCipher, so every Apple build
# compiles its own with the vendored-openssl feature.
# macOS ships bash 3.2, where "${empty_array[@]}" fails under set -u, so the
# release flag is appended rather than kept in a possibly empty array.
cargo_flags=(-p sharepay-ffi --features vendored-openssl)
if [[ "$profile" == "release" ]]; then
    cargo_flags+=(--release)
fi

# The same minimum versions as Package.swift, so that the C code compiled for
# SQLCipher and OpenSSL does not target a newer OS than the app links for.
export IPHONEOS_DEPLOYMENT_TARGET=16.0
export MACOSX_DEPLOYMENT_TARGET=13.0
ios_device_target="aarch64-apple-ios"
ios_simulator_targets=(aarch64-apple-ios-sim x86_64-apple-ios)
macos_targets=(aarch64-apple-darwin x86_64-apple-darwin)
all_targets=("$ios_device_target" "${ios_simulator_targets[@]}" "${macos_targets[@]}")

rustup target add "${all_targets[@]}"
for target in "${all_targets[@]}"; do
    cargo build "${cargo_flags[@]}" --lib --target "$target"
done

static_library() {
    echo "$repo_root/target/$1/$profile/libsharepay_ffi.a"
}

# Swift bindings: uniffi-bindgen reads the interface from the library file
# without loading it, and the interface is the same for every target. It is
# built for the Mac's own target triple, which is one of the macOS targets
# above, so cargo reuses that build instead of compiling OpenSSL once more.
host_target="$(rustc -vV | sed -n 's/^host: //p')"
cargo run -q "${cargo_flags[@]}" --target "$host_target" --bin uniffi-bindgen -- \
    generate --no-format \
    --library "$repo_root/target/$host_target/$profile/libsharepay_ffi.dylib" \
    --language swift --out-dir "$generated_dir"

# Each XCFramework slice gets the C header and the module map under a folder
# named after the module, so that the module map does not collide with those
# of other static XCFrameworks in the app's build products.
rm -rf "$work_dir"
headers_dir="$work_dir/headers"
mkdir -p "$headers_dir/SharePayFFIFFI" "$work_dir/ios-simulator" "$work_dir/macos"
cp "$generated_dir/SharePayFFIFFI.h" "$headers_dir/SharePayFFIFFI/"
cp "$generated_dir/SharePayFFIFFI.modulemap" "$headers_dir/SharePayFFIFFI/module.modulemap"

# An XCFramework takes one library per platform, so the two simulator and the
# two macOS architectures are merged into universal libraries first.
simulator_libraries=()
for target in "${ios_simulator_targets[@]}"; do
    simulator_libraries+=("$(static_library "$target")")
done
macos_libraries=()
for target in "${macos_targets[@]}"; do
    macos_libraries+=("$(static_library "$target")")
done
lipo -create "${simulator_libraries[@]}" -output "$work_dir/ios-simulator/libsharepay_ffi.a"
lipo -create "${macos_libraries[@]}" -output "$work_dir/macos/libsharepay_ffi.a"

xcframework="$package_dir/Frameworks/SharePayFFIFFI.xcframework"
rm -rf "$xcframework"
xcodebuild -create-xcframework \
    -library "$(static_library "$ios_device_target")" -headers "$headers_dir" \
    -library "$work_dir/ios-simulator/libsharepay_ffi.a" -headers "$headers_dir" \
    -library "$work_dir/macos/libsharepay_ffi.a" -headers "$headers_dir" \
    -output "$xcframework"

mkdir -p "$package_dir/Sources/SharePayFFI"
cp "$generated_dir/SharePayFFI.swift" "$package_dir/Sources/SharePayFFI/SharePayFFI.swift"

echo "build-ffi: wrote $xcframework and Sources/SharePayFFI/SharePayFFI.swift ($profile)"

// swift-tools-version: 5.9

import PackageDescription

// The Rust core reaches Swift in two generated parts, built by the steps in
// README.md and never committed:
//   - Frameworks/SharePayFFIFFI.xcframework: libsharepay_ffi.a for each Apple
//     platform, with the C header and module map of the `SharePayFFIFFI`
//     module that UniFFI generates.
//   - Sources/SharePayFFI/SharePayFFI.swift: the UniFFI Swift bindings, which
//     import `SharePayFFIFFI`.
// SharePayKit contains the platform pieces (the Keychain key wrapper) and no
// business rules.
let package = Package(
    name: "SharePayKit",
    platforms: [
        .iOS(.v16),
        .macOS(.v13),
    ],
    products: [
        // Apps import SharePayFFI for the client API and SharePayKit for the
        // platform pieces it needs.
        .library(name: "SharePayKit", targets: ["SharePayKit", "SharePayFFI"]),
    ],
    targets: [
        .binaryTarget(
            name: "SharePayFFIFFI",
            path: "Frameworks/SharePayFFIFFI.xcframework"
        ),
        .target(
            name: "SharePayFFI",
            dependencies: ["SharePayFFIFFI"],
            path: "Sources/SharePayFFI"
        ),
        .target(
            name: "SharePayKit",
            dependencies: ["SharePayFFI"],
            path: "Sources/SharePayKit"
        ),
    ]
)

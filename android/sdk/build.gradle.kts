// The SharePay SDK as a plain Kotlin/JVM library: the UniFFI bindings plus the
// idiomatic layer in src/main. It runs on the desktop JVM against the
// host-built Rust library, and the app module packages it for Android with
// JNA's AAR and the .so files for each ABI.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

// The repository root is the folder above android/.
val repoRoot = rootDir.parentFile
val generatedKotlinDir = repoRoot.resolve("build/generated/kotlin")

// libsharepay_ffi.so on Linux, libsharepay_ffi.dylib on macOS.
val hostLibrary = repoRoot.resolve("target/debug/" + System.mapLibraryName("sharepay_ffi"))

// Builds the Rust library for this machine. The bindings are read from it, and
// the JVM tests load it.
val cargoBuildHost by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libsharepay_ffi for the host with cargo (debug profile)."
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "sharepay-ffi", "--lib")
    inputs.dir(repoRoot.resolve("bindings/src"))
    inputs.dir(repoRoot.resolve("core"))
    outputs.file(hostLibrary)
}

// Generated and not committed: uniffi-bindgen reads the exported interface from
// the built library and writes app/sharepay/ffi/sharepay_ffi.kt.
val generateKotlinBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings into build/generated/kotlin."
    dependsOn(cargoBuildHost)
    workingDir = repoRoot
    commandLine(
        "cargo", "run", "-q", "-p", "sharepay-ffi", "--bin", "uniffi-bindgen", "--",
        "generate", "--no-format",
        "--library", hostLibrary.absolutePath,
        "--language", "kotlin",
        "--out-dir", generatedKotlinDir.absolutePath,
    )
    inputs.file(hostLibrary)
    inputs.file(repoRoot.resolve("bindings/uniffi.toml"))
    outputs.dir(generatedKotlinDir)
}

kotlin {
    jvmToolchain(17)
    sourceSets {
        main {
            kotlin.srcDir(generatedKotlinDir)
        }
    }
}

tasks.named("compileKotlin") {
    dependsOn(generateKotlinBindings)
}

dependencies {
    implementation(libs.jna)
    api(libs.kotlinx.coroutines.core)

    testImplementation(libs.junit)
    testImplementation(libs.kotlin.test.junit)
}

tasks.test {
    // JNA loads libsharepay_ffi from here. The server connection comes from
    // the SHAREPAY_TEST_* environment variables.
    systemProperty("jna.library.path", hostLibrary.parentFile.absolutePath)
}

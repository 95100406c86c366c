// The SharePay SDK as a plain Kotlin/JVM library: the UniFFI bindings plus
// small platform helpers. It runs on the desktop JVM against the host-built
// Rust library. Packaging it as an Android library (JNA's AAR and the .so
// files for each ABI) comes with the app module.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

// The repository root is the folder above android/.
val repoRoot = rootDir.parentFile

kotlin {
    jvmToolchain(17)
    sourceSets {
        // Generated and not committed. From the repository root, after building sharepay-ffi:
        // cargo run -q -p sharepay-ffi --bin uniffi-bindgen -- generate --no-format
        //     --library target/debug/libsharepay_ffi.so --language kotlin
        //     --out-dir build/generated/kotlin
        main {
            kotlin.srcDir(repoRoot.resolve("build/generated/kotlin"))
        }
    }
}

dependencies {
    implementation(libs.jna)
    implementation(libs.kotlinx.coroutines.core)

    testImplementation(libs.junit)
    testImplementation(libs.kotlin.test.junit)
}

tasks.test {
    // JNA loads libsharepay_ffi.so from here. The server connection comes
    // from the SHAREPAY_TEST_* environment variables.
    systemProperty("jna.library.path", repoRoot.resolve("target/debug").absolutePath)
}

// The SharePay Android app: Jetpack Compose over the sdk module, with the Rust
// core built for each Android ABI by cargo-ndk.
// NOTE: not built on the development machines, which have no Android SDK. AGP 9
// compiles Kotlin itself, so only the Compose compiler plugin is applied.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.compose)
}

val repoRoot = rootDir.parentFile
val rustJniLibsDir = layout.buildDirectory.dir("generated/rustJniLibs")

// The server the app talks to, from Gradle properties (for example in
// ~/.gradle/gradle.properties or with -P on the command line):
//   sharepay.baseUrl            https://127.0.0.1:8443
//   sharepay.caCertificateFile  path of the server's ca.pem
//   sharepay.spkiPins           comma-separated base64 SPKI SHA-256 pins
//   sharepay.vaultUrl           the card vault's own address (the vault-listening line)
//   sharepay.vaultCaCertificateFile  path of the vault's ca.pem
//   sharepay.vaultSpkiPins      the vault's comma-separated pins
fun sharePayProperty(name: String): String =
    providers.gradleProperty("sharepay.$name").orNull.orEmpty()

fun kotlinStringLiteral(value: String): String =
    "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""

fun pemFromProperty(name: String): String = sharePayProperty(name)
    .takeIf { it.isNotEmpty() }
    ?.let { file(it).readText() }
    .orEmpty()

android {
    namespace = "app.sharepay.android"
    compileSdk = 36

    defaultConfig {
        applicationId = "app.sharepay.android"
        // 28: StrongBox Keymaster and Credential Manager passkeys need Android 9.
        minSdk = 28
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"

        buildConfigField("String", "SHAREPAY_BASE_URL", kotlinStringLiteral(sharePayProperty("baseUrl")))
        buildConfigField("String", "SHAREPAY_CA_PEM", kotlinStringLiteral(pemFromProperty("caCertificateFile")))
        buildConfigField("String", "SHAREPAY_SPKI_PINS", kotlinStringLiteral(sharePayProperty("spkiPins")))
        buildConfigField("String", "SHAREPAY_VAULT_URL", kotlinStringLiteral(sharePayProperty("vaultUrl")))
        buildConfigField(
            "String",
            "SHAREPAY_VAULT_CA_PEM",
            kotlinStringLiteral(pemFromProperty("vaultCaCertificateFile")),
        )
        buildConfigField("String", "SHAREPAY_VAULT_SPKI_PINS", kotlinStringLiteral(sharePayProperty("vaultSpkiPins")))
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildFeatures {
        compose = true
        buildConfig = true
    }

    sourceSets {
        getByName("main") {
            jniLibs.srcDir(rustJniLibsDir)
        }
    }
}

// Builds libsharepay_ffi.so for each ABI into build/generated/rustJniLibs/<abi>/.
// Android has no system OpenSSL for SQLCipher, so OpenSSL is compiled in
// (vendored-openssl), which takes several minutes per ABI on a cold cache.
// -Psharepay.cargoProfile=debug builds unoptimised libraries instead.
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds the Rust core for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk."
    val release = sharePayProperty("cargoProfile") != "debug"
    workingDir = repoRoot
    commandLine(
        buildList {
            addAll(listOf("cargo", "ndk"))
            addAll(listOf("-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64"))
            addAll(listOf("-o", rustJniLibsDir.get().asFile.absolutePath))
            addAll(listOf("build", "-p", "sharepay-ffi", "--lib", "--features", "vendored-openssl"))
            if (release) add("--release")
        },
    )
    inputs.dir(repoRoot.resolve("bindings/src"))
    inputs.dir(repoRoot.resolve("core"))
    outputs.dir(rustJniLibsDir)
}

tasks.named("preBuild") {
    dependsOn(cargoNdkBuild)
}

dependencies {
    // The sdk depends on JNA's desktop jar. Android needs the AAR, which
    // carries libjnidispatch.so for each ABI.
    implementation(project(":sdk")) {
        exclude(group = "net.java.dev.jna", module = "jna")
    }
    implementation(libs.jna) {
        artifact { type = "aar" }
    }

    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.navigation.compose)
    implementation(libs.androidx.credentials)
    // Passkeys on Android 13 and lower go through Google Play services.
    implementation(libs.androidx.credentials.play.services.auth)
    implementation(libs.kotlinx.coroutines.android)

    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.material3)
    implementation(libs.compose.ui.tooling.preview)
    debugImplementation(libs.compose.ui.tooling)
}

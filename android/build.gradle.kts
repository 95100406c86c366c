// Root of the SharePay Android build. The plugins are declared here once, so
// that every module resolves them from the same class loader.
// NOTE: the Android plugin has not been built on the development machines,
// which have no Android SDK; see gradle/libs.versions.toml.
plugins {
    alias(libs.plugins.kotlin.jvm) apply false
    alias(libs.plugins.kotlin.compose) apply false
    alias(libs.plugins.android.application) apply false
}

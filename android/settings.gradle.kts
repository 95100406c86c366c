// Gradle build of the SharePay Android side: `sdk` is the Kotlin/JVM library
// over the UniFFI bindings, `app` the Compose app that packages it.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "sharepay-android"

include(":sdk")
include(":app")

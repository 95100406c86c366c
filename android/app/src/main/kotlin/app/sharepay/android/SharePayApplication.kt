package app.sharepay.android

import android.app.Application

/** Holds the [AppContainer] for the whole process. */
class SharePayApplication : Application() {
    lateinit var container: AppContainer
        private set

    override fun onCreate() {
        super.onCreate()
        container = AppContainer(this)
        registerActivityLifecycleCallbacks(container.foregroundActivity)
    }
}

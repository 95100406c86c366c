package app.sharepay.android.platform

import android.content.Context
import android.os.Build
import java.util.Locale
import java.util.TimeZone

/** Attributes of this phone that the core sends with each login for its device fingerprint. */
data class DeviceInfo(
    val platform: String,
    val osVersion: String,
    val model: String,
    val appVersion: String,
    /** BCP 47 language tag, such as `de-AT`. */
    val locale: String,
    /** IANA time zone id, such as `Europe/Vienna`. */
    val timeZone: String,
)

/**
 * Reads [DeviceInfo] from the Android platform. It only reads attributes, and the core decides
 * what the fingerprint contains.
 *
 * TODO: implement the bindings' DeviceInfoProvider foreign trait and pass this to SharePay.open,
 * once the core exports it.
 */
class AndroidDeviceInfoProvider(private val context: Context) {

    fun deviceInfo(): DeviceInfo = DeviceInfo(
        platform = "android",
        osVersion = "${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
        model = "${Build.MANUFACTURER} ${Build.MODEL}",
        appVersion = appVersion(),
        locale = Locale.getDefault().toLanguageTag(),
        timeZone = TimeZone.getDefault().id,
    )

    private fun appVersion(): String {
        val info = context.packageManager.getPackageInfo(context.packageName, 0)
        return "${info.versionName} (${info.longVersionCode})"
    }
}

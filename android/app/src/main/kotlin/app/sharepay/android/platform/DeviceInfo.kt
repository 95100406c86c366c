package app.sharepay.android.platform

import android.content.Context
import android.os.Build
import app.sharepay.ffi.DeviceInfo
import app.sharepay.ffi.DeviceInfoProvider
import java.util.Locale
import java.util.TimeZone

/**
 * Reads the attributes of this phone that the core hashes into the device fingerprint sent with
 * each login. It only reads attributes, and the core decides what the fingerprint contains.
 */
class AndroidDeviceInfoProvider(private val context: Context) : DeviceInfoProvider {

    override fun deviceInfo(): DeviceInfo = DeviceInfo(
        platform = "android",
        osVersion = "${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
        model = "${Build.MANUFACTURER} ${Build.MODEL}",
        appVersion = appVersion(),
        // BCP 47 language tag, such as `de-AT`.
        locale = Locale.getDefault().toLanguageTag(),
        // IANA time zone id, such as `Europe/Vienna`.
        timeZone = TimeZone.getDefault().id,
        extra = emptyMap(),
    )

    private fun appVersion(): String {
        val info = context.packageManager.getPackageInfo(context.packageName, 0)
        return "${info.versionName} (${info.longVersionCode})"
    }
}

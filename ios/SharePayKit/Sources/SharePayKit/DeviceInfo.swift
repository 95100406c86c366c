import Foundation
import SharePayFFI
#if canImport(UIKit)
import UIKit
#endif

/// Reads the attributes of this device that the core hashes into the device
/// fingerprint sent with each login. It only reads attributes, and the core
/// decides what the fingerprint contains.
///
/// The core calls `deviceInfo()` from one of its own threads, so the
/// attributes that only the main actor may read (the system name) are read
/// once, when the provider is created on the main actor.
public final class AppleDeviceInfoProvider: DeviceInfoProvider {
    private let platform: String
    private let appVersion: String

    @MainActor
    public init(bundle: Bundle = .main) {
        platform = Self.platformName()
        appVersion = Self.appVersion(bundle)
    }

    public func deviceInfo() -> DeviceInfo {
        DeviceInfo(
            platform: platform,
            osVersion: ProcessInfo.processInfo.operatingSystemVersionString,
            model: Self.hardwareModel(),
            appVersion: appVersion,
            // BCP 47 language tag, such as `de-AT`.
            locale: Locale.current.identifier(.bcp47),
            // IANA time zone id, such as `Europe/Vienna`.
            timeZone: TimeZone.current.identifier,
            extra: [:]
        )
    }

    @MainActor
    private static func platformName() -> String {
        #if canImport(UIKit)
        return UIDevice.current.systemName.lowercased()
        #else
        return "macos"
        #endif
    }

    // The machine identifier from uname, for example "iPhone16,2". The
    // Simulator reports the Mac's architecture, such as "arm64".
    private static func hardwareModel() -> String {
        var system = utsname()
        uname(&system)
        return withUnsafeBytes(of: &system.machine) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func appVersion(_ bundle: Bundle) -> String {
        let version = bundle.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String ?? "unknown"
        let build = bundle.object(forInfoDictionaryKey: "CFBundleVersion") as? String ?? "unknown"
        return "\(version) (\(build))"
    }
}

import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Attributes of this device that the core sends with each login for its
/// device fingerprint.
public struct DeviceInfo: Sendable, Equatable {
    public var platform: String
    public var osVersion: String
    /// Hardware identifier, such as `iPhone16,2`.
    public var model: String
    public var appVersion: String
    /// BCP 47 language tag, such as `de-AT`.
    public var locale: String
    /// IANA time zone id, such as `Europe/Vienna`.
    public var timeZone: String
}

/// Reads `DeviceInfo` from the platform. It only reads attributes, and the
/// core decides what the fingerprint contains.
///
/// TODO: conform to the bindings' DeviceInfoProvider foreign trait and pass it
/// to `SharePay.open` once the core exports it.
public struct AppleDeviceInfoProvider: Sendable {
    public init() {}

    @MainActor
    public func deviceInfo(bundle: Bundle = .main) -> DeviceInfo {
        DeviceInfo(
            platform: Self.platform,
            osVersion: ProcessInfo.processInfo.operatingSystemVersionString,
            model: Self.hardwareModel(),
            appVersion: Self.appVersion(bundle),
            locale: Locale.current.identifier(.bcp47),
            timeZone: TimeZone.current.identifier
        )
    }

    @MainActor
    private static var platform: String {
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

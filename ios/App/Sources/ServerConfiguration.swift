import Foundation
import SharePayKit

/// Reads the server address and pins from Info.plist (set through
/// Config/Server.xcconfig) and the CA certificate from the app bundle.
enum ServerConfiguration {
    enum LoadError: LocalizedError {
        case missing(String)

        var errorDescription: String? {
            switch self {
            case let .missing(what):
                return "The app is not configured: \(what) is missing. Set it in ios/App/Config/Local.xcconfig and rebuild."
            }
        }
    }

    static func load(bundle: Bundle = .main) throws -> SharePayConfig {
        guard let baseURL = bundle.object(forInfoDictionaryKey: "SharePayBaseURL") as? String, !baseURL.isEmpty else {
            throw LoadError.missing("SHAREPAY_BASE_URL")
        }
        let pins = (bundle.object(forInfoDictionaryKey: "SharePaySPKIPins") as? String ?? "")
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !pins.isEmpty else {
            throw LoadError.missing("SHAREPAY_SPKI_PINS")
        }
        guard let caURL = bundle.url(forResource: "sharepay-ca", withExtension: "pem"),
              let caPEM = try? String(contentsOf: caURL, encoding: .utf8)
        else {
            throw LoadError.missing("Config/sharepay-ca.pem")
        }
        return SharePayConfig(baseURL: baseURL, caCertificatePEM: caPEM, spkiPins: pins, dataDirectory: try dataDirectory())
    }

    /// Application Support/SharePay, excluded from backups. The files are
    /// protected until the first unlock, not while locked, so that an open
    /// store keeps working when the screen locks mid-sync. They are SQLCipher
    /// files, and KeychainKeyWrapper releases their key only while unlocked.
    private static func dataDirectory() throws -> URL {
        var directory = try FileManager.default
            .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("SharePay", isDirectory: true)
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication]
        )
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try directory.setResourceValues(values)
        return directory
    }
}

import Foundation
import SharePayFFI
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
        let pins = pinList(bundle, key: "SharePaySPKIPins")
        guard !pins.isEmpty else {
            throw LoadError.missing("SHAREPAY_SPKI_PINS")
        }
        guard let caPEM = bundledPEM(bundle, name: "sharepay-ca") else {
            throw LoadError.missing("Config/sharepay-ca.pem")
        }
        return SharePayConfig(
            baseURL: baseURL,
            caCertificatePEM: caPEM,
            spkiPins: pins,
            dataDirectory: try dataDirectory(),
            vault: try vault(bundle)
        )
    }

    // A build without a vault address can do everything except save a card.
    private static func vault(_ bundle: Bundle) throws -> VaultEndpoint? {
        guard let url = bundle.object(forInfoDictionaryKey: "SharePayVaultURL") as? String, !url.isEmpty else {
            return nil
        }
        guard let caPEM = bundledPEM(bundle, name: "sharepay-vault-ca") else {
            throw LoadError.missing("Config/sharepay-vault-ca.pem")
        }
        return VaultEndpoint(baseUrl: url, caCertificatePem: caPEM, spkiPins: pinList(bundle, key: "SharePayVaultSPKIPins"))
    }

    private static func pinList(_ bundle: Bundle, key: String) -> [String] {
        (bundle.object(forInfoDictionaryKey: key) as? String ?? "")
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    private static func bundledPEM(_ bundle: Bundle, name: String) -> String? {
        guard let url = bundle.url(forResource: name, withExtension: "pem") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
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

import CryptoKit
import Foundation
import Security
import SharePayFFI

/// A `KeyWrapper` that seals the SharePay store key with AES-256-GCM under a
/// wrapping key kept in the Keychain.
///
/// The wrapping key is a 256-bit CryptoKit `SymmetricKey` stored as a generic
/// password item with `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`. It is
/// readable only while the device is unlocked, and it is neither synced to
/// iCloud Keychain nor restored from a backup onto another device.
/// `wrapKey(key:)` creates the wrapping key on first use, and
/// `unwrapKey(wrapped:)` never creates one.
///
/// A wrapped key is CryptoKit's combined sealed box: the 12-byte nonce, the
/// ciphertext and the 16-byte tag. Every failure is thrown as
/// `SharePayError.KeyWrapping`, so the Rust core receives a typed error.
///
/// NOTE: On devices with a Secure Enclave the wrapping key could stay inside
/// the enclave instead: a P-256 key created there
/// (`SecureEnclave.P256.KeyAgreement.PrivateKey`, or a `SecKey` with
/// `kSecAttrTokenIDSecureEnclave`) wraps the store key with ECIES through
/// `SecKeyCreateEncryptedData` and
/// `.eciesEncryptionCofactorVariableIVX963SHA256AESGCM`. This class keeps a
/// Keychain key because it must also run on the Simulator and on Macs without
/// a Secure Enclave.
public final class KeychainKeyWrapper: KeyWrapper {
    private static let keyByteCount = 32

    // Binds each sealed box to its purpose, so that a box sealed under the
    // same key for anything else cannot be passed off as a wrapped store key.
    private static let associatedData = Data("sharepay store key v1".utf8)

    private let service: String
    private let account: String

    /// Creates a wrapper whose wrapping key is the Keychain item with this
    /// service and account. Use one account per SharePay data directory.
    public init(service: String = "app.sharepay.store-key", account: String = "wrapping-key") {
        self.service = service
        self.account = account
    }

    public func wrapKey(key: Data) throws -> Data {
        let wrappingKey = try loadOrCreateWrappingKey()

        let sealedBox: AES.GCM.SealedBox
        do {
            sealedBox = try AES.GCM.seal(key, using: wrappingKey, authenticating: Self.associatedData)
        } catch {
            throw SharePayError.KeyWrapping(reason: "AES-GCM sealing failed: \(error)")
        }

        // `combined` is nil only for nonces that are not 12 bytes long, and
        // `seal` uses a random 12-byte nonce.
        guard let combined = sealedBox.combined else {
            throw SharePayError.KeyWrapping(reason: "AES-GCM sealed box has no combined form")
        }
        return combined
    }

    public func unwrapKey(wrapped: Data) throws -> Data {
        guard let wrappingKey = try readWrappingKey() else {
            throw SharePayError.KeyWrapping(
                reason: "wrapping key not found in the Keychain (service \(service), account \(account))"
            )
        }

        do {
            let sealedBox = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(sealedBox, using: wrappingKey, authenticating: Self.associatedData)
        } catch {
            // A wrong wrapping key and a modified box both end here as a failed tag check.
            throw SharePayError.KeyWrapping(reason: "AES-GCM opening failed: \(error)")
        }
    }

    // MARK: - Keychain

    private var itemQuery: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            // On macOS this selects the iOS-style keychain, where the
            // accessibility attribute applies.
            kSecUseDataProtectionKeychain as String: true,
        ]
    }

    private func loadOrCreateWrappingKey() throws -> SymmetricKey {
        if let existing = try readWrappingKey() {
            return existing
        }

        let created = SymmetricKey(size: .bits256)
        var query = itemQuery
        query[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        query[kSecValueData as String] = created.withUnsafeBytes { Data($0) }

        let status = SecItemAdd(query as CFDictionary, nil)
        switch status {
        case errSecSuccess:
            return created
        case errSecDuplicateItem:
            // Another call stored a key between the read and the add, so use that key.
            if let existing = try readWrappingKey() {
                return existing
            }
            throw SharePayError.KeyWrapping(reason: "Keychain reported a duplicate wrapping key that cannot be read")
        default:
            throw Self.keychainError("storing the wrapping key", status)
        }
    }

    private func readWrappingKey() throws -> SymmetricKey? {
        var query = itemQuery
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne

        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data, data.count == Self.keyByteCount else {
                throw SharePayError.KeyWrapping(
                    reason: "Keychain item (service \(service), account \(account)) is not a \(Self.keyByteCount)-byte key"
                )
            }
            return SymmetricKey(data: data)
        case errSecItemNotFound:
            return nil
        default:
            throw Self.keychainError("reading the wrapping key", status)
        }
    }

    private static func keychainError(_ operation: String, _ status: OSStatus) -> SharePayError {
        let description = SecCopyErrorMessageString(status, nil) as String? ?? "unknown error"
        return SharePayError.KeyWrapping(reason: "Keychain failed \(operation): \(description) (OSStatus \(status))")
    }
}

import Foundation

/// The parts of the WebAuthn JSON documents that AuthenticationServices needs,
/// and the response documents it produces. Binary fields are base64url
/// without padding, as WebAuthn Level 3 serializes them.
enum WebAuthnJSON {
    static func decode<T: Decodable>(_ type: T.Type, from json: String) throws -> T {
        let decoder = JSONDecoder()
        let data = Data(json.utf8)
        // webauthn-rs wraps the options in {"publicKey": ...}, and Credential
        // Manager takes them bare, so both forms are read.
        if let wrapped = try? decoder.decode(PublicKeyWrapper<T>.self, from: data) {
            return wrapped.publicKey
        }
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw PasskeyRequestError.invalidRequest(field: "options")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func bytes(_ base64URL: String, field: String) throws -> Data {
        var base64 = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else {
            throw PasskeyRequestError.invalidRequest(field: field)
        }
        return data
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

private struct PublicKeyWrapper<T: Decodable>: Decodable {
    let publicKey: T
}

struct CreationOptions: Decodable {
    struct RelyingParty: Decodable { let id: String }
    struct User: Decodable { let id: String; let name: String }
    struct Selection: Decodable { let userVerification: String? }

    let rp: RelyingParty
    let user: User
    let challenge: String
    let authenticatorSelection: Selection?
}

struct RequestOptions: Decodable {
    struct Descriptor: Decodable { let id: String }

    let rpId: String
    let challenge: String
    let allowCredentials: [Descriptor]?
    let userVerification: String?
}

struct RegistrationResponse: Encodable {
    struct Body: Encodable {
        let clientDataJSON: String
        let attestationObject: String
    }

    let id: String
    let rawId: String
    let type = "public-key"
    let authenticatorAttachment = "platform"
    let response: Body
    let clientExtensionResults: [String: String] = [:]

    init(credentialID: Data, clientDataJSON: Data, attestationObject: Data) {
        id = WebAuthnJSON.base64URL(credentialID)
        rawId = id
        response = Body(
            clientDataJSON: WebAuthnJSON.base64URL(clientDataJSON),
            attestationObject: WebAuthnJSON.base64URL(attestationObject)
        )
    }
}

struct AuthenticationResponse: Encodable {
    struct Body: Encodable {
        let clientDataJSON: String
        let authenticatorData: String
        let signature: String
        let userHandle: String
    }

    let id: String
    let rawId: String
    let type = "public-key"
    let authenticatorAttachment = "platform"
    let response: Body
    let clientExtensionResults: [String: String] = [:]

    init(credentialID: Data, clientDataJSON: Data, authenticatorData: Data, signature: Data, userHandle: Data) {
        id = WebAuthnJSON.base64URL(credentialID)
        rawId = id
        response = Body(
            clientDataJSON: WebAuthnJSON.base64URL(clientDataJSON),
            authenticatorData: WebAuthnJSON.base64URL(authenticatorData),
            signature: WebAuthnJSON.base64URL(signature),
            userHandle: WebAuthnJSON.base64URL(userHandle)
        )
    }
}

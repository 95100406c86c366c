package app.sharepay.sdk

import app.sharepay.ffi.VaultEndpoint

/**
 * Where the client connects and where it keeps its encrypted store.
 *
 * [spkiPins] are base64 SHA-256 hashes of the server's SubjectPublicKeyInfo, the current key
 * first and a backup key second, so the server can rotate keys without an app update. [vault] is
 * the card vault's own endpoint with its own pins; without it saving a card fails and every
 * other call works.
 */
data class SharePayConfig(
    val baseUrl: String,
    val caCertificatePem: String,
    val spkiPins: List<String>,
    val dataDir: String,
    val vault: VaultEndpoint? = null,
)

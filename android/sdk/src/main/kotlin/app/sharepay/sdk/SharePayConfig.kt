package app.sharepay.sdk

/**
 * Where the client connects and where it keeps its encrypted store.
 *
 * [spkiPins] are base64 SHA-256 hashes of the server's SubjectPublicKeyInfo, the current key
 * first and a backup key second, so the server can rotate keys without an app update.
 */
data class SharePayConfig(
    val baseUrl: String,
    val caCertificatePem: String,
    val spkiPins: List<String>,
    val dataDir: String,
)

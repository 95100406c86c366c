import Foundation

/// Thrown by a repository method whose core function the bindings do not
/// export yet. Screens show it as "not available in this build" and never
/// substitute sample data.
struct CoreCallUnavailable: LocalizedError {
    let coreFunction: String

    var errorDescription: String? {
        "Not available in this build yet (the core has no \(coreFunction))."
    }
}

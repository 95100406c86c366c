import SwiftUI

/// The state of data a screen loads from the core.
enum LoadState<Value> {
    case loading
    case loaded(Value)
    case failed(Error)

    /// Runs `operation` and wraps its result or its failure.
    static func from(_ operation: () async throws -> Value) async -> LoadState<Value> {
        do {
            return .loaded(try await operation())
        } catch {
            return .failed(error)
        }
    }

    var value: Value? {
        if case let .loaded(value) = self { return value }
        return nil
    }
}

/// Shows a spinner, the failure, or `content` for a `LoadState`.
struct LoadStateView<Value, Content: View>: View {
    let state: LoadState<Value>
    @ViewBuilder let content: (Value) -> Content

    var body: some View {
        switch state {
        case .loading:
            ProgressView()
        case let .failed(error):
            ErrorText(error: error)
        case let .loaded(value):
            content(value)
        }
    }
}

struct ErrorText: View {
    let error: Error

    var body: some View {
        Text(errorMessage(error)).foregroundStyle(.red)
    }
}

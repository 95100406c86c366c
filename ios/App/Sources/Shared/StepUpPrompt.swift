import SharePayKit
import SwiftUI

/// Offers the step-up check when `error` is the core's `stepUpRequired`, so
/// the user can pass it and try again. Shows nothing for other errors.
struct StepUpPrompt: View {
    let error: Error

    var body: some View {
        if case let SharePay.Error.stepUpRequired(methods, _) = error {
            NavigationLink("Confirm it's you", value: Route.stepUp(methods: MfaMethod.known(methods)))
        }
    }
}

import SwiftUI

/// Hides a payment screen while iOS could capture it: when the app leaves the
/// foreground (the app switcher snapshot) and while the scene is recorded,
/// mirrored or shared. iOS has no equivalent of Android's FLAG_SECURE, and a
/// still screenshot cannot be blocked.
struct PrivacyShield: ViewModifier {
    @Environment(\.scenePhase) private var scenePhase
    @Environment(\.isSceneCaptured) private var isSceneCaptured

    func body(content: Content) -> some View {
        content.overlay {
            if scenePhase != .active || isSceneCaptured {
                Rectangle()
                    .fill(.background)
                    .overlay { Label("Hidden for your security", systemImage: "lock.fill") }
                    .ignoresSafeArea()
            }
        }
    }
}

extension View {
    func privacyShield() -> some View {
        modifier(PrivacyShield())
    }
}

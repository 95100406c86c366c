import SwiftUI

/// Lists the sections of the app. Each screen loads only what the user's roles
/// allow, because the server decides every access, so the home screen does not
/// filter by role itself.
struct HomeView: View {
    var body: some View {
        List {
            NavigationLink(value: Route.households) {
                entry("Households", "Your households, invitations and members", "house")
            }
            NavigationLink(value: Route.charges) {
                entry("My charges", "What you owe, and paying it", "creditcard")
            }
            NavigationLink(value: Route.readings) {
                entry("Meter readings", "Record readings, even offline", "gauge")
            }
            NavigationLink(value: Route.sessions) {
                entry("Sessions and devices", "Where you are signed in", "iphone")
            }
            NavigationLink(value: Route.totpEnrollment) {
                entry("Authenticator app", "Sign in with codes from an authenticator app", "lock.shield")
            }
        }
        .navigationTitle("SharePay")
    }

    private func entry(_ title: String, _ subtitle: String, _ systemImage: String) -> some View {
        Label {
            VStack(alignment: .leading) {
                Text(title)
                Text(subtitle).font(.caption).foregroundStyle(.secondary)
            }
        } icon: {
            Image(systemName: systemImage)
        }
    }
}

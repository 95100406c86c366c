import SwiftUI

/// Shows the sign-in flow or, once signed in, the home screen with every
/// feature screen on one navigation stack.
struct RootView: View {
    @Environment(AppModel.self) private var model

    var body: some View {
        @Bindable var model = model
        Group {
            if model.signedIn {
                NavigationStack(path: $model.path) {
                    HomeView()
                        .navigationDestination(for: Route.self, destination: destination)
                }
            } else {
                NavigationStack {
                    LoginView(model: LoginModel(auth: model.auth))
                }
            }
        }
        .task { await model.watchSessionEvents() }
    }

    @ViewBuilder
    private func destination(_ route: Route) -> some View {
        switch route {
        case .households:
            HouseholdsView(model: HouseholdsModel(repository: model.households))
        case let .bills(householdID):
            BillsView(model: BillsModel(repository: model.bills, householdID: householdID))
        case let .split(billID):
            SplitProposalView(model: SplitProposalModel(repository: model.bills, billID: billID))
        case .charges:
            ChargesView(model: ChargesModel(repository: model.payments))
        case let .pay(chargeID):
            PayView(model: PayModel(repository: model.payments, chargeID: chargeID))
        case .addCard:
            CardEntryView(model: CardEntryModel(repository: model.payments))
        case .readings:
            ReadingsView(model: ReadingsModel(repository: model.readings))
        case .sessions:
            SessionsView(model: SessionsModel(repository: model.sessions, auth: model.auth))
        case .totpEnrollment:
            TotpEnrollmentView(model: TotpEnrollmentModel(auth: model.auth))
        case let .stepUp(methods):
            MfaView(model: MfaModel(auth: model.auth, methods: methods, purpose: .stepUp))
        }
    }
}

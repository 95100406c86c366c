package app.sharepay.android.data

/**
 * Thrown by a repository method whose core function the bindings do not export yet. Screens
 * show it as "not available in this build" and never substitute sample data.
 */
class CoreCallUnavailable(val coreFunction: String) :
    Exception("$coreFunction is not available in this build of the SharePay core")

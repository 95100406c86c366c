//! Generates the Kotlin, Swift and Python bindings from the built library,
//! so that nothing needs installing globally.

fn main() {
    uniffi::uniffi_bindgen_main()
}

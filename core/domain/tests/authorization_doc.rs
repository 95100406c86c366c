//! Keeps `docs/authorization.md` equal to the rendering of the permission
//! matrix, so the document and the code cannot drift apart.
//!
//! Run with `SHAREPAY_BLESS=1` to rewrite the document from the matrix.

use std::path::PathBuf;

use sharepay_domain::authz::render_markdown;

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/authorization.md")
}

#[test]
fn authorization_doc_matches_matrix() {
    let path = document_path();
    let rendered = render_markdown();
    if std::env::var_os("SHAREPAY_BLESS").is_some_and(|value| value == "1") {
        std::fs::write(&path, &rendered)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "{} differs from the permission matrix in core/domain/src/authz/matrix.rs. \
         Regenerate it with: SHAREPAY_BLESS=1 cargo test -p sharepay-domain --test authorization_doc",
        path.display()
    );
}

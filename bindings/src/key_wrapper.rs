//! The platform's key wrapper as a foreign trait, adapted to the core's
//! [`sharepay_client::KeyWrapper`].

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::SharePayError;

/// Implemented by the app: wraps and unwraps the 32-byte store key with a
/// key that the platform keeps in hardware where it can.
#[uniffi::export(foreign)]
pub trait KeyWrapper: Send + Sync {
    fn wrap_key(&self, key: Vec<u8>) -> Result<Vec<u8>, SharePayError>;
    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, SharePayError>;
}

pub(crate) struct ForeignKeyWrapper(pub(crate) Arc<dyn KeyWrapper>);

impl sharepay_client::KeyWrapper for ForeignKeyWrapper {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, sharepay_client::KeyWrapperError> {
        self.0.wrap_key(key.to_vec()).map_err(to_core_error)
    }

    fn unwrap_key(
        &self,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, sharepay_client::KeyWrapperError> {
        self.0
            .unwrap_key(wrapped.to_vec())
            .map(Zeroizing::new)
            .map_err(to_core_error)
    }
}

fn to_core_error(error: SharePayError) -> sharepay_client::KeyWrapperError {
    sharepay_client::KeyWrapperError {
        message: error.to_string(),
    }
}

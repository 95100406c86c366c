//! The platform's device attributes as a foreign trait, adapted to the
//! core's [`sharepay_client::DeviceInfoProvider`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::SharePayError;

/// Device attributes as the platform reports them. The core's
/// `fingerprint` module documents how they are hashed.
#[derive(uniffi::Record)]
pub struct DeviceInfo {
    pub platform: String,
    pub os_version: String,
    pub model: String,
    pub app_version: String,
    /// BCP 47 language tag, such as `fr-FR`.
    pub locale: String,
    /// IANA time zone name, such as `Europe/Paris`.
    pub time_zone: String,
    pub extra: HashMap<String, String>,
}

/// Implemented by the app: reads the device attributes.
#[uniffi::export(foreign)]
pub trait DeviceInfoProvider: Send + Sync {
    fn device_info(&self) -> Result<DeviceInfo, SharePayError>;
}

pub(crate) struct ForeignDeviceInfo(pub(crate) Arc<dyn DeviceInfoProvider>);

impl sharepay_client::DeviceInfoProvider for ForeignDeviceInfo {
    fn device_info(&self) -> Result<sharepay_client::DeviceInfo, sharepay_client::DeviceInfoError> {
        let info = self
            .0
            .device_info()
            .map_err(|e| sharepay_client::DeviceInfoError {
                message: e.to_string(),
            })?;
        Ok(sharepay_client::DeviceInfo {
            platform: info.platform,
            os_version: info.os_version,
            model: info.model,
            app_version: info.app_version,
            locale: info.locale,
            time_zone: info.time_zone,
            extra: info.extra,
        })
    }
}

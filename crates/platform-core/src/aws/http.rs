//! One HTTPS client per context (in a Lambda, per process), its trust store read by the first request.

// The SDK gives every client it builds its own default HTTPS client, and that client builds a
// connector while the SDK client is being built, only to check that it can: each one parses the
// system's root certificates into a trust store (about 2.5 ms for the Debian / AL2023 bundle)
// inside Lambda's init, once per SDK client. Here every client built from one `AwsContext` (in a
// Lambda, every client of the process) shares one HTTPS client (one connection pool, one connector per timeout setting), and its first connector is
// built when the first request needs it: a request that has to open a TLS connection anyway.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// The SDK's default HTTPS client as `behavior-version-latest` builds it (rustls with aws-lc,
/// proxies from `HTTPS_PROXY` / `NO_PROXY`), shared, with its trust store read on first use.
pub fn shared_https_client() -> SharedHttpClient {
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    TrustStoreOnFirstRequest(inner).into_shared()
}

/// Passes every request through to the inner client; only the build-time check is left out (the
/// trait's default accepts), which is where the inner client would read the trust store.
#[derive(Debug)]
struct TrustStoreOnFirstRequest(SharedHttpClient);

impl HttpClient for TrustStoreOnFirstRequest {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use aws_config::SdkConfig;

    use super::*;
    use crate::aws::AwsContext;

    #[test]
    fn a_context_gives_its_clients_the_shared_client_and_keeps_one_it_was_given() {
        let bare = SdkConfig::builder().region(aws_config::Region::new("eu-west-2")).build();
        assert!(bare.http_client().is_none());
        let ctx = AwsContext::from_config(bare).expect("context");
        let shared = ctx.config().http_client().expect("the shared client is installed");
        assert!(format!("{shared:?}").contains("TrustStoreOnFirstRequest"), "{shared:?}");
        let given = Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc)).build_https();
        let own = SdkConfig::builder().region(aws_config::Region::new("eu-west-2")).http_client(given).build();
        let ctx = AwsContext::from_config(own).expect("context");
        let kept = ctx.config().http_client().expect("kept");
        assert!(!format!("{kept:?}").contains("TrustStoreOnFirstRequest"), "{kept:?}");
    }
}

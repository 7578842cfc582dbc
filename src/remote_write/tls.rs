//! The rustls client configuration for a receiver: which CAs to trust, which name to check, which client certificate to show.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::TlsOptions;
use super::RemoteWriteError;

fn tls_error(message: String) -> RemoteWriteError {
    RemoteWriteError::Config(format!("tls_config: {message}"))
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>, RemoteWriteError> {
    std::fs::read(path).map_err(|e| tls_error(format!("reading {what} {}: {e}", path.display())))
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, RemoteWriteError> {
    let pem = read_pem(path, what)?;
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("{what} {}: not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "{what} {}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// The client configuration for `tls`; `None` when it asks for nothing beyond reqwest's own
/// (public roots, the URL's host, no client certificate).
pub(crate) fn client_config(tls: &TlsOptions) -> Result<Option<ClientConfig>, RemoteWriteError> {
    if *tls == TlsOptions::default() {
        return Ok(None);
    }
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            for cert in read_certs(path, "ca_file")? {
                roots.add(cert).map_err(|e| {
                    tls_error(format!("ca_file {}: unusable CA: {e}", path.display()))
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| tls_error(format!("CA roots: {e}")))?;
    let verifier = Arc::new(Verifier {
        chain: (!tls.insecure_skip_verify).then_some(webpki),
        server_name: match &tls.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| tls_error(format!("server_name {name:?}: {e}")))?,
            ),
            None => None,
        },
        provider: provider.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let certs = read_certs(cert_file, "cert_file")?;
            let pem = read_pem(key_file, "key_file")?;
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &pem[..])
                .map_err(|e| tls_error(format!("key_file {}: {e}", key_file.display())))?
                .ok_or_else(|| {
                    tls_error(format!(
                        "key_file {}: no unencrypted PEM private key found",
                        key_file.display()
                    ))
                })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| tls_error(format!("cert_file and key_file: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Some(config))
}

/// Checks the chain against the roots (unless `insecure_skip_verify`), for `server_name`
/// when set instead of the URL's host; handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    server_name: Option<ServerName<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.chain {
            Some(chain) => chain.verify_server_cert(
                end_entity,
                intermediates,
                self.server_name.as_ref().unwrap_or(server_name),
                ocsp_response,
                now,
            ),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

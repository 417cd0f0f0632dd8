//! The target's TLS identity: a fresh self-signed certificate per target, offered with ALPN.

use std::io;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Names the certificate is valid for: the loopback address the target binds by default, and
/// the name clients use for it.
const SUBJECT_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// A TLS acceptor with a new self-signed certificate, and that certificate in DER for clients
/// to trust.
pub(crate) fn self_signed() -> io::Result<(TlsAcceptor, Vec<u8>)> {
    let names: Vec<String> = SUBJECT_NAMES.iter().map(|&name| name.to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    // The provider is named here rather than taken from a process-wide default, which another
    // crate in the same test binary might install differently or not at all.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), cert.to_vec()))
}

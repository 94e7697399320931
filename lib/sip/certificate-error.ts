/**
 * OpenSSL's verification failures (node:tls puts its code on the error) that mean "this server's
 * certificate is not one we trust": the line's status then says so and what to change, after
 * OpenSSL's own words.
 */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

export function explainCertificateError(err: NodeJS.ErrnoException): Error {
  let advice: string | undefined;
  if (err.code && UNTRUSTED_CODES.has(err.code)) {
    advice = "the server's certificate is not trusted: give the line the CA certificate that signed it (TLS CA file), or turn certificate verification off";
  } else if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    advice = "the server's certificate is for another name: set the line's server to the name in the certificate";
  } else if (err.code === 'CERT_HAS_EXPIRED' || err.code === 'CERT_NOT_YET_VALID') {
    advice = "the server's certificate is not valid now: check the server's certificate and this machine's clock";
  }
  if (!advice) return err;
  const explained: NodeJS.ErrnoException = new Error(`${err.message}: ${advice}`);
  explained.code = err.code;
  return explained;
}

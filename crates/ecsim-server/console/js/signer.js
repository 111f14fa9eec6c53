// ACS3-HMAC-SHA256 request signing (wire-protocol §4.2) with WebCrypto. Runs in the browser
// and in node (tests/browser/signer.test.mjs checks it against the spec's test vectors).

const encoder = new TextEncoder();

/** True when this page may use crypto.subtle (a secure context: https, localhost, 127.0.0.1). */
export function hasWebCrypto() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle);
}

/** RFC 3986 encoding as the SDKs do it: everything but A–Z a–z 0–9 - _ . ~ is %XX. */
export function percentEncode(value) {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** `[[name, value], …]` → the canonical (and wire) query: sorted by name, values encoded. */
export function canonicalQuery(pairs) {
  return [...pairs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

async function hmacSha256Hex(secret, text) {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', key, encoder.encode(text)));
}

/** `x-acs-date`: UTC to the second with a trailing Z. */
export function acsDate(now = new Date()) {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A fresh `x-acs-signature-nonce`: 32 random hex digits, as the Python SDK sends. */
export function newNonce() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return hex(bytes);
}

/**
 * Signs a V3 request. `headers` are the headers to sign (names lower-case, `host` included);
 * answers them plus `x-acs-content-sha256` and `authorization`, with the intermediate strings
 * so that the API explorer can show what was signed.
 */
export async function signV3({ method, query, headers, body = '', accessKeyId, accessKeySecret }) {
  const hashedPayload = await sha256Hex(body);
  const all = { ...headers, 'x-acs-content-sha256': hashedPayload };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([n, v]) => [n.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim()}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    method,
    '/',
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    hashedPayload,
  ].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${await sha256Hex(canonicalRequest)}`;
  const signature = await hmacSha256Hex(accessKeySecret, stringToSign);
  const authorization =
    `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return {
    headers: { ...all, authorization },
    canonicalRequest,
    stringToSign,
    signature,
  };
}

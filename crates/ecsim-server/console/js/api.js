// Signed calls to ecsim's own RPC endpoint, exactly as the Tea SDKs send them (V3, operation
// parameters in the query), with the session's AccessKey. The key lives in sessionStorage only.

import { acsDate, canonicalQuery, newNonce, signV3 } from './signer.js';

export const ECS_VERSION = '2014-05-26';
const SESSION_KEY = 'ecsim.console.credentials';

export function credentials() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    return saved && saved.accessKeyId && saved.accessKeySecret ? saved : null;
  } catch {
    return null;
  }
}

export function saveCredentials(accessKeyId, accessKeySecret) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ accessKeyId, accessKeySecret }));
}

export function forgetCredentials() {
  sessionStorage.removeItem(SESSION_KEY);
}

/**
 * `{RegionId: 'x', InstanceId: ['a','b'], Tag: [{Key:'k', Value:'v'}], Force: true}` →
 * wire pairs (`InstanceId.1`, `Tag.1.Key`, …); empty and undefined values are left out.
 */
export function flatten(params, prefix = '') {
  const pairs = [];
  for (const [name, value] of Object.entries(params)) {
    const key = prefix + name;
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (item !== null && typeof item === 'object') {
          pairs.push(...flatten(item, `${key}.${i + 1}.`));
        } else if (item !== undefined && item !== '') {
          pairs.push([`${key}.${i + 1}`, String(item)]);
        }
      });
    } else if (typeof value === 'object') {
      pairs.push(...flatten(value, `${key}.`));
    } else {
      pairs.push([key, String(value)]);
    }
  }
  return pairs;
}

/** An ECS error answer, with the pieces a person (and the Force dialog) needs. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.Message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.Code || `HTTP${status}`;
    this.requestId = body?.RequestId;
    this.body = body;
  }
}

/**
 * Sends one signed call and answers everything about it: the request as sent (headers without
 * the secret, which never leaves this function), the HTTP status and the decoded body.
 * `version` picks the API: ECS 2014-05-26 by default, RAM 2015-05-01 or STS 2015-04-01 (ecsim
 * routes on it, as on one endpoint).
 */
export async function send(action, pairs, { creds = credentials(), version = ECS_VERSION } = {}) {
  if (!creds) throw new Error('Not signed in.');
  const headers = {
    host: location.host,
    'x-acs-action': action,
    'x-acs-version': version,
    'x-acs-date': acsDate(),
    'x-acs-signature-nonce': newNonce(),
  };
  const signed = await signV3({
    method: 'POST',
    query: pairs,
    headers,
    accessKeyId: creds.accessKeyId,
    accessKeySecret: creds.accessKeySecret,
  });
  const query = canonicalQuery(pairs);
  const url = query ? `/?${query}` : '/';
  // fetch sets Host itself (the value signed above); every other signed header goes as is.
  const { host: _host, ...sent } = signed.headers;
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...sent, accept: 'application/json' },
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return {
    request: { method: 'POST', url, headers: { ...signed.headers, accept: 'application/json' } },
    status: response.status,
    body,
  };
}

/** A call by parameter object; answers the body or throws ApiError. */
export async function call(action, params = {}) {
  const { status, body } = await send(action, flatten(params));
  if (status !== 200 || typeof body !== 'object') throw new ApiError(status, body);
  return body;
}

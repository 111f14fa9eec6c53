// The console's V3 signer against the test vectors of wire-protocol §5.4 (node's WebCrypto).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalQuery, signV3 } from '../../crates/ecsim-server/console/js/signer.js';

const common = {
  method: 'POST',
  headers: {
    host: '127.0.0.1:8080',
    'x-acs-action': 'DeleteImage',
    'x-acs-version': '2014-05-26',
    'x-acs-date': '2024-01-01T12:00:00Z',
    'x-acs-signature-nonce': '3ebc1c7f0f1c4d6e9a1b2c3d4e5f6a7b',
  },
  accessKeyId: 'testid',
  accessKeySecret: 'testsecret',
};

test('vector (a): the minimal header set', async () => {
  const signed = await signV3({
    ...common,
    query: [['RegionId', 'cn-hangzhou'], ['ImageId', 'm-test'], ['Force', 'true']],
  });
  assert.equal(
    signed.stringToSign,
    'ACS3-HMAC-SHA256\n845c3d1718fe4e7024aba10523f9728e285afc70965ce160976bfdd4e7d2865b',
  );
  assert.equal(
    signed.headers.authorization,
    'ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=5d4a73d230d402eb19230206b7a1eae0afa25c5268c8f2f0366bc3ecffd6d603',
  );
});

test('vector (c): special characters, Chinese, an empty value and an STS token', async () => {
  const query = [
    ['RegionId', 'cn-hangzhou'],
    ['ImageName', "a b*c~d+e/f=g&h!'()中"],
    ['Tag.1.Key', 'k 1'],
    ['Tag.1.Value', 'v*1'],
    ['Tag.2.Key', 'k2'],
    ['Tag.2.Value', ''],
  ];
  assert.equal(
    canonicalQuery(query),
    'ImageName=a%20b%2Ac~d%2Be%2Ff%3Dg%26h%21%27%28%29%E4%B8%AD&RegionId=cn-hangzhou&Tag.1.Key=k%201&Tag.1.Value=v%2A1&Tag.2.Key=k2&Tag.2.Value=',
  );
  const signed = await signV3({
    ...common,
    headers: {
      ...common.headers,
      'x-acs-action': 'DescribeImages',
      'x-acs-accesskey-id': 'testid',
      'x-acs-security-token': 'STS.tok/en+1=',
    },
    query,
  });
  assert.match(signed.headers.authorization, /Signature=2a7d329e0496bbdb0d956ac36cafaeb7ec172f264a05cbca3a83b1e25541cfdc$/);
});

test('vector (d): a form body is hashed and content-type signed', async () => {
  const signed = await signV3({
    ...common,
    headers: { ...common.headers, 'content-type': 'application/x-www-form-urlencoded' },
    query: [['RegionId', 'cn-hangzhou']],
    body: 'Force=true&ImageId=m-test',
  });
  assert.equal(
    signed.headers['x-acs-content-sha256'],
    '62349b4efbdb2c19b6ab1cc3349fcbf052d331f313450ce47688dba4d75e55ac',
  );
  assert.equal(signed.signature, '2a67b2d9b2658cde77649676de1ac6f4a2433d01b59f8a8038c9178298565d4b');
});

// Code that reproduces an explorer call: the official Python SDK (Tea, V3-signed like this
// page) and `ecsim call`. Credentials always come from the environment, never from the page.

/** Per product: the pinned Python SDK (tests/e2e/requirements.txt) and its module. */
const PYTHON_SDKS = {
  Ecs: { pip: 'alibabacloud_ecs20140526==7.11.8', module: 'alibabacloud_ecs20140526', alias: 'ecs_models' },
  Ram: { pip: 'alibabacloud_ram20150501==1.3.0', module: 'alibabacloud_ram20150501', alias: 'ram_models' },
  Sts: { pip: 'alibabacloud_sts20150401==1.2.0', module: 'alibabacloud_sts20150401', alias: 'sts_models' },
};

/** The API version `ecsim call` uses unless told otherwise. */
const CLI_DEFAULT_VERSION = '2014-05-26';

/** DescribeImageSharePermission → describe_image_share_permission (the Tea client's method). */
export function snakeCase(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** `Tag.1.Key` → `Tag.N.Key`: the catalogue name of a wire name. */
function catalogueName(wireName) {
  return wireName.replace(/\.\d+(?=\.|$)/g, '.N');
}

/** Wire pairs → the nested map Tea models take in `from_map` (`Tag: [{Key, Value}]`). */
export function unflatten(pairs, types = {}) {
  const root = {};
  for (const [name, raw] of pairs) {
    const type = types[catalogueName(name)];
    const value =
      type === 'Boolean' && /^(true|false)$/i.test(raw)
        ? raw.toLowerCase() === 'true'
        : type === 'Integer' && /^-?\d+$/.test(raw)
          ? Number(raw)
          : raw;
    const parts = name.split('.');
    let node = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const next = parts[i + 1];
      const key = /^\d+$/.test(part) ? Number(part) - 1 : part;
      if (last) {
        node[key] = value;
      } else {
        if (node[key] === undefined) node[key] = /^\d+$/.test(next) ? [] : {};
        node = node[key];
      }
    });
  }
  return root;
}

function pythonLiteral(value, indent = '') {
  const inner = indent + '    ';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items = value.filter((v) => v !== undefined);
    if (items.length === 0) return '[]';
    return `[\n${items.map((v) => inner + pythonLiteral(v, inner)).join(',\n')},\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pythonLiteral(v, inner)}`).join(',\n')},\n${indent}}`;
}

/**
 * `op` is a catalogue entry (`{product, version, name, params}`); `pairs` the wire pairs sent.
 * An operation without parameters (STS GetCallerIdentity) has no request model in the SDK.
 */
export function pythonSnippet(op, pairs, host) {
  const sdk = PYTHON_SDKS[op.product];
  if (!sdk) return `# No Python SDK is known for product ${op.product}.\n`;
  const types = Object.fromEntries(op.params.map((p) => [p.name, p.type]));
  const takesRequest = op.params.length > 0;
  return [
    `# pip install ${sdk.pip}`,
    '# export ALIBABA_CLOUD_ACCESS_KEY_ID=… ALIBABA_CLOUD_ACCESS_KEY_SECRET=…',
    'import os',
    '',
    ...(takesRequest ? [`from ${sdk.module} import models as ${sdk.alias}`] : []),
    `from ${sdk.module}.client import Client`,
    'from alibabacloud_tea_openapi import models as open_api_models',
    '',
    'client = Client(open_api_models.Config(',
    '    access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],',
    '    access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],',
    `    endpoint=${JSON.stringify(host)},`,
    '    protocol="http",',
    '))',
    ...(takesRequest
      ? [
          `request = ${sdk.alias}.${op.name}Request().from_map(${pythonLiteral(unflatten(pairs, types))})`,
          `response = client.${snakeCase(op.name)}(request)`,
        ]
      : [`response = client.${snakeCase(op.name)}()`]),
    'print(response.body.to_map())',
    '',
  ].join('\n');
}

function shellQuote(value) {
  return /^[A-Za-z0-9_.:/=,@+%-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function cliSnippet(op, pairs, origin) {
  const version = op.version === CLI_DEFAULT_VERSION ? '' : ` --api-version ${op.version}`;
  const args = pairs.map(([name, value]) => ` \\\n    --${name} ${shellQuote(value)}`).join('');
  return [
    '# export ALIBABA_CLOUD_ACCESS_KEY_ID=… ALIBABA_CLOUD_ACCESS_KEY_SECRET=…',
    `ecsim call ${op.name} --endpoint ${origin}${version}${args}`,
    '',
  ].join('\n');
}

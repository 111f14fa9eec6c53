// The API explorer: every operation ecsim serves — ECS, RAM and STS, from their operation tables
// (GET /console/api/operations.json) — with its parameters; sends the call signed like the SDKs
// (with the operation's x-acs-version) and shows request, status and body, plus snippets that
// reproduce it.

import { send } from './api.js';
import { canonicalQuery } from './signer.js';
import { fill, h } from './dom.js';
import { cliSnippet, pythonSnippet } from './snippets.js';

let catalogue;

async function operations() {
  if (!catalogue) {
    const response = await fetch('/console/api/operations.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`operations.json: HTTP ${response.status}`);
    catalogue = await response.json();
  }
  return catalogue.operations;
}

function input(param, app) {
  const attrs = { name: param.name, id: `param-${param.name}`, 'data-param': param.name };
  if (param.maxItems) {
    return h('textarea', { ...attrs, rows: 2, placeholder: `one value per line (N = 1…${param.maxItems})` });
  }
  if (param.type === 'Boolean') {
    return h('select', attrs, h('option', { value: '' }, '(not set)'), h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
  }
  return h('input', {
    ...attrs,
    type: 'text',
    value: param.name === 'RegionId' ? app.region : '',
    inputmode: param.type === 'Integer' ? 'numeric' : undefined,
  });
}

/** The form's values as wire pairs: `X.N` lines become `X.1`, `X.2`, …. */
function pairsOf(op, form) {
  const pairs = [];
  for (const param of op.params) {
    const field = form.querySelector(`[data-param="${CSS.escape(param.name)}"]`);
    const value = field.value;
    if (param.maxItems) {
      value
        .split('\n')
        .map((line) => line.trim())
        .forEach((line, i) => {
          if (line === '') return;
          pairs.push([param.name.replace(/\.N(?=\.|$)/, `.${i + 1}`), line]);
        });
    } else if (value.trim() !== '') {
      pairs.push([param.name, value.trim()]);
    }
  }
  return pairs;
}

function showRequest(request) {
  const lines = [`${request.method} ${request.url} HTTP/1.1`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  return lines.join('\n');
}

export async function explorerPage(root, app, generation) {
  let ops;
  try {
    ops = await operations();
  } catch (e) {
    app.showError({ code: 'ConsoleError', message: String(e.message || e) });
    return;
  }
  if (generation !== app.generation) return;
  // Grouped by product, in the catalogue's order; names are unique across products.
  const products = [...new Set(ops.map((op) => op.product))];
  const picker = h(
    'select',
    { id: 'operation', 'aria-label': 'Operation' },
    products.map((product) =>
      h(
        'optgroup',
        { label: `${product.toUpperCase()} ${ops.find((op) => op.product === product).version}` },
        ops.filter((op) => op.product === product).map((op) => h('option', { value: op.name }, op.name)),
      ),
    ),
  );
  const form = h('form', { id: 'explorer-form', class: 'params' });
  const requestView = h('pre', { id: 'request', class: 'code' }, '—');
  const statusView = h('span', { id: 'response-status', class: 'http-status' });
  const responseView = h('pre', { id: 'response-body', class: 'code' }, '—');
  const pythonView = h('pre', { id: 'snippet-python', class: 'code' });
  const cliView = h('pre', { id: 'snippet-cli', class: 'code' });

  fill(
    root,
    h(
      'section',
      { class: 'card explorer' },
      h('div', { class: 'toolbar' }, h('h1', {}, 'API explorer'), h('span', { class: 'grow' }), picker),
      h('div', { class: 'columns' },
        h('div', {}, form),
        h(
          'div',
          {},
          h('h2', {}, 'Request'),
          requestView,
          h('h2', {}, 'Response ', statusView),
          responseView,
          h('h2', {}, 'Python (official SDK)'),
          pythonView,
          h('h2', {}, 'ecsim call'),
          cliView,
        ),
      ),
    ),
  );

  const current = () => ops.find((op) => op.name === picker.value);

  function updateSnippets() {
    const op = current();
    const pairs = pairsOf(op, form);
    fill(pythonView, pythonSnippet(op, pairs, location.host));
    fill(cliView, cliSnippet(op, pairs, location.origin));
  }

  function renderForm() {
    const op = current();
    fill(
      form,
      h(
        'p',
        { class: 'hint', id: 'operation-hint' },
        `${op.product.toUpperCase()} API ${op.version} · RAM action ${op.ramAction}. `,
        op.params.length ? 'Parameters marked * are required.' : 'No parameters: the signature says who calls.',
      ),
      op.params.map((param) =>
        h(
          'label',
          { class: 'param' },
          h(
            'span',
            { class: 'param-name' },
            param.name,
            param.required ? h('b', { class: 'required', title: 'required' }, ' *') : null,
            h('small', { class: 'type' }, ` ${param.maxItems ? `List of ${param.type}` : param.type}`),
          ),
          input(param, app),
          h('small', { class: 'description' }, param.description),
        ),
      ),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', id: 'send' }, 'Send')),
    );
    fill(requestView, '—');
    fill(statusView);
    fill(responseView, '—');
    updateSnippets();
  }

  form.addEventListener('input', updateSnippets);
  form.addEventListener('change', updateSnippets);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const op = current();
    const pairs = pairsOf(op, form);
    fill(statusView, '…');
    fill(requestView, `POST /?${canonicalQuery(pairs)}`);
    try {
      const result = await send(op.name, pairs, { version: op.version });
      fill(requestView, showRequest(result.request));
      fill(statusView, `HTTP ${result.status}`);
      statusView.className = `http-status ${result.status === 200 ? 'ok' : 'failed'}`;
      fill(responseView, typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2));
    } catch (e) {
      fill(statusView, 'not sent');
      fill(responseView, String(e.message || e));
    }
  });
  picker.addEventListener('change', renderForm);
  const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('op');
  if (wanted && ops.some((op) => op.name === wanted)) picker.value = wanted;
  renderForm();
}

// The console's shell: sign-in, navigation between pages (#/images, #/tasks, #/explorer),
// the region picker and the error banner every page uses.

import { call, credentials, forgetCredentials, saveCredentials, send } from './api.js';
import { explain } from './errors.js';
import { fill, h } from './dom.js';
import { hasWebCrypto } from './signer.js';
import { imagesPage } from './images.js';
import { tasksPage } from './tasks.js';
import { explorerPage } from './explorer.js';

const PAGES = { images: imagesPage, tasks: tasksPage, explorer: explorerPage };
const REGION_KEY = 'ecsim.console.region';
const main = document.getElementById('main');
const banner = document.getElementById('banner');

/** What every page gets: the region, the banner, and a way to know it is still shown. */
export const app = {
  region: sessionStorage.getItem(REGION_KEY) || 'cn-hangzhou',
  regions: [],
  /** Bumped on every navigation: a page's poller stops when its generation is stale. */
  generation: 0,
  showError(error) {
    delete banner.dataset.subject;
    fill(
      banner,
      h('strong', { class: 'code' }, error.code || 'Error'),
      ' ',
      h('span', { class: 'sentence' }, explain(error)),
      error.requestId ? h('small', {}, ` (RequestId ${error.requestId})`) : null,
      h('button', { class: 'link', onclick: () => app.clearBanner() }, 'Dismiss'),
    );
    banner.className = 'banner error';
    banner.hidden = false;
  },
  /** A notice; `subject` (an image id) lets a later page update say what became of it. */
  showNotice(text, subject) {
    if (subject) banner.dataset.subject = subject;
    else delete banner.dataset.subject;
    fill(banner, h('span', { class: 'sentence' }, text));
    banner.className = 'banner notice';
    banner.hidden = false;
  },
  /** Whether the banner still shows the notice given about `subject`. */
  noticeIsAbout(subject) {
    return !banner.hidden && banner.dataset.subject === subject;
  },
  clearBanner() {
    delete banner.dataset.subject;
    banner.hidden = true;
    banner.replaceChildren();
  },
};

function secureContextMessage() {
  return h(
    'section',
    { class: 'card narrow' },
    h('h1', {}, 'This page needs a secure context'),
    h(
      'p',
      {},
      'The console signs API calls in your browser with WebCrypto, which browsers only offer on ',
      'https:// pages and on http://localhost or http://127.0.0.1. Open the console through ',
      'localhost, for example with an SSH tunnel: ',
      h('code', {}, `ssh -L 8080:127.0.0.1:${location.port || 80} <server>`),
      ', then http://127.0.0.1:8080/console/.',
    ),
  );
}

function signInForm() {
  const error = h('p', { class: 'error', id: 'signin-error', role: 'alert' });
  const keyId = h('input', { name: 'accessKeyId', autocomplete: 'username', required: true });
  const secret = h('input', {
    name: 'accessKeySecret',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const form = h(
    'form',
    { class: 'card narrow', id: 'signin' },
    h('h1', {}, 'Sign in with an AccessKey'),
    h(
      'p',
      { class: 'hint' },
      'Use the root AccessKey ecsim printed on first start (also in ecsim-data/credentials.json) ',
      'or a RAM user’s key. It stays in this browser tab’s session storage and is only used to sign requests here.',
    ),
    h('label', {}, h('span', {}, 'AccessKey ID'), keyId),
    h('label', {}, h('span', {}, 'AccessKey Secret'), secret),
    error,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const creds = { accessKeyId: keyId.value.trim(), accessKeySecret: secret.value.trim() };
    fill(error, 'Checking…');
    try {
      // DescribeRegions proves the key signs correctly; its answer fills the region picker.
      const { status, body } = await send('DescribeRegions', [['AcceptLanguage', 'en-US']], { creds });
      if (status !== 200) {
        const code = body?.Code || `HTTP ${status}`;
        fill(error, `${code}: ${explain({ code, message: body?.Message })}`);
        return;
      }
      saveCredentials(creds.accessKeyId, creds.accessKeySecret);
      await start();
    } catch (e) {
      fill(error, String(e.message || e));
    }
  });
  return form;
}

function regionPicker() {
  const select = h(
    'select',
    {
      id: 'region',
      'aria-label': 'Region',
      onchange: () => {
        app.region = select.value;
        sessionStorage.setItem(REGION_KEY, app.region);
        route();
      },
    },
    app.regions.map((r) =>
      h('option', { value: r.RegionId, selected: r.RegionId === app.region }, `${r.LocalName} · ${r.RegionId}`),
    ),
  );
  return select;
}

function signOut() {
  forgetCredentials();
  app.generation += 1;
  location.hash = '';
  showSignIn();
}

function showSignIn() {
  document.getElementById('nav').hidden = true;
  fill(document.getElementById('session'));
  app.clearBanner();
  fill(main, hasWebCrypto() ? signInForm() : secureContextMessage());
}

async function start() {
  const creds = credentials();
  if (!creds) return showSignIn();
  try {
    const body = await call('DescribeRegions', { AcceptLanguage: 'en-US' });
    app.regions = body.Regions?.Region || [];
  } catch (e) {
    forgetCredentials();
    showSignIn();
    app.showError(e);
    return;
  }
  document.getElementById('nav').hidden = false;
  fill(
    document.getElementById('session'),
    regionPicker(),
    h('span', { class: 'who' }, creds.accessKeyId),
    h('button', { class: 'link', id: 'signout', onclick: signOut }, 'Sign out'),
  );
  if (!location.hash.startsWith('#/')) location.hash = '#/images';
  else route();
}

function route() {
  if (!credentials()) return showSignIn();
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'images';
  const page = PAGES[name] || imagesPage;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === name);
  }
  app.generation += 1;
  app.clearBanner();
  fill(main);
  page(main, app, app.generation);
}

window.addEventListener('hashchange', route);
start();

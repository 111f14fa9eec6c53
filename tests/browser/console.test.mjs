// The web console in headless Chromium against the real ecsim binary: the scenario of issue 8.
// Steps share one server, browser and page, so they run in order (node --test runs a file's
// tests sequentially). Screenshots go to tests/browser/artifacts/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  EXPORT_BUCKET,
  PLAIN_HTTP_HOST,
  REGION,
  ROOT_KEY_ID,
  ROOT_SECRET,
  repo,
  screenshot,
  startBrowser,
  startEcsim,
  waitFor,
} from './support.mjs';

const run = promisify(execFile);
const SYSTEM_IMAGE = 'aliyun_3_x64_20G_alibase_20240819.vhd';
/** Generous for a loaded CI machine; every wait ends as soon as its condition holds. */
const TIMEOUT = 30000;

let ecsim;
let browser;
let page;
const offsite = [];
const pageErrors = [];
const state = {};

before(async () => {
  ecsim = await startEcsim();
  browser = await startBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  browser.context.on('request', (request) => {
    const { host } = new URL(request.url());
    if (host !== ecsim.origin.slice('http://'.length) && host !== `${PLAIN_HTTP_HOST}:${ecsim.port}`) {
      offsite.push(request.url());
    }
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (/Content Security Policy|SyntaxError|TypeError/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
});

after(async () => {
  await browser?.stop();
  await ecsim?.stop();
});

const imageRow = (id) => page.locator(`#images tr[data-image-id="${id}"]`);
const bannerText = async () => (await page.locator('#banner').textContent()) || '';

/**
 * Runs the explorer's current snippets (`ecsim call` with this build's binary, and the Python
 * one with the pinned SDK in .venv when scripts/e2e-venv made it), with the root key in the
 * environment as the snippets expect; both must succeed.
 */
async function runSnippets() {
  const python = await page.locator('#snippet-python').textContent();
  const cli = await page.locator('#snippet-cli').textContent();
  const env = { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: ROOT_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: ROOT_SECRET };
  for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[name];
  const command = cli.split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/^ecsim /m, `'${ecsim.binary}' `);
  const cliRun = await run('bash', ['-c', command], { env });
  assert.match(cliRun.stdout, /RequestId/);
  const venvPython = path.join(repo, '.venv/bin/python');
  if (existsSync(venvPython)) {
    const pyRun = await run(venvPython, ['-c', python], { env });
    assert.match(pyRun.stdout, /RequestId/);
  } else {
    console.log('# no .venv: the Python snippet was not run (scripts/e2e-venv makes it)');
  }
}

/** Waits for the notice banner to match `pattern`; answers the first capture group. */
async function notice(pattern) {
  const match = await waitFor(async () => (await bannerText()).match(pattern), `banner ${pattern}`, TIMEOUT);
  return match[1];
}

test('ecsim serves the console with its own assets and strict headers', async () => {
  const redirect = await fetch(`${ecsim.origin}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/console/');
  const index = await fetch(`${ecsim.origin}/console/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const script = await fetch(`${ecsim.origin}/console/js/main.js`);
  assert.match(script.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${ecsim.origin}/console/js/nope.js`)).status, 404);
  const catalogue = await (await fetch(`${ecsim.origin}/console/api/operations.json`)).json();
  const deleteImage = catalogue.operations.find((op) => op.name === 'DeleteImage');
  assert.deepEqual(
    deleteImage.params.filter((p) => p.required).map((p) => p.name),
    ['RegionId', 'ImageId'],
  );
});

test('a wrong secret is refused at sign-in, in words', async () => {
  await page.goto(`${ecsim.origin}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.fill('input[name=accessKeyId]', ROOT_KEY_ID);
  await page.fill('input[name=accessKeySecret]', 'not-the-secret');
  await page.click('#signin button[type=submit]');
  await page.locator('#signin-error', { hasText: 'SignatureDoesNotMatch' }).waitFor();
  assert.match(await page.locator('#signin-error').textContent(), /Secret does not match/);
});

test('signing in shows the seeded system images', async () => {
  await page.fill('input[name=accessKeySecret]', ROOT_SECRET);
  await page.click('#signin button[type=submit]');
  await imageRow(SYSTEM_IMAGE).waitFor();
  const rows = page.locator('#images tbody tr');
  assert.ok((await rows.count()) >= 10, 'ten system images per region');
  assert.match(await imageRow(SYSTEM_IMAGE).textContent(), /system/);
  assert.equal(await page.locator('#region').inputValue(), REGION);
  // Only the session keeps the key: nothing in localStorage or cookies.
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.deepEqual(await browser.context.cookies(), []);
  await screenshot(page, '01-images-system');
});

test('an instance launched and an image created from the page turns from Creating to Available live', async () => {
  await imageRow(SYSTEM_IMAGE).getByRole('button', { name: 'Launch instance' }).click();
  state.firstInstance = await notice(/Instance (i-\S+) launched/);

  await page.click('#create-image');
  const dialog = page.locator('dialog[open]');
  await dialog.locator('select[name=InstanceId]').selectOption(state.firstInstance);
  await dialog.locator('input[name=ImageName]').fill('web-v1');
  // A marker that a page reload would wipe: progress must arrive without one.
  await page.evaluate(() => (window.__noReload = true));
  await dialog.getByRole('button', { name: 'Create image' }).click();
  state.image = await notice(/Image (m-\S+) is being created/);

  const row = imageRow(state.image);
  await row.locator('[data-status=Creating]').waitFor();
  await row.locator('progress').waitFor();
  assert.match(await row.textContent(), /web-v1/);
  await screenshot(page, '02-image-creating');
  await row.locator('[data-status=Available]').waitFor({ timeout: TIMEOUT });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  // The "being created" notice does not outlive the creation: it says how it ended.
  await notice(new RegExp(`Image (${state.image}) is Available\\.`));
  assert.doesNotMatch(await bannerText(), /being created/);
  assert.equal(await row.locator('.sharing').textContent(), 'private');
  assert.match(await row.textContent(), /self/);
  await screenshot(page, '03-image-available');
});

test('deleting an image an instance uses is refused with the instance named; Force deletes it', async () => {
  await imageRow(state.image).getByRole('button', { name: 'Launch instance' }).click();
  const user = await notice(new RegExp(`Instance (i-\\S+) launched from ${state.image}`));

  await imageRow(state.image).getByRole('button', { name: 'Delete' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Delete image' }).click();
  const refusal = page.locator('#force-delete');
  await refusal.waitFor();
  const text = await refusal.textContent();
  assert.match(text, /ImageUsingByInstance/);
  assert.match(text, /still exist/);
  assert.match(text, new RegExp(user));
  await screenshot(page, '04-delete-refused-force-confirmation');

  await refusal.getByRole('button', { name: 'Force delete' }).click();
  await notice(new RegExp(`Image (${state.image}) deleted \\(forced\\)`));
  await imageRow(state.image).waitFor({ state: 'detached' });
});

test('the API explorer calls DeleteImage and shows the status, the RequestId and reproducing snippets', async () => {
  // A second image to delete from the explorer.
  await page.click('#create-image');
  const dialog = page.locator('dialog[open]');
  await dialog.locator('select[name=InstanceId]').selectOption(state.firstInstance);
  await dialog.locator('input[name=ImageName]').fill('web-v2');
  await dialog.getByRole('button', { name: 'Create image' }).click();
  const image = await notice(/Image (m-\S+) is being created/);
  await imageRow(image).locator('[data-status=Available]').waitFor({ timeout: TIMEOUT });

  await page.click('nav a[data-page=explorer]');
  await page.locator('#operation').selectOption('DeleteImage');
  const imageIdLabel = page.locator('label.param', { has: page.locator('[data-param=ImageId]') });
  assert.match(await imageIdLabel.textContent(), /ImageId \*/);
  assert.match(await imageIdLabel.textContent(), /String/);
  assert.equal(await page.locator('[data-param=RegionId]').inputValue(), REGION);

  // A refusal first: a system image is not the caller's to delete.
  await page.fill('[data-param=ImageId]', SYSTEM_IMAGE);
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 404' }).waitFor();
  assert.match(await page.locator('#response-body').textContent(), /InvalidImageId\.NotFound/);

  await page.fill('[data-param=ImageId]', image);
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 200' }).waitFor();
  const body = JSON.parse(await page.locator('#response-body').textContent());
  assert.match(body.RequestId, /^[0-9A-F-]{36}$/);
  const request = await page.locator('#request').textContent();
  assert.match(request, new RegExp(`^POST /\\?ImageId=${image}&RegionId=${REGION} HTTP/1.1`));
  assert.match(request, /x-acs-action: DeleteImage/);
  assert.match(request, /authorization: ACS3-HMAC-SHA256 Credential=/);
  assert.ok(!request.includes(ROOT_SECRET), 'the secret is never shown');
  await screenshot(page, '05-explorer-delete-image');

  const python = await page.locator('#snippet-python').textContent();
  const cli = await page.locator('#snippet-cli').textContent();
  assert.match(python, /ecs_models\.DeleteImageRequest\(\)\.from_map/);
  assert.match(python, /client\.delete_image\(request\)/);
  assert.match(cli, new RegExp(`ecsim call DeleteImage --endpoint ${ecsim.origin}`));
  assert.ok(!python.includes(ROOT_SECRET) && !cli.includes(ROOT_SECRET));

  // The snippets reproduce the call: deleting an image this account already deleted is a
  // documented no-op (200), so both succeed against the same server.
  await runSnippets();

  await page.click('nav a[data-page=images]');
  await imageRow(SYSTEM_IMAGE).waitFor();
  assert.equal(await imageRow(image).count(), 0);
});

test('the tasks page shows copy and export tasks with live progress and cancels the export', async () => {
  await page.click('nav a[data-page=images]');
  await imageRow(SYSTEM_IMAGE).waitFor();
  await page.click('#create-image');
  const dialog = page.locator('dialog[open]');
  await dialog.locator('select[name=InstanceId]').selectOption(state.firstInstance);
  await dialog.locator('input[name=ImageName]').fill('web-v3');
  await dialog.getByRole('button', { name: 'Create image' }).click();
  const image = await notice(/Image (m-\S+) is being created/);
  state.kept = image;
  await imageRow(image).locator('[data-status=Available]').waitFor({ timeout: TIMEOUT });

  await imageRow(image).getByRole('button', { name: 'Copy…' }).click();
  const copy = page.locator('dialog[open]');
  await copy.locator('input[name=DestinationImageName]').fill('web-v3-copy');
  await copy.getByRole('button', { name: 'Copy image' }).click();
  const copyId = await notice(/Copy (m-\S+) is being created/);

  await imageRow(image).getByRole('button', { name: 'Export…' }).click();
  const exporting = page.locator('dialog[open]');
  await exporting.locator('input[name=OSSBucket]').fill(EXPORT_BUCKET);
  await exporting.getByRole('button', { name: 'Export' }).click();
  const task = await notice(/Export task (t-\S+) started/);

  await page.click('nav a[data-page=tasks]');
  await page.locator('#tasks tbody tr', { hasText: 'CopyImage' }).first().waitFor();
  const row = page.locator(`#tasks tr[data-task-id="${task}"]`);
  await row.locator('[data-status=Processing]').waitFor();
  const bar = row.locator('progress');
  const first = Number(await bar.getAttribute('value'));
  // Live: the bar grows while the page polls, without a reload.
  await waitFor(async () => Number(await bar.getAttribute('value')) > first, 'export progress to grow', TIMEOUT);
  await screenshot(page, '06-tasks');

  await row.getByRole('button', { name: 'Cancel' }).click();
  await notice(new RegExp(`Task (${task}) cancelled`));
  await waitFor(async () => (await row.locator('.badge').textContent()) !== 'Processing', 'the export to stop', TIMEOUT);
  assert.equal(await row.getByRole('button', { name: 'Cancel' }).count(), 0);

  // The copy is still on its way: cancelling it from the images page removes it.
  await page.click('nav a[data-page=images]');
  await imageRow(copyId).getByRole('button', { name: 'Cancel copy' }).click();
  await imageRow(copyId).waitFor({ state: 'detached' });
});

test('the explorer sends repeated parameters (Tag.N.Key) and its snippets reproduce them', async () => {
  await page.click('nav a[data-page=explorer]');
  await page.locator('#operation').selectOption('TagResources');
  await page.fill('[data-param=ResourceType]', 'image');
  await page.fill('[data-param="ResourceId.N"]', state.kept);
  await page.fill('[data-param="Tag.N.Key"]', 'team\nstage');
  await page.fill('[data-param="Tag.N.Value"]', 'web\nprod');
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 200' }).waitFor();
  const request = await page.locator('#request').textContent();
  assert.match(request, new RegExp(`ResourceId\\.1=${state.kept}`));
  assert.match(request, /Tag\.1\.Key=team&Tag\.1\.Value=web&Tag\.2\.Key=stage&Tag\.2\.Value=prod/);
  assert.match(await page.locator('#snippet-python').textContent(), /"Tag": \[/);
  await runSnippets();

  await page.click('nav a[data-page=images]');
  const tags = imageRow(state.kept).locator('.tag');
  await tags.first().waitFor();
  assert.deepEqual(await tags.allTextContents(), ['stage=prod', 'team=web']);
});

test('the explorer lists ECS, RAM and STS operations and calls RAM and STS with their versions', async () => {
  await page.click('nav a[data-page=explorer]');
  // The page renders after it fetched the catalogue; the picker arrives whole.
  await page.locator('#operation optgroup').first().waitFor({ state: 'attached' });
  const groups = await page.locator('#operation optgroup').evaluateAll((els) => els.map((el) => el.label));
  assert.deepEqual(groups, ['ECS 2014-05-26', 'RAM 2015-05-01', 'STS 2015-04-01']);
  const ramGroup = page.locator('#operation optgroup[label^=RAM] option');
  assert.ok((await ramGroup.allTextContents()).includes('ListUsers'));

  // RAM CreateUser: the form shows RAM's parameters, the call goes with x-acs-version 2015-05-01.
  await page.locator('#operation').selectOption('CreateUser');
  assert.match(await page.locator('#operation-hint').textContent(), /RAM API 2015-05-01 · RAM action ram:CreateUser/);
  const userNameLabel = page.locator('label.param', { has: page.locator('[data-param=UserName]') });
  assert.match(await userNameLabel.textContent(), /UserName \*/);
  assert.equal(await page.locator('[data-param=RegionId]').count(), 0, 'RAM takes no RegionId');
  await page.fill('[data-param=UserName]', 'explorer-user');
  await page.fill('[data-param=DisplayName]', 'Made in the explorer');
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 200' }).waitFor();
  const created = JSON.parse(await page.locator('#response-body').textContent());
  assert.match(created.RequestId, /^[0-9A-F-]{36}$/);
  assert.equal(created.User.UserName, 'explorer-user');
  let request = await page.locator('#request').textContent();
  assert.match(request, /^POST \/\?DisplayName=Made%20in%20the%20explorer&UserName=explorer-user HTTP\/1.1/);
  assert.match(request, /x-acs-action: CreateUser/);
  assert.match(request, /x-acs-version: 2015-05-01/);
  let python = await page.locator('#snippet-python').textContent();
  let cli = await page.locator('#snippet-cli').textContent();
  assert.match(python, /pip install alibabacloud_ram20150501==1\.3\.0/);
  assert.match(python, /ram_models\.CreateUserRequest\(\)\.from_map/);
  assert.match(python, /client\.create_user\(request\)/);
  assert.match(cli, new RegExp(`ecsim call CreateUser --endpoint ${ecsim.origin} --api-version 2015-05-01`));

  // A second CreateUser with the same name is refused: the status and RAM's code are shown.
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 409' }).waitFor();
  assert.match(await page.locator('#response-body').textContent(), /EntityAlreadyExists\.User/);

  // RAM ListUsers lists the new user; both snippets reproduce the call.
  await page.locator('#operation').selectOption('ListUsers');
  await page.fill('[data-param=MaxItems]', '50');
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 200' }).waitFor();
  const listed = JSON.parse(await page.locator('#response-body').textContent());
  assert.match(listed.RequestId, /^[0-9A-F-]{36}$/);
  assert.ok(listed.Users.User.some((u) => u.UserName === 'explorer-user'), JSON.stringify(listed));
  python = await page.locator('#snippet-python').textContent();
  assert.match(python, /"MaxItems": 50/);
  assert.match(python, /client\.list_users\(request\)/);
  await screenshot(page, '06b-explorer-ram-list-users');
  await runSnippets();

  // STS GetCallerIdentity: no parameters, x-acs-version 2015-04-01, the SDK method takes none.
  await page.locator('#operation').selectOption('GetCallerIdentity');
  assert.match(await page.locator('#operation-hint').textContent(), /STS API 2015-04-01/);
  assert.equal(await page.locator('#explorer-form [data-param]').count(), 0);
  await page.click('#send');
  await page.locator('#response-status', { hasText: 'HTTP 200' }).waitFor();
  const identity = JSON.parse(await page.locator('#response-body').textContent());
  assert.match(identity.RequestId, /^[0-9A-F-]{36}$/);
  assert.equal(identity.IdentityType, 'Account');
  request = await page.locator('#request').textContent();
  assert.match(request, /^POST \/ HTTP\/1.1/);
  assert.match(request, /x-acs-version: 2015-04-01/);
  assert.ok(!request.includes(ROOT_SECRET), 'the secret is never shown');
  python = await page.locator('#snippet-python').textContent();
  cli = await page.locator('#snippet-cli').textContent();
  assert.match(python, /from alibabacloud_sts20150401\.client import Client/);
  assert.match(python, /response = client\.get_caller_identity\(\)/);
  assert.doesNotMatch(python, /Request\(\)/);
  assert.match(cli, /ecsim call GetCallerIdentity --endpoint \S+ --api-version 2015-04-01/);
  assert.ok(!python.includes(ROOT_SECRET) && !cli.includes(ROOT_SECRET));
  await runSnippets();
});

test('a RAM user with read-only access sees the images, and a delete is refused in words', async () => {
  const env = {
    ...process.env,
    ALIBABA_CLOUD_ACCESS_KEY_ID: ROOT_KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: ROOT_SECRET,
  };
  const ram = async (...args) =>
    JSON.parse(
      (await run(ecsim.binary, ['call', ...args, '--endpoint', ecsim.origin, '--api-version', '2015-05-01'], { env }))
        .stdout,
    );
  await ram('CreateUser', '--UserName', 'viewer');
  const { AccessKey: key } = await ram('CreateAccessKey', '--UserName', 'viewer');
  await ram('AttachPolicyToUser', '--PolicyType', 'System', '--PolicyName', 'AliyunECSReadOnlyAccess', '--UserName', 'viewer');

  // A new tab is a new session: it starts signed out.
  const viewer = await browser.context.newPage();
  viewer.setDefaultTimeout(TIMEOUT);
  await viewer.goto(`${ecsim.origin}/console/`);
  await viewer.fill('input[name=accessKeyId]', key.AccessKeyId);
  await viewer.fill('input[name=accessKeySecret]', key.AccessKeySecret);
  await viewer.click('#signin button[type=submit]');
  const own = viewer.locator('#images tbody tr', { hasText: 'web-v3' }).first();
  await own.waitFor();
  await own.getByRole('button', { name: 'Delete' }).click();
  await viewer.locator('dialog[open]').getByRole('button', { name: 'Delete image' }).click();
  await viewer.locator('#banner.error', { hasText: 'Forbidden.RAM' }).waitFor();
  assert.match(await viewer.locator('#banner').textContent(), /RAM identity is not allowed/);
  await screenshot(viewer, '07-ram-read-only-refused');
  assert.equal(await own.count(), 1, 'the image is still there');
  await viewer.close();
});

test('over plain http on a non-local name the console explains why it cannot sign', async () => {
  const remote = await browser.context.newPage();
  await remote.goto(`http://${PLAIN_HTTP_HOST}:${ecsim.port}/console/`);
  await remote.locator('h1', { hasText: 'This page needs a secure context' }).waitFor();
  assert.match(await remote.locator('main').textContent(), /ssh -L/);
  assert.equal(await remote.locator('#signin').count(), 0);
  await screenshot(remote, '08-insecure-context');
  await remote.close();
});

test('nothing left ecsim and the secret never reached its log', async () => {
  assert.deepEqual(offsite, []);
  assert.deepEqual(pageErrors, []);
  assert.ok(!ecsim.log().includes(ROOT_SECRET));
});

// Starts the real ecsim binary (fresh data dir, known root key, short creation time) and a
// headless Debian Chromium driven by playwright-core, each torn down by the caller.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const artifacts = path.join(here, 'artifacts');
export const ROOT_KEY_ID = 'LTAIbrowsertest0001';
export const ROOT_SECRET = 'browser-test-secret-0123456789';
export const REGION = 'cn-hangzhou';
/** Long enough to see `Creating` with a progress bar, short enough to wait for `Available`. */
export const CREATION_TIME_MS = 4000;
/** Slow enough that an export is seen Processing (and can be cancelled) for several seconds. */
export const TASK_BYTES_PER_SECOND = 300000;
export const EXPORT_BUCKET = 'exports';
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** A name for 127.0.0.1 that is not "localhost": plain http on it is not a secure context. */
export const PLAIN_HTTP_HOST = 'ecsim-console.test';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it answers truthy; fails with `what` after `timeoutMs`. */
export async function waitFor(probe, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startEcsim() {
  const binary = path.resolve(repo, process.env.ECSIM_BIN || 'target/debug/ecsim');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ecsim-browser-'));
  const port = await freePort();
  // Each directory under the OSS root is a bucket.
  mkdirSync(path.join(scratch, 'oss', EXPORT_BUCKET), { recursive: true });
  const logPath = path.join(scratch, 'ecsim.log');
  const log = openSync(logPath, 'w');
  const child = spawn(
    binary,
    [
      'serve',
      '--listen', `127.0.0.1:${port}`,
      '--data-dir', path.join(scratch, 'data'),
      '--creation-time-ms', String(CREATION_TIME_MS),
      '--oss-root', path.join(scratch, 'oss'),
      '--task-bytes-per-second', String(TASK_BYTES_PER_SECOND),
    ],
    {
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        ECSIM_ROOT_ACCESS_KEY_ID: ROOT_KEY_ID,
        ECSIM_ROOT_ACCESS_KEY_SECRET: ROOT_SECRET,
      },
    },
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`ecsim exited: ${readFileSync(logPath, 'utf8')}`);
    return (await fetch(`${origin}/healthz`)).ok;
  }, 'ecsim /healthz');
  return {
    origin,
    port,
    binary,
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        // A graceful stop waits for running tasks; the scratch data is thrown away anyway.
        const grace = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(grace);
      }
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export async function startBrowser() {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'ecsim-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${PLAIN_HTTP_HOST} 127.0.0.1`],
    viewport: { width: 1440, height: 900 },
  });
  return {
    context,
    async stop() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Node-side plumbing for the browser test: a static http server for dist/ and
// the test page, and one headless Chromium run that dumps the page's DOM.
// Node-only (http, child_process); the page itself is page.ts.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { PageInput, PageReport } from './protocol.js';

/** The Chromium binary: $CHROMIUM if set (only that), else the Debian package's path; undefined when absent. */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM;
  const candidates = env !== undefined && env !== '' ? [env] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p) => existsSync(p));
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

/** Headers that make a page cross-origin isolated, so SharedArrayBuffer (shared Wasm memory) exists. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The page: the input as inline JSON (`<` escaped so no `</script>` can end
 * it early), a placeholder result, and a module script that imports page.js
 * dynamically so that a module that fails to load or link is reported in the
 * result instead of silently leaving the placeholder.
 */
export function pageHtml(input: PageInput): string {
  const json = JSON.stringify(input).replace(/</g, '\\u003c');
  return `<!doctype html>
<meta charset="utf-8">
<title>tsbpf in the browser</title>
<pre id="result">{"ok":false,"error":"the page's module script did not run"}</pre>
<script type="application/json" id="input">${json}</script>
<script type="module">
const out = document.getElementById('result');
const report = (r) => { out.textContent = JSON.stringify(r); };
try {
  const { runPage } = await import('/dist/test/browser/page.js');
  const input = JSON.parse(document.getElementById('input').textContent);
  report({ ok: true, result: await runPage(input) });
} catch (e) {
  report({ ok: false, error: e instanceof Error ? String(e.stack || e) : String(e) });
}
</script>
`;
}

/**
 * Serve `/isolated.html` (with COOP/COEP), `/plain.html` (without) and the
 * files under `<root>/dist/` on 127.0.0.1, random port. Anything else is 404;
 * paths that escape dist/ are refused.
 */
export async function startServer(root: string, html: string): Promise<{ server: Server; origin: string }> {
  const dist = resolve(root, 'dist');
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const common = { 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    if (path === '/isolated.html' || path === '/plain.html') {
      const iso = path === '/isolated.html' ? ISOLATION : {};
      res.writeHead(200, { 'Content-Type': TYPES['.html']!, ...common, ...iso });
      res.end(html);
      return;
    }
    const file = resolve(root, '.' + path);
    const type = TYPES[extname(file)];
    if (!file.startsWith(dist + sep) || type === undefined || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain', ...common });
      res.end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': type, ...common, ...ISOLATION });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

export class BrowserRunError extends Error {
  override readonly name = 'BrowserRunError';
}

function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Pull the page's report out of Chromium's --dump-dom output. */
export function parseDump(dom: string): PageReport {
  const m = /<pre id="result">([\s\S]*?)<\/pre>/.exec(dom);
  if (m === null) throw new BrowserRunError(`no #result element in the dumped DOM (${dom.length} bytes): ${dom.slice(0, 300)}`);
  try {
    return JSON.parse(unescapeHtml(m[1]!)) as PageReport;
  } catch (e) {
    throw new BrowserRunError(`#result is not JSON: ${m[1]!.slice(0, 300)}`, { cause: e });
  }
}

/**
 * Load `url` in headless Chromium and return its report. The browser runs in
 * its own process group so that on timeout the whole tree (renderer, GPU and
 * utility processes) is killed; it never outlives the call.
 */
export interface ChromiumRun {
  readonly report: PageReport;
  /** The page's console messages (Chromium's `INFO:CONSOLE` log lines). */
  readonly console: readonly string[];
}

export async function runChromium(chromium: string, url: string, timeoutMs: number): Promise<ChromiumRun> {
  const profile = mkdtempSync(join(tmpdir(), 'tsbpf-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`,
    // the page's console goes to stderr: the real cause when a module fails to load
    '--enable-logging=stderr', '--v=0',
    '--virtual-time-budget=20000', '--dump-dom', url,
  ];
  const child = spawn(chromium, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const killTree = (): void => {
    // The group, not just the main process: helper processes may outlive it.
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const code = await new Promise<number | null>((ok, fail) => {
      const timer = setTimeout(() => {
        killTree();
        fail(new BrowserRunError(`chromium did not finish within ${timeoutMs} ms; killed. stderr tail:\n${stderr.slice(-1500)}`));
      }, timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        fail(new BrowserRunError(`cannot start ${chromium}: ${e.message}`, { cause: e }));
      });
      child.once('close', (c) => {
        clearTimeout(timer);
        ok(c);
      });
    });
    if (code !== 0) throw new BrowserRunError(`chromium exited with ${code}; stderr tail:\n${stderr.slice(-1500)}`);
    const console = stderr.split('\n').filter((l) => l.includes(':CONSOLE'));
    return { report: parseDump(stdout), console };
  } finally {
    killTree();
    rmSync(profile, { recursive: true, force: true });
  }
}

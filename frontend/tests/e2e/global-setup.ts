// Starts the real `coffee` server on a free port with a fresh data directory, or uses the one
// in COFFEE_URL. The tests find it through process.env.COFFEE_URL; the returned function stops it.
//
// Tests that need the server gone for a while (the recovery test) ask this process, which owns
// the server, through a small control endpoint on loopback (COFFEE_CONTROL_URL): `POST /stop`
// stops the server, `POST /start` starts it again on the same port with the same data directory.
// With COFFEE_URL set there is no control endpoint, and such tests are skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FRONTEND_DIR = path.resolve(import.meta.dirname, '../..');
const LISTENING = /coffee listening on (http:\/\/[\w.:[\]-]+)/;
const START_TIMEOUT_MS = 30_000;

interface Running {
	process: ChildProcess;
	url: string;
	exited: Promise<void>;
}

async function start(bin: string, listen: string, dataDir: string): Promise<Running> {
	const server = spawn(bin, ['serve', '--listen', listen, '--data-dir', dataDir], {
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
	try {
		const url = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`coffee did not say "coffee listening on …" within ${START_TIMEOUT_MS / 1000} s`)),
				START_TIMEOUT_MS
			);
			server.once('error', reject);
			exited.then(() => reject(new Error(`coffee exited early (code ${server.exitCode})`)));
			// Keep reading stdout after the line we wait for, so the server never blocks on a full pipe.
			createInterface({ input: server.stdout! }).on('line', (line) => {
				const match = LISTENING.exec(line);
				if (match) {
					clearTimeout(timer);
					resolve(match[1]);
				}
			});
		});
		return { process: server, url, exited };
	} catch (error) {
		await stop({ process: server, url: '', exited });
		throw error;
	}
}

async function stop(running: Running | undefined): Promise<void> {
	if (!running) return;
	const server = running.process;
	if (server.exitCode === null && server.signalCode === null) {
		server.kill('SIGTERM');
		const timeout = setTimeout(() => server.kill('SIGKILL'), 10_000);
		await running.exited;
		clearTimeout(timeout);
	}
}

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
	if (process.env.COFFEE_URL) return undefined;

	const bin = process.env.COFFEE_BIN
		? path.resolve(process.env.COFFEE_BIN)
		: path.join(FRONTEND_DIR, '../target/release/coffee');
	if (!existsSync(bin)) {
		throw new Error(
			`No coffee binary at ${bin}: build it (cargo build --release), set COFFEE_BIN to its path, ` +
				'or set COFFEE_URL to a running server.'
		);
	}
	const dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-e2e-'));
	let server: Running | undefined;
	try {
		server = await start(bin, '127.0.0.1:0', dataDir);
	} catch (error) {
		rmSync(dataDir, { recursive: true, force: true });
		throw error;
	}
	const url = server.url;
	const listen = new URL(url).host;
	process.env.COFFEE_URL = url;

	// One request at a time; each answers once the server has stopped, or is listening again.
	let busy = Promise.resolve();
	const control = createServer((req, res) => {
		const act = async () => {
			if (req.method === 'POST' && req.url === '/stop') {
				await stop(server);
				server = undefined;
			} else if (req.method === 'POST' && req.url === '/start') {
				if (!server) server = await start(bin, listen, dataDir);
			} else {
				res.writeHead(404).end();
				return;
			}
			res.writeHead(204).end();
		};
		busy = busy.then(act).catch((error: unknown) => {
			res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
		});
	});
	await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
	process.env.COFFEE_CONTROL_URL = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

	return async () => {
		await new Promise<void>((resolve) => control.close(() => resolve()));
		await busy;
		await stop(server);
		rmSync(dataDir, { recursive: true, force: true });
	};
}

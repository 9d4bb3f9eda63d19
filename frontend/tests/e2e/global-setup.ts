// Starts the real `coffee` server on a free port with a fresh data directory, or uses the one
// in COFFEE_URL. The tests find it through process.env.COFFEE_URL; the returned function stops it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FRONTEND_DIR = path.resolve(import.meta.dirname, '../..');
const LISTENING = /coffee listening on (http:\/\/[\w.:[\]-]+)/;
const START_TIMEOUT_MS = 30_000;

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
	const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));

	const stop = async () => {
		if (server.exitCode === null && server.signalCode === null) {
			server.kill('SIGTERM');
			const timeout = setTimeout(() => server.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(timeout);
		}
		rmSync(dataDir, { recursive: true, force: true });
	};

	try {
		process.env.COFFEE_URL = await new Promise<string>((resolve, reject) => {
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
	} catch (error) {
		await stop();
		throw error;
	}
	return stop;
}

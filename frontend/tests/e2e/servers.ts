// Starting and stopping the real `coffee` processes (and, for the distributed mode, nats-server
// and a PostgreSQL database) for the browser tests, and the control endpoint through which a
// test stops and starts the server its pages talk to.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FRONTEND_DIR = path.resolve(import.meta.dirname, '../..');
const LISTENING = /coffee listening on (http:\/\/[\w.:[\]-]+)/;
const START_TIMEOUT_MS = 60_000;

export interface Running {
	process: ChildProcess;
	url: string;
	exited: Promise<void>;
}

/** The binary under test: COFFEE_BIN, else the release build. */
export function coffeeBin(): string {
	const bin = process.env.COFFEE_BIN
		? path.resolve(process.env.COFFEE_BIN)
		: path.join(FRONTEND_DIR, '../target/release/coffee');
	if (!existsSync(bin)) {
		throw new Error(
			`No coffee binary at ${bin}: build it (cargo build --release), set COFFEE_BIN to its path, ` +
				'or set COFFEE_URL to a running server.'
		);
	}
	return bin;
}

/** A member of staff the tests sign in as. */
export interface StaffLogin {
	name: string;
	password: string;
	role: 'barista' | 'admin';
}

/** The environment variable that hands the staff's logins from the global setup to the tests. */
export const STAFF_ENV = 'COFFEE_E2E_STAFF';

/**
 * Creates a barista and an admin with the real CLI (`coffee staff add NAME --role ROLE
 * --password-stdin`, the password on standard input), on the store `where` names
 * (`--data-dir DIR` for serve, `--database postgres://...` for the distributed mode), with
 * passwords made for this run, and puts their logins in the environment for the tests.
 */
export function addStaff(bin: string, where: string[]): Record<'barista' | 'admin', StaffLogin> {
	const staff = {
		barista: { name: 'e2e-barista', password: randomBytes(12).toString('hex'), role: 'barista' },
		admin: { name: 'e2e-admin', password: randomBytes(12).toString('hex'), role: 'admin' }
	} as const;
	for (const member of Object.values(staff)) {
		try {
			execFileSync(bin, ['staff', 'add', member.name, '--role', member.role, '--password-stdin', ...where], {
				input: `${member.password}\n`,
				stdio: ['pipe', 'pipe', 'pipe']
			});
		} catch (error) {
			const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
			throw new Error(`coffee staff add ${member.name} --role ${member.role} failed: ${stderr || error}`);
		}
	}
	process.env[STAFF_ENV] = JSON.stringify(staff);
	return staff;
}

/** A key for the distributed mode's processes (`--auth-key`: hex, 32 bytes). */
export const newAuthKey = (): string => randomBytes(32).toString('hex');

/**
 * The browser tests' seeds start dozens of customer sessions a second, all from 127.0.0.1, while
 * other workers' pages load: far over the default per-address rate (50 requests a second), which
 * crates/coffee/tests/it/limits.rs tests. The servers here take twenty times that.
 */
export const TEST_RATE_LIMIT = ['--rate-limit', '1000'];

/** Runs `coffee <args> --listen <listen>` and waits for the line saying where it listens. */
export async function startCoffee(bin: string, args: string[], listen = '127.0.0.1:0'): Promise<Running> {
	return startListening(bin, [...args, '--listen', listen], `coffee ${args[0]}`, LISTENING);
}

/**
 * Runs `bin args` and waits for the line `listening` matches (its first group: the URL). Its
 * standard input stays open while it runs (a process that stops when it closes dies with us).
 */
async function startListening(bin: string, args: string[], name: string, listening: RegExp): Promise<Running> {
	const server = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
	const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
	try {
		const url = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`${name} did not say where it listens within ${START_TIMEOUT_MS / 1000} s`)),
				START_TIMEOUT_MS
			);
			server.once('error', reject);
			exited.then(() => reject(new Error(`${name} exited early (code ${server.exitCode})`)));
			// Keep reading stdout after the line we wait for, so the server never blocks on a full pipe.
			createInterface({ input: server.stdout! }).on('line', (line) => {
				const match = listening.exec(line);
				if (match) {
					clearTimeout(timer);
					resolve(match[1]);
				}
			});
		});
		return { process: server, url, exited };
	} catch (error) {
		await stopProcess({ process: server, url: '', exited });
		throw error;
	}
}

/** The test kit's fake Stripe API (FAKE_STRIPE_BIN, else beside the coffee binary under test). */
export async function startFakeStripe(
	coffee: string,
	keys: { secretKey: string; publishableKey: string; webhookSecret: string },
	webhookUrl: string
): Promise<Running> {
	const bin = process.env.FAKE_STRIPE_BIN ?? path.join(path.dirname(coffee), 'fake-stripe');
	if (!existsSync(bin)) {
		throw new Error(`No fake-stripe at ${bin}: build it (cargo build -p coffee-testkit --bin fake-stripe) or set FAKE_STRIPE_BIN`);
	}
	const args = ['--secret-key', keys.secretKey, '--publishable-key', keys.publishableKey];
	args.push('--webhook-secret', keys.webhookSecret, '--webhook-url', webhookUrl);
	return startListening(bin, args, 'fake-stripe', /fake stripe listening on (http:\/\/[\w.:[\]-]+)/);
}

/** SIGTERM, and SIGKILL if it has not exited within 10 s. */
export async function stopProcess(running: Running | undefined): Promise<void> {
	if (!running) return;
	const child = running.process;
	if (child.exitCode === null && child.signalCode === null) {
		child.kill('SIGTERM');
		const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
		await running.exited;
		clearTimeout(timeout);
	}
}

/**
 * A control endpoint on loopback, one request at a time: `POST /stop` answers once `stop` is
 * done, `POST /start` once `start` is. Its URL goes in COFFEE_CONTROL_URL for the tests.
 */
export async function controlEndpoint(stop: () => Promise<void>, start: () => Promise<void>): Promise<() => Promise<void>> {
	let busy = Promise.resolve();
	const control = createServer((req, res) => {
		const act = async () => {
			if (req.method === 'POST' && req.url === '/stop') await stop();
			else if (req.method === 'POST' && req.url === '/start') await start();
			else {
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
	};
}

export async function freePort(): Promise<number> {
	const server = createNetServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

/** The nats-server scripts/setup installs (or NATS_SERVER_BIN), with JetStream, on a free port. */
export async function startNats(): Promise<{ url: string; stop: () => Promise<void> }> {
	const bin = process.env.NATS_SERVER_BIN ?? path.join(FRONTEND_DIR, '../.tools/venv/bin/nats-server');
	if (!existsSync(bin)) throw new Error(`No nats-server at ${bin}: run scripts/setup, or set NATS_SERVER_BIN`);
	const port = await freePort();
	const store = mkdtempSync(path.join(tmpdir(), 'coffee-e2e-nats-'));
	const log = openSync(path.join(store, 'nats-server.log'), 'a');
	const child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: ['ignore', 'ignore', log] });
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const deadline = Date.now() + 15_000;
	for (;;) {
		const up = await new Promise<boolean>((resolve) => {
			const socket = connect(port, '127.0.0.1');
			socket.once('connect', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (up) break;
		if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}; see ${store}/nats-server.log`);
		await new Promise((r) => setTimeout(r, 50));
	}
	return { url: `nats://127.0.0.1:${port}`, stop: () => stopProcess({ process: child, url: '', exited }) };
}

/** A fresh database on the machine's PostgreSQL (COFFEE_TEST_POSTGRES, as the Rust tests use). */
export function createDatabase(): { url: string; drop: () => void } {
	const server = process.env.COFFEE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';
	const name = `coffee_e2e_${Date.now()}_${process.pid}`;
	const psql = (sql: string) =>
		execFileSync('psql', [`${server}/postgres`, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: 'pipe' });
	try {
		psql(`CREATE DATABASE ${name}`);
	} catch (error) {
		throw new Error(`cannot create a PostgreSQL database at ${server} (is PostgreSQL running? run scripts/setup): ${error}`);
	}
	return { url: `${server}/${name}`, drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

// Starts the real `coffee serve` on a free port with a fresh data directory, or uses the one in
// COFFEE_URL. The tests find it through process.env.COFFEE_URL; the returned function stops it.
// A barista and an admin are made with `coffee staff add` on that data directory (the server
// running); their logins reach the tests through COFFEE_E2E_STAFF (fixtures.ts `staff`). With
// COFFEE_URL set, COFFEE_E2E_STAFF must be given too.
//
// Tests that need the server gone for a while (the recovery test) ask this process, which owns
// the server, through a control endpoint on loopback (COFFEE_CONTROL_URL, see servers.ts): the
// server stops, then starts again on the same port with the same data directory. With COFFEE_URL
// set there is no control endpoint, and such tests fail saying so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
	addStaff,
	coffeeBin,
	controlEndpoint,
	startCoffee,
	STAFF_ENV,
	stopProcess,
	TEST_RATE_LIMIT,
	type Running
} from './servers';

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
	if (process.env.COFFEE_URL) {
		if (!process.env[STAFF_ENV]) throw new Error(`with COFFEE_URL set, give the staff's logins in ${STAFF_ENV}`);
		return undefined;
	}
	const bin = coffeeBin();
	const dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-e2e-'));
	const serve = (listen?: string) => startCoffee(bin, ['serve', '--data-dir', dataDir, ...TEST_RATE_LIMIT], listen);
	let server: Running | undefined;
	try {
		server = await serve();
		addStaff(bin, ['--data-dir', dataDir]);
	} catch (error) {
		await stopProcess(server);
		rmSync(dataDir, { recursive: true, force: true });
		throw error;
	}
	const listen = new URL(server.url).host;
	process.env.COFFEE_URL = server.url;
	const closeControl = await controlEndpoint(
		async () => {
			await stopProcess(server);
			server = undefined;
		},
		async () => {
			server ??= await serve(listen);
		}
	);
	return async () => {
		await closeControl();
		await stopProcess(server);
		rmSync(dataDir, { recursive: true, force: true });
	};
}

// The distributed mode for the browser: a nats-server and a fresh PostgreSQL database, the
// order, payment and fulfilment services each in its own process, and the gateway (GraphQL and
// the web app) that the pages talk to. The control endpoint stops and starts the gateway, on the
// same port, while the services go on. Every process shares one key (--auth-key) for the
// sessions; the barista and the admin are made with `coffee staff add --database` on the
// gateway's identity database.
import {
	addStaff,
	coffeeBin,
	controlEndpoint,
	createDatabase,
	newAuthKey,
	startCoffee,
	startNats,
	stopProcess,
	TEST_RATE_LIMIT,
	type Running
} from './servers';

export default async function distributedSetup(): Promise<() => Promise<void>> {
	const bin = coffeeBin();
	const nats = await startNats();
	const db = createDatabase();
	const services: Running[] = [];
	let gateway: Running | undefined;
	const stopAll = async () => {
		await stopProcess(gateway);
		for (const s of services.reverse()) await stopProcess(s);
		await nats.stop();
		db.drop();
	};
	try {
		const authKey = ['--auth-key', newAuthKey()];
		const backends = ['--bus', nats.url, '--database', db.url, ...authKey, ...TEST_RATE_LIMIT];
		for (const service of ['order', 'payment', 'fulfilment']) {
			services.push(await startCoffee(bin, [service, ...backends]));
		}
		const [order, payment, fulfilment] = services.map((s) => s.url);
		const gatewayArgs = ['gateway', ...backends, '--order-url', order, '--payment-url', payment, '--fulfilment-url', fulfilment];
		gateway = await startCoffee(bin, gatewayArgs);
		addStaff(bin, ['--database', db.url]);
		const listen = new URL(gateway.url).host;
		process.env.COFFEE_URL = gateway.url;
		const closeControl = await controlEndpoint(
			async () => {
				await stopProcess(gateway);
				gateway = undefined;
			},
			async () => {
				gateway ??= await startCoffee(bin, gatewayArgs, listen);
			}
		);
		return async () => {
			await closeControl();
			await stopAll();
		};
	} catch (error) {
		await stopAll();
		throw error;
	}
}

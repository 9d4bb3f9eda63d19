// Who is ordering on this device: a name the customer chose and an id generated once,
// both kept in localStorage (there are no accounts). While the pages are prerendered at build
// time there is no localStorage: no one is ordering then.
import { browser } from '$app/environment';

const NAME_KEY = 'coffee.customerName';
const ID_KEY = 'coffee.customerId';

/** crypto.randomUUID exists only in secure contexts; a phone on http://<lan-ip> is not one. */
function randomUuid(): string {
	if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	bytes[6] = (bytes[6] & 0x0f) | 0x40;
	bytes[8] = (bytes[8] & 0x3f) | 0x80;
	const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function customerId(): string {
	if (!browser) return '';
	let id = localStorage.getItem(ID_KEY);
	if (!id) {
		id = randomUuid();
		localStorage.setItem(ID_KEY, id);
	}
	return id;
}

class Customer {
	readonly id = customerId();
	name = $state((browser && localStorage.getItem(NAME_KEY)) || '');

	rename(name: string) {
		this.name = name.trim();
		localStorage.setItem(NAME_KEY, this.name);
	}
}

export const customer = new Customer();

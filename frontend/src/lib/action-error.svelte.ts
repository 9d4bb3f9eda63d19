// The error of an action (order, pay, cancel, complete…): words for people, and gone by itself
// once the shop is back when it failed only because the shop was out of reach. Create it while a
// component initialises (it registers an effect).
import { friendlyError, isOutage, type Wording } from './errors';
import { onReconnect } from './graphql';

export class ActionError {
	message = $state<string | null>(null);
	#outage = false;

	constructor(private readonly wording: Wording) {
		$effect(() =>
			onReconnect(() => {
				if (this.#outage) this.clear();
			})
		);
	}

	fail(error: unknown) {
		this.#outage = isOutage(error);
		this.message = friendlyError(error, this.wording);
	}

	clear() {
		this.message = null;
		this.#outage = false;
	}
}

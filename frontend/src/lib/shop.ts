// What the shop's state means for a customer about to order.
import type { Shop } from './api';

/** Why a customer cannot order now, or null when they can. */
export function closedReason(shop: Shop | null): { title: string; detail: string | null } | null {
	if (!shop) return null;
	if (!shop.open) return { title: "We're closed", detail: shop.message ?? null };
	if (shop.capacity != null && shop.queueLength >= shop.capacity) {
		return { title: "We're busy right now", detail: 'Please try again in a few minutes.' };
	}
	return null;
}

/** "About 4 min" for a wait in seconds; null when there is no estimate. */
export function waitWords(seconds: number | null | undefined): string | null {
	if (seconds == null) return null;
	const minutes = Math.max(1, Math.round(seconds / 60));
	return `About ${minutes} min`;
}

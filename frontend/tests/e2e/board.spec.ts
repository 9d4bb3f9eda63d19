// The pickup board's rules on their own (src/lib/board.ts), without a browser.
import { expect, test } from '@playwright/test';
import type { PickupOrder } from '../../src/lib/api';
import { fitTiles, onBoard, READY_FOR_MS, TILE_HEIGHT_EM, TILE_WIDTH_EM } from '../../src/lib/board';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const order = (number: string, status: string, updatedMsAgo: number, createdMsAgo = updatedMsAgo + 60_000): PickupOrder => ({
	number,
	name: number,
	status,
	createdAt: (NOW - createdMsAgo) / 1000,
	updatedAt: (NOW - updatedMsAgo) / 1000
});

test('a ready order stays on the board for 15 minutes after it became ready', () => {
	const orders = [
		order('fresh', 'ORDER_COMPLETED', 1000),
		order('almost', 'ORDER_COMPLETED', READY_FOR_MS - 1000),
		order('gone', 'ORDER_COMPLETED', READY_FOR_MS),
		order('making', 'ORDER_IN_PROGRESS', READY_FOR_MS * 4),
		// Placed yesterday (UTC) and still being made: it stays until it is ready (or cancelled).
		order('yesterday', 'ORDER_IN_PROGRESS', 1000, 13 * 3600 * 1000),
		order('cancelled', 'ORDER_CANCELLED', 0)
	];
	const board = onBoard(orders, NOW);
	expect(board.ready.map((o) => o.number)).toEqual(['fresh', 'almost']);
	expect(board.preparing.map((o) => o.number)).toEqual(['yesterday', 'making']);
});

test('tiles fit the room they have, and say "+N more" rather than overflow', () => {
	const options = { gap: 12, minFont: 56, maxFont: 150 };
	for (const count of [1, 5, 12, 30, 45, 200]) {
		const [width, height] = [1272, 896];
		const layout = fitTiles(count, width, height, options);
		expect(layout.columns * (layout.fontPx * TILE_WIDTH_EM) + (layout.columns - 1) * 12).toBeLessThanOrEqual(width);
		const rows = Math.ceil((layout.shown + (layout.shown < count ? 1 : 0)) / layout.columns);
		expect(rows * Math.floor(layout.fontPx * TILE_HEIGHT_EM) + (rows - 1) * 12).toBeLessThanOrEqual(height);
		expect(layout.fontPx).toBeGreaterThanOrEqual(56);
		if (count <= 30) expect(layout.shown).toBe(count);
		else expect(layout.shown).toBeLessThan(count);
	}
	expect(fitTiles(1, 1272, 896, options).fontPx).toBe(150);
});

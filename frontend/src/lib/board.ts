// The pickup board's rules, apart from the page so they can be tested on their own:
// which orders it shows, and how big their tiles can be in the room the screen has.
import type { PickupOrder } from './api';

/** A ready order leaves the board this long after it became ready, unless the shop says otherwise (`--pickup-board-minutes`). */
export const READY_FOR_MS = 15 * 60 * 1000;

/**
 * What the board shows at `nowMs`: orders being made (oldest first), whatever day they were
 * placed on (one placed at 23:59 is still being made at 00:01), and ready ones (newest first).
 */
export function onBoard<T extends PickupOrder>(
	orders: T[],
	nowMs: number,
	readyForMs = READY_FOR_MS
): { preparing: T[]; ready: T[] } {
	const preparing = orders
		.filter((o) => o.status === 'ORDER_IN_PROGRESS')
		.toSorted((a, b) => a.createdAt - b.createdAt);
	// updatedAt of a completed order is when it became ready.
	const ready = orders
		.filter((o) => o.status === 'ORDER_COMPLETED' && nowMs - o.updatedAt * 1000 < readyForMs)
		.toSorted((a, b) => b.updatedAt - a.updatedAt);
	return { preparing, ready };
}

/** When the next ready order leaves the board, in ms from `nowMs` (null: none will). */
export function nextDeparture(ready: PickupOrder[], nowMs: number, readyForMs = READY_FOR_MS): number | null {
	if (ready.length === 0) return null;
	return Math.max(0, Math.min(...ready.map((o) => o.updatedAt * 1000 + readyForMs - nowMs)));
}

// A tile is the order's number (font size f: what the barista calls and the customer looks for)
// over the customer's first name (0.55 f, one line, cut with an ellipsis): 2.15 f high with its
// padding, and at least 3.8 f wide (four digits, or seven letters of the name).
export const TILE_HEIGHT_EM = 2.15;
export const TILE_WIDTH_EM = 3.8;

export interface TileLayout {
	columns: number;
	rows: number;
	/** The number's font size; the tile's height is TILE_HEIGHT_EM times this. */
	fontPx: number;
	/** How many tiles to show; when fewer than the orders, the last cell says "+N more". */
	shown: number;
}

/**
 * The biggest tiles that fit `count` orders into `width` x `height` px, in a grid. When even
 * `minFont` tiles do not fit them all, as many as fit are shown and one cell counts the rest: the
 * board never scrolls.
 */
export function fitTiles(
	count: number,
	width: number,
	height: number,
	{ gap, minFont, maxFont }: { gap: number; minFont: number; maxFont: number }
): TileLayout {
	if (count === 0 || width <= 0 || height <= 0) return { columns: 1, rows: 1, fontPx: maxFont, shown: count };
	const font = (columns: number, rows: number) => {
		const tileWidth = (width - gap * (columns - 1)) / columns;
		const tileHeight = (height - gap * (rows - 1)) / rows;
		return Math.min(maxFont, tileHeight / TILE_HEIGHT_EM, tileWidth / TILE_WIDTH_EM);
	};
	let best: TileLayout = { columns: 1, rows: count, fontPx: font(1, count), shown: count };
	for (let columns = 2; columns <= count; columns++) {
		const rows = Math.ceil(count / columns);
		const f = font(columns, rows);
		if (f > best.fontPx) best = { columns, rows, fontPx: f, shown: count };
	}
	if (best.fontPx >= minFont) return { ...best, fontPx: Math.floor(best.fontPx) };
	const columns = Math.max(1, Math.floor((width + gap) / (minFont * TILE_WIDTH_EM + gap)));
	const rows = Math.max(1, Math.floor((height + gap) / (minFont * TILE_HEIGHT_EM + gap)));
	return { columns, rows, fontPx: minFont, shown: Math.max(0, columns * rows - 1) };
}

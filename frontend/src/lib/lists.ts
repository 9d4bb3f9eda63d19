// Live records: the first load, the mutations' answers and the subscriptions all deliver
// records, in any order, and a reconnect delivers them again; keep the newest version of each.

interface Versioned {
	id: string;
	updatedAt: number;
}

/** The newer of two versions of a record (`next` on a tie: it arrived last). */
export const newer = <T extends { updatedAt: number }>(current: T | null | undefined, next: T): T =>
	current && current.updatedAt > next.updatedAt ? current : next;

/** `list` with `item` put in, unless the list already holds a newer version of it. */
export function upsert<T extends Versioned>(list: T[], item: T): T[] {
	const index = list.findIndex((x) => x.id === item.id);
	if (index === -1) return [...list, item];
	const kept = newer(list[index], item);
	return kept === list[index] ? list : list.with(index, kept);
}

/** Merges a freshly loaded list into the live one. */
export const upsertAll = <T extends Versioned>(list: T[], items: T[]): T[] => items.reduce(upsert, list);

export const oldestFirst = <T extends { createdAt: number }>(list: T[]): T[] =>
	list.toSorted((a, b) => a.createdAt - b.createdAt);

export const newestFirst = <T extends { createdAt: number }>(list: T[]): T[] =>
	list.toSorted((a, b) => b.createdAt - a.createdAt);

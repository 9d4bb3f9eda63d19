// Live lists: the first load and the subscription both deliver records, in either order,
// and a reconnect delivers them again; keep the newest version of each.

interface Versioned {
	id: string;
	updatedAt: number;
}

/** `list` with `item` put in, unless the list already holds a newer version of it. */
export function upsert<T extends Versioned>(list: T[], item: T): T[] {
	const index = list.findIndex((x) => x.id === item.id);
	if (index === -1) return [...list, item];
	if (list[index].updatedAt > item.updatedAt) return list;
	return list.with(index, item);
}

/** Merges a freshly loaded list into the live one. */
export const upsertAll = <T extends Versioned>(list: T[], items: T[]): T[] => items.reduce(upsert, list);

export const oldestFirst = <T extends { createdAt: number }>(list: T[]): T[] =>
	list.toSorted((a, b) => a.createdAt - b.createdAt);

export const newestFirst = <T extends { createdAt: number }>(list: T[]): T[] =>
	list.toSorted((a, b) => b.createdAt - a.createdAt);

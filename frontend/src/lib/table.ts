// The columns of the admin's record tables (components/RecordTable.svelte).

export interface Column<R> {
	header: string;
	/** The cell's text, or a status badge. */
	cell: (row: R) => string | { status: string; label: string };
	/** Numbers and times line up on the right. */
	numeric?: boolean;
	/** Free text (notes) may wrap; everything else stays on one line. */
	wrap?: boolean;
}

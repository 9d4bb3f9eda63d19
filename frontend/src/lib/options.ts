// A drink's options as people read them, and the price the menu gives a choice of them. The
// server prices every order itself; this is what the menu shows before the customer orders.
import type { ChosenOptions, MenuCoffee } from './api';

export const DEFAULT_OPTIONS: ChosenOptions = { size: 'regular', milk: 'full', extraShots: 0 };

/** The menu's price of `coffee` with `chosen`, in cents. */
export function priceWith(coffee: MenuCoffee, chosen: ChosenOptions): number {
	const delta = (list: { value: string; priceDelta: number }[], value: string) =>
		list.find((c) => c.value === value)?.priceDelta ?? 0;
	return (
		coffee.price +
		delta(coffee.options.size, chosen.size) +
		delta(coffee.options.milk, chosen.milk) +
		coffee.options.extraShot * chosen.extraShots
	);
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "Large, oat milk, 1 extra shot". */
export function describeOptions(o: ChosenOptions | null | undefined): string | null {
	if (!o) return null;
	const shots = o.extraShots === 0 ? '' : o.extraShots === 1 ? ', 1 extra shot' : `, ${o.extraShots} extra shots`;
	return `${capital(o.size)}, ${o.milk} milk${shots}`;
}

/** "Large (+A$0.70)": a choice and what it adds. */
export function choiceLabel(value: string, priceDelta: number, format: (cents: number) => string): string {
	if (priceDelta === 0) return capital(value);
	return `${capital(value)} (${priceDelta > 0 ? '+' : '−'}${format(Math.abs(priceDelta))})`;
}

// A drink's options as people read them, and the price the menu gives a choice of them. The
// server prices every order itself; this is what the menu shows before the customer orders.
import type { ChosenOptions, MenuCoffee } from './api';

export const DEFAULT_OPTIONS: ChosenOptions = { size: 'regular', milk: 'full', extraShots: 0 };

/**
 * `chosen`, with each choice the drink does not offer (any more: the owner changed it) replaced
 * by the default, or by the drink's first choice when it lacks the default too.
 */
export function fitOptions(coffee: MenuCoffee, chosen: ChosenOptions = DEFAULT_OPTIONS): ChosenOptions {
	const pick = (list: { value: string }[], value: string, fallback: string) =>
		list.some((c) => c.value === value)
			? value
			: list.some((c) => c.value === fallback)
				? fallback
				: (list[0]?.value ?? fallback);
	return {
		size: pick(coffee.options.size, chosen.size, DEFAULT_OPTIONS.size),
		milk: pick(coffee.options.milk, chosen.milk, DEFAULT_OPTIONS.milk),
		extraShots: Math.min(chosen.extraShots, coffee.options.maxExtraShots)
	};
}

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

/** "Small (−A$0.50), Regular, Large (+A$0.70) · Full, Oat (+A$0.60) milk · up to 3 extra shots at A$0.50": a drink's options on the owner's menu. */
export function describeMenuOptions(o: MenuCoffee['options'], format: (cents: number) => string): string {
	const list = (choices: { value: string; priceDelta: number }[]) =>
		choices.map((c) => choiceLabel(c.value, c.priceDelta, format)).join(', ');
	const shots =
		o.maxExtraShots === 0
			? 'no extra shots'
			: `up to ${o.maxExtraShots} extra shot${o.maxExtraShots === 1 ? '' : 's'} at ${format(o.extraShot)}`;
	return `${list(o.size)} · ${list(o.milk)} milk · ${shots}`;
}

// People who ask their system for less motion get a still page.
import { expect, test } from './fixtures';

test('prefers-reduced-motion: no animation, no transition, still spinners', async ({ app }) => {
	const still = await app.open('/', { reducedMotion: 'reduce' });
	const moving = await app.open('/', { reducedMotion: 'no-preference' });
	const styleOf = (page: typeof still) =>
		page.evaluate(() => {
			const spinner = document.createElement('span');
			spinner.className = 'loading loading-spinner';
			const button = document.querySelector('button, a')!;
			document.body.append(spinner);
			const s = getComputedStyle(spinner);
			const b = getComputedStyle(button);
			return { mask: s.maskImage, transition: b.transitionDuration };
		});
	const reduced = await styleOf(still);
	const normal = await styleOf(moving);
	expect(normal.mask).toContain('animate');
	expect(reduced.mask).not.toContain('animate');
	expect(parseFloat(reduced.transition)).toBeLessThanOrEqual(0.001);
});

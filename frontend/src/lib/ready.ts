// Telling a customer their coffee is ready when they may not be looking: a short chime, and a
// browser notification if they allowed one. Either may be unavailable (no audio before the page
// was touched, notifications refused or unsupported); the page's banner is always there.

/** Whether this browser can show notifications, and what the customer said. */
export function notificationState(): NotificationPermission | 'unsupported' {
	return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** Asks once, when the customer presses "Notify me". */
export async function askToNotify(): Promise<NotificationPermission | 'unsupported'> {
	if (typeof Notification === 'undefined') return 'unsupported';
	return Notification.requestPermission();
}

/** A two-note chime of half a second. */
function chime(): void {
	try {
		const audio = new AudioContext();
		for (const [i, hz] of [880, 1320].entries()) {
			const tone = audio.createOscillator();
			const gain = audio.createGain();
			tone.frequency.value = hz;
			gain.gain.setValueAtTime(0.2, audio.currentTime + i * 0.2);
			gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.2 + 0.3);
			tone.connect(gain).connect(audio.destination);
			tone.start(audio.currentTime + i * 0.2);
			tone.stop(audio.currentTime + i * 0.2 + 0.3);
		}
	} catch {
		// No audio here: the banner says it.
	}
}

/** The coffee is ready: chime, and notify if allowed. */
export function announceReady(text: string): void {
	chime();
	if (notificationState() === 'granted') {
		try {
			new Notification('Your coffee is ready', { body: text, tag: 'coffee-ready' });
		} catch {
			// Some browsers only notify from a service worker: the banner says it.
		}
	}
}

// Poller refreshes a view: every interval while the API answers, backing off (doubling up to a
// minute) while it fails, and resting while the tab is hidden.

const MAX_DELAY = 60000;

export class Poller {
  /**
   * @param {() => Promise<void>} fn loads and renders; it throws when the load failed
   * @param {number} interval milliseconds between refreshes
   * @param {(state: {ok: boolean, at: Date, error?: Error, retryIn?: number}) => void} report
   */
  constructor(fn, interval, report) {
    this.fn = fn;
    this.interval = interval;
    this.report = report;
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.running = false;
    this.onVisibility = () => { if (!document.hidden) this.now(); };
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  /** now refreshes at once (and then keeps the rhythm). */
  async now() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.running) { this.again = true; return; }
    this.running = true;
    let delay = this.interval;
    try {
      await this.fn();
      this.failures = 0;
      this.report({ ok: true, at: new Date() });
    } catch (error) {
      this.failures++;
      delay = Math.min(this.interval * 2 ** this.failures, MAX_DELAY);
      this.report({ ok: false, at: new Date(), error, retryIn: delay });
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) { this.again = false; delay = 0; }
    this.timer = setTimeout(() => { if (document.hidden) return; this.now(); }, delay);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }
}

// Checks a label config on the server (`POST /api/projects/validate/`) while it is being edited.
//
// The endpoint is throttled per user (TESSERA_LABEL_CONFIG_VALIDATE_RATE), so a check goes out only
// after the text has rested DEBOUNCE_MS, at most one every MIN_GAP_MS, one at a time, and only for a
// text that differs from the last one sent. A refusal for the rate (429) is tried again later.

import { api, ApiError } from "../api";

const DEBOUNCE_MS = 600;
const MIN_GAP_MS = 600;
const THROTTLED_RETRY_MS = 3000;

export type CheckResult =
  | { state: "valid"; xml: string; variables: string[] }
  | { state: "invalid"; xml: string; code: string; message: string }
  | { state: "unavailable"; xml: string; message: string };

export class ConfigCheck {
  private wanted = "";
  private lastSent: string | null = null;
  private lastSentAt = 0;
  private inFlight = false;
  private timer = 0;
  private stopped = false;
  private last: CheckResult | null = null;

  constructor(
    private readonly onResult: (result: CheckResult) => void,
    private readonly onPending: () => void,
  ) {}

  /** The text changed: check it once it rests (the last answer for this very text is reused). */
  request(xml: string): void {
    this.wanted = xml;
    if (this.last && this.last.xml === xml && this.last.state !== "unavailable") {
      window.clearTimeout(this.timer);
      this.onResult(this.last);
      return;
    }
    this.onPending();
    this.arm(DEBOUNCE_MS);
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
  }

  private arm(delay: number): void {
    window.clearTimeout(this.timer);
    const gap = this.lastSentAt + MIN_GAP_MS - performance.now();
    this.timer = window.setTimeout(() => void this.run(), Math.max(delay, gap, 0));
  }

  private async run(): Promise<void> {
    if (this.stopped || this.inFlight || this.wanted === this.lastSent) return;
    const xml = this.wanted;
    this.inFlight = true;
    this.lastSent = xml;
    this.lastSentAt = performance.now();
    let result: CheckResult;
    let retry = 0;
    try {
      const answer = await api<{ data_variables: string[] }>("POST", "/api/projects/validate/", { label_config: xml });
      result = { state: "valid", xml, variables: answer.data_variables };
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        result = { state: "invalid", xml, code: error.code, message: error.message };
      } else {
        if (error instanceof ApiError && error.status === 429) retry = THROTTLED_RETRY_MS;
        this.lastSent = null; // not answered: this text is still to be checked
        result = { state: "unavailable", xml, message: (error as Error).message };
      }
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    this.last = result;
    if (xml === this.wanted && !retry) this.onResult(result);
    if (retry) this.arm(retry);
    else if (this.wanted !== this.lastSent && this.wanted !== xml) this.arm(0);
  }
}

/**
 * A demo section: what it prints for people, and the same figures as JSON (with
 * units in the key names) for `xent demo --json` and the report.
 */
export interface DemoSection {
  /** Stable key in the JSON output. */
  key: string;
  title: string;
  /** Lines printed under the title. */
  lines: string[];
  /** Figures for --json; every numeric key names its unit. */
  data: Record<string, unknown>;
}

/** xent's version, printed by `xent --version` and written into every result and report. */
export const VERSION = '0.1.0';

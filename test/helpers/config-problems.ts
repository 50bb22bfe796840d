import { ConfigError } from '../../src/config/index.ts';

/** The problems of the ConfigError that `fn` throws; fails the test when it throws none or another error. */
export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

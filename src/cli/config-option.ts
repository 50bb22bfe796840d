import { ConfigError, loadConfig, type LoadedConfig } from '../config/index.ts';

/** Loads the config a command was given, or prints why it cannot be used and returns undefined. */
export function loadConfigForCommand(path: string | undefined): LoadedConfig | undefined {
  try {
    return loadConfig(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return undefined;
  }
}

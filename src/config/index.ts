export { configSchema, snowflake, severities, type Config, type ConfigInput, type Severity } from './schema.ts';
export { loadConfig, parseConfig, resolveSecrets, describeResolved, endpointsOf, defaultConfigPath, ConfigError, type LoadedConfig, type Secrets } from './load.ts';
export { parseYaml, toYaml } from './yaml.ts';

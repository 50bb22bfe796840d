import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The sandbox page's script runs in the browser (checked by src/sandbox/page/tsconfig.json).
    files: ['src/sandbox/page/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', window: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly' },
    },
  },
  {
    // The CLI, benchmarks and examples talk to a person on stdout.
    files: ['src/cli/**', 'bench/**', 'examples/**', 'bin/**', 'deploy/**'],
    rules: { 'no-console': 'off' },
  },
);

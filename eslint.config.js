// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import boundaries of DESIGN.md §2, as lint rules. */
const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'net', 'http', 'https', 'crypto', 'child_process', 'events', 'stream', 'url', 'util', 'ws', 'pg', 'kysely', 'pino', 'ldapjs'];

/**
 * server/ never imports connector-sim/ or test/, and only ldap/ldap-server.ts
 * imports ldapjs. Layer-specific blocks below extend this (flat config lets a
 * later block replace a rule, so each carries the base restrictions too).
 */
function serverRestrictions({ allowLdapjs = false, paths = [], patterns = [] } = {}) {
  return {
    paths: [...(allowLdapjs ? [] : [{ name: 'ldapjs', message: 'only server/ldap/ldap-server.ts imports ldapjs' }]), ...paths],
    patterns: [{ group: ['**/connector-sim/**', '**/test/**'], message: 'server/ must not import connector-sim/ or test/' }, ...patterns],
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', '.dmci/**', 'coverage/**', 'dist/**'] },
  { files: ['bin/*.mjs', '*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**'], message: 'nothing imports test/' }] }],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'protocol/ runs in any JS runtime: no Node modules, no server libraries' },
            { group: ['**/server/**', '**/connector-sim/**', '**/test/**'], message: 'protocol/ imports nothing but its codec and schema libraries' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/**/*.ts'],
    rules: { 'no-console': 'error', 'no-restricted-imports': ['error', serverRestrictions()] },
  },
  {
    files: ['server/ldap/ldap-server.ts'],
    rules: { 'no-restricted-imports': ['error', serverRestrictions({ allowLdapjs: true })] },
  },
  {
    files: ['server/**/*.service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        serverRestrictions({
          paths: [{ name: 'ws', message: 'services never touch sockets' }],
          patterns: [{ group: ['**/gateway/**', '**/ldap/**', '**/sessions/**'], message: 'services sit below the doors (gateway, ldap) and sessions' }],
        }),
      ],
    },
  },
  {
    files: ['server/**/*.repository.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        serverRestrictions({
          paths: [{ name: 'ws', message: 'repositories never touch sockets' }],
          patterns: [{ group: ['**/*.service.ts', '**/gateway/**', '**/sessions/**', '**/ldap/**'], message: 'repositories sit at the bottom: the database only' }],
        }),
      ],
    },
  },
  {
    files: ['connector-sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/test/**'], message: 'connector-sim/ speaks only the protocol: never import server/' }] }],
    },
  },
  {
    // Examples show what an integrator writes: the protocol and connector-sim only.
    files: ['docs/examples/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/test/**'], message: 'examples use only protocol/ and connector-sim/, as an integrator would' }] }],
    },
  },
  {
    files: ['migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/server/**', '**/protocol/**', '**/connector-sim/**', '**/test/**'], message: 'migrations are frozen in time: kysely only' }] },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The test runner's own config uses the test harness (test/helpers/prebuilt-bins.ts's vite plugin).
    files: ['vitest.config.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The admin console's browser modules: plain browser JavaScript, outside the TypeScript project.
    files: ['server/console/assets/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, program: null, project: false },
      globals: { document: 'readonly', location: 'readonly', EventSource: 'readonly', DOMParser: 'readonly', fetch: 'readonly', setInterval: 'readonly' },
    },
  },
);

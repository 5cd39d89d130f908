// ESLint (flat config) with typescript-eslint and import-x. Besides the usual checks, the import rules keep
// psgraph's layers apart, so that the folder a file lives in says what it may use:
// - no import cycles;
// - gateway/ uses only the platform (subgraphs/platform), never a subgraph's or a sandbox's code;
// - no system subgraph (crm, psa, erp, billing) imports another, and the process subgraph (activation) reaches
//   the systems over GraphQL, never through their code;
// - subgraphs/platform imports no subgraph; subgraphs/sandboxes only the platform;
// - contracts/ imports nothing of ours;
// - a subgraph's resolvers and ports never import its sandbox (only the builder that picks the adapter does).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const SYSTEMS = ['crm', 'psa', 'erp', 'billing', 'activation'];

/** Node's globals, for the plain JavaScript files (TypeScript checks the rest). */
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Buffer'].map((name) => [name, 'readonly']),
);

/** A zone: files under `target` may not import files under `from` (relative to the repository). */
const zone = (target, from, message, except = []) => ({ target, from, message, except });

const layerZones = [
  zone('./gateway', './subgraphs', 'The gateway uses only the platform (subgraphs/platform), never a subgraph or a sandbox.', ['./platform']),
  zone('./contracts', './gateway', 'contracts/ imports nothing of ours: it is the wire contract every side reads.'),
  zone('./contracts', './subgraphs', 'contracts/ imports nothing of ours: it is the wire contract every side reads.'),
  zone('./contracts', './supergraph', 'contracts/ imports nothing of ours: it is the wire contract every side reads.'),
  zone('./contracts', './test', 'contracts/ imports nothing of ours: it is the wire contract every side reads.'),
  zone('./subgraphs/platform', './subgraphs', 'The platform every service runs on imports no subgraph and no sandbox.', ['./platform']),
  zone('./subgraphs/platform', './gateway', 'The platform imports nothing of the gateway.'),
  zone('./subgraphs/sandboxes', './subgraphs', 'The sandboxes build only on the platform.', ['./platform', './sandboxes']),
  ...SYSTEMS.flatMap((system) =>
    SYSTEMS.filter((other) => other !== system).map((other) =>
      // Sources only: a subgraph's tests may start the systems it talks to (activation's tests run CRM, ERP and PSA).
      zone(
        `./subgraphs/${system}/src`,
        `./subgraphs/${other}`,
        `The ${system} subgraph does not import the ${other} subgraph: subgraphs meet only in the supergraph and on the event bus.`,
      ),
    ),
  ),
  ...SYSTEMS.map((system) => zone(`./subgraphs/${system}`, './gateway', 'A subgraph does not import the gateway.')),
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'gateway/dist/',
      'data/',
      'subgraphs/*/src/generated/',
      'test/bench/node_modules/',
      'test/bench/results/',
      'test/bench/standard/data/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      // import-x parses the files it follows (no-cycle walks the graph) with typescript-eslint's parser.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: NODE_GLOBALS },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Non-null assertions mark facts the types cannot carry (a row the query guarantees); reviewed, not banned.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // A subgraph's resolvers and port describe the system, not the sandbox: only the builder (<name>Subgraph.ts),
    // the process entry point (main.ts) and the sandbox adapter itself reach into sandbox code.
    files: ['subgraphs/*/src/**/*.ts'],
    ignores: ['subgraphs/*/src/sandbox/**', 'subgraphs/*/src/*Subgraph.ts', 'subgraphs/*/src/main.ts', 'subgraphs/sandboxes/**', 'subgraphs/platform/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/sandbox/*', '**/sandboxes/**'], message: 'Resolvers and ports depend on the system port, never on the sandbox adapter.' }] },
      ],
    },
  },
  {
    // Tests read JSON responses whose shape is what they assert; typing each one would restate the schema.
    files: ['test/**/*.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
